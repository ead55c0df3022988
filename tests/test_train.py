import pytest
import torch

from conftest import make_toy
from impkit.model import FCN
from impkit.train import TrainingDiverged, draw_chunk, stack_datasets, train


def _setup(seeds, masks=None, input_bn=False, clone_for=()):
    R = len(seeds)
    m = FCN([64, 16, 2], replicas=R, seeds=seeds, input_bn=input_bn)
    if masks is not None:
        m.set_masks(masks)
    trs = [make_toy(split="train", seed=s + (100 if i in clone_for else 0), n_train=256) for i, s in enumerate(seeds)]
    tes = [make_toy(split="test", seed=s, n_test=64) for s in seeds]
    return m, stack_datasets(trs, tes)


def _random_masks(R, seed):
    g = torch.Generator().manual_seed(seed)
    return [torch.rand(R, 16, 64, generator=g) > 0.6, torch.rand(R, 2, 16, generator=g) > 0.2]


@pytest.mark.parametrize("input_bn", [False, True])
def test_batched_equals_separate(input_bn):
    seeds = [5, 6, 7]
    masks = _random_masks(3, 0)
    mb, db = _setup(seeds, masks, input_bn, clone_for=(1,))
    kw = dict(lr=0.1, batch=8, eval_every=50, progress=False, chunk=32)
    ob = train(mb, db, 120, stream_seeds=seeds, **kw)
    for r, s in enumerate(seeds):
        m1, d1 = _setup([s], [mk[r:r + 1] for mk in masks], input_bn, clone_for=(0,) if r == 1 else ())
        o1 = train(m1, d1, 120, stream_seeds=[s], **kw)
        for a, b in zip(m1.weights, mb.weights):
            assert torch.allclose(a[0], b[r], atol=1e-5, rtol=1e-5)
        assert o1["history"][0]["eval"]["step"] == ob["history"][r]["eval"]["step"]
        assert o1["history"][0]["eval"]["test_acc"] == pytest.approx(ob["history"][r]["eval"]["test_acc"], abs=1e-6)


def test_pruned_weights_stay_zero_and_biases_train():
    masks = _random_masks(2, 1)
    m, d = _setup([0, 1], masks)
    b0 = [b.detach().clone() for b in m.biases]
    train(m, d, 60, lr=0.2, batch=8, stream_seeds=[0, 1], eval_every=30, progress=False)
    for w, mk in zip(m.weights, masks):
        assert (w[~mk] == 0).all()
        assert (w[mk] != 0).float().mean() > 0.99
    assert all(not torch.equal(a, b) for a, b in zip(b0, m.biases))  # biases not pruned, they train


def test_mask_forward_is_bit_identical():
    masks = _random_masks(2, 2)
    outs = []
    for mf in (False, True):
        m, d = _setup([3, 4], masks)
        train(m, d, 40, lr=0.1, batch=8, stream_seeds=[3, 4], eval_every=40, progress=False, mask_forward=mf)
        outs.append([w.detach().clone() for w in m.weights])
    assert all(torch.equal(a, b) for a, b in zip(*outs))


def test_resume_mid_training_is_bit_identical():
    m, d = _setup([0])
    train(m, d, 90, lr=0.1, batch=8, stream_seeds=[11], eval_every=30, progress=False, chunk=32)
    m2, d2 = _setup([0])
    out = train(m2, d2, 50, lr=0.1, batch=8, stream_seeds=[11], eval_every=30, progress=False, chunk=32)
    out2 = train(m2, d2, 90, lr=0.1, batch=8, stream_seeds=[11], eval_every=30, progress=False, chunk=32,
                 start_step=50, history=out["history"])
    assert all(torch.equal(a, b) for a, b in zip(m.weights, m2.weights))
    assert out2["history"][0]["eval"]["step"] == [0, 30, 50, 60, 90]  # 50: end of the first call


def test_streams_do_not_depend_on_batch():
    a = draw_chunk([1, 2, 3], [100, 50, 100], k=4, batch=5, chunk=7)
    b = draw_chunk([2], [50], k=4, batch=5, chunk=7)
    assert torch.equal(a[:, 1], b[:, 0])
    assert a[:, 1].max() < 50


def test_divergence_names_round_and_step():
    m, d = _setup([0])
    with torch.no_grad():
        m.weights[0].mul_(1e30)
    with pytest.raises(TrainingDiverged, match=r"round 3 at step \d+"):
        train(m, d, 100, lr=10.0, batch=8, stream_seeds=[0], eval_every=1000, progress=False, round_idx=3)


@pytest.mark.parametrize("input_bn", [False, True])
def test_fused_sgd_equals_reference_update(input_bn):
    from impkit.train import Stepper

    masks = _random_masks(2, 4)
    ws = []
    for fused in (True, False):
        m, d = _setup([1, 2], masks, input_bn)
        st = Stepper(m, d, lr=0.1, fused=fused)
        idx = draw_chunk([1, 2], d.sizes, 0, 8, chunk=20) + d.offsets.view(1, 2, 1)
        losses = [st(idx[i]) for i in range(20)]
        ws.append(([p.detach().clone() for p in m.parameters()], torch.stack(losses)))
    for a, b in zip(ws[0][0], ws[1][0]):
        assert torch.allclose(a, b, atol=1e-5, rtol=1e-4)
    assert torch.allclose(ws[0][1], ws[1][1], atol=1e-5)
    for w, mk in zip(m.weights, masks):
        assert (w[~mk] == 0).all()
