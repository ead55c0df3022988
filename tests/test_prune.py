import math

import pytest
import torch

from impkit.config import PruneConfig
from impkit.prune import (keep_counts, layer_counts, magnitude_masks, oneshot_masks, random_masks,
                          sparsity_report)


def test_keep_counts_rule():
    assert keep_counts(100, 0.3, 5) == [100, 70, 49, 34, 24, 17]  # 14.7 -> 15, 10.2 -> 10, 7.2 -> 7
    assert keep_counts(10, 0.25, 2) == [10, 7, 5]  # 2.5 rounds half up -> 3; 1.75 -> 2
    ks = keep_counts(1024 * 3072, 0.3, 10)
    for n, k in enumerate(ks):
        assert abs(k - 1024 * 3072 * 0.7 ** n) <= n  # at most one unit of rounding per round
    assert abs(ks[-1] / ks[0] - 0.7 ** 10) < 1e-5


def _layers(seed=0, shapes=((20, 16), (12, 20), (3, 12))):
    g = torch.Generator().manual_seed(seed)
    ws = [torch.randn(*s, generator=g) for s in shapes]
    bs = [torch.randn(s[0], generator=g) for s in shapes]
    return ws, bs


def test_imp_counts_and_magnitudes():
    cfg = PruneConfig(rate=0.3, rounds=4)
    ws, bs = _layers()
    shapes = [tuple(w.shape) for w in ws]
    m = [torch.ones_like(w, dtype=torch.bool) for w in ws]
    bm = None
    for n in range(1, 5):
        m2, bm = magnitude_masks(ws, bs, m, bm, cfg, n)
        counts = [int(x.sum()) for x in m2]
        assert counts == layer_counts(shapes, cfg, n)
        assert counts[:2] == [keep_counts(s[0] * s[1], 0.3, n)[-1] for s in shapes[:2]]
        assert counts[2] == keep_counts(36, 0.15, n)[-1]  # output layer at s/2
        for a, b, w in zip(m, m2, ws):
            assert not (b & ~a).any()  # nested
            kept, cut = w.abs()[b], w.abs()[a & ~b]
            if cut.numel() and kept.numel():
                assert kept.min() >= cut.max()
        assert all(x.all() for x in bm)  # biases not pruned by default
        m = m2


def test_ties_are_deterministic():
    cfg = PruneConfig(rate=0.5, rounds=1, output_rate=0.5)
    w = [torch.ones(4, 4)]
    m, _ = magnitude_masks(w, [torch.zeros(4)], [torch.ones(4, 4, dtype=torch.bool)], None, cfg, 1)
    assert m[0].flatten().tolist() == [True] * 8 + [False] * 8


def test_oneshot_and_random_match_imp_counts():
    cfg = PruneConfig(rate=0.3, rounds=6)
    ws, bs = _layers(1)
    shapes = [tuple(w.shape) for w in ws]
    m = [torch.ones_like(w, dtype=torch.bool) for w in ws]
    for n in range(1, 7):
        m, _ = magnitude_masks(ws, bs, m, None, cfg, n)
        o, _ = oneshot_masks(ws, bs, cfg, n)
        r, _ = random_masks(shapes, cfg, n, seed=3)
        assert [int(x.sum()) for x in o] == [int(x.sum()) for x in m] == [int(x.sum()) for x in r]
    r1, _ = random_masks(shapes, cfg, 3, seed=3)
    r1b, _ = random_masks(shapes, cfg, 3, seed=3)
    r2, _ = random_masks(shapes, cfg, 3, seed=4)
    assert all(torch.equal(a, b) for a, b in zip(r1, r1b))
    assert not all(torch.equal(a, b) for a, b in zip(r1, r2))
    r4, _ = random_masks(shapes, cfg, 4, seed=3)
    assert all(not (b & ~a).any() for a, b in zip(r1, r4))  # nested


def test_output_rate_zero_and_bias_pooling():
    ws, bs = _layers(2)
    cfg = PruneConfig(rate=0.3, output_rate=0.0)
    m, bm = oneshot_masks(ws, bs, cfg, 3)
    assert m[-1].all()
    cfg = PruneConfig(rate=0.3, prune_bias=True)
    bs = [b * 0.01 for b in bs]  # tiny biases: pooled with the weights they go first
    m, bm = oneshot_masks(ws, bs, cfg, 1)
    for l, (w, b) in enumerate(zip(ws, bs)):
        assert int(m[l].sum()) + int(bm[l].sum()) == keep_counts(w.numel() + b.numel(),
                                                                  0.3 if l < 2 else 0.15, 1)[-1]
    assert not bm[0].all()


def test_global_scope_total():
    ws, bs = _layers(3)
    cfg = PruneConfig(rate=0.3, scope="global")
    m, _ = oneshot_masks(ws, bs, cfg, 2)
    assert int(m[0].sum()) + int(m[1].sum()) == keep_counts(20 * 16 + 12 * 20, 0.3, 2)[-1]
    with pytest.raises(ValueError):
        layer_counts([tuple(w.shape) for w in ws], cfg, 1)


def test_sparsity_report():
    rep = sparsity_report([torch.tensor([[True, False], [False, False]])], [torch.tensor([True, True])])
    assert rep["layers"][0]["kept"] == 1 and math.isclose(rep["sparsity"], 0.75)
    assert rep["layers"][0]["bias_kept"] == 2
