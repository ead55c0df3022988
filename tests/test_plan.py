"""The memory plan: batch splits that fit a budget, the `plan` CLI, and splits that change no result."""
import json

import numpy as np
import pytest

from impkit import plan as P
from impkit.cli import main
from impkit.presets import make_config
from impkit.runs import train_configs

OV = {"train.steps": 60, "train.t_rewind": 10, "train.eval_every": 30, "train.checkpoint_every": 0,
      "prune.rounds": 2, "model.hidden": (16,), "data.options.n_train": 256, "data.options.n_test": 64}


def _paper_cfgs():
    return [make_config("paper", n, m, s) for n in ("imagenet32", "imagenet32-clone")
            for m in ("imp", "oneshot", "random") for s in (0, 1, 2)]


def test_parse_bytes():
    assert P.parse_bytes("80GB") == 80 * 10**9
    assert P.parse_bytes("24 GiB") == 24 * 2**30
    assert P.parse_bytes("1.5mb") == 1_500_000
    assert P.parse_bytes(1234) == 1234
    with pytest.raises(ValueError, match="80GB"):
        P.parse_bytes("lots")


@pytest.mark.parametrize("budget", ["80GB", "24GB"])
def test_paper_plan_fits(budget, monkeypatch, tmp_path):
    monkeypatch.setenv("IMPKIT_DATA", str(tmp_path))  # no ImageNet32 here: official sizes
    b = P.parse_bytes(budget)
    p = P.plan(_paper_cfgs(), device="cuda", budget=b, measure=False)
    assert p.dims == [3072, 1024, 1024, 1000]
    r0, rest = p.phases
    assert sorted(i for bt in rest.batches for i in bt.members) == list(range(18))  # every run once
    firsts = [p.cfgs[i] for bt in r0.batches for i in bt.members]  # round 0: one replica per dataset and seed
    assert sorted((c.data.name, c.seed) for c in firsts) == sorted((n, s) for n in ("imagenet32", "imagenet32-clone")
                                                                    for s in (0, 1, 2))
    for ph in p.phases:
        for bt in ph.batches:
            assert bt.total_bytes <= b
            # the data of a batch are the distinct datasets of its runs, counted once each
            assert bt.data_bytes == sum({p.footprints[i].key: p.footprints[i].bytes for i in bt.members}.values())
    # the paper's clone is stored in half precision: 2 bytes per value
    clone = [f for f in p.footprints if f.name == "imagenet32-clone"][0]
    assert clone.dtype == "float16" and clone.bytes == (1_281_167 + 50_000) * 3072 * 2
    real = [f for f in p.footprints if f.name == "imagenet32"][0]
    assert real.bytes == (1_281_167 + 50_000) * 3072


def test_smaller_budget_more_batches(monkeypatch, tmp_path):
    monkeypatch.setenv("IMPKIT_DATA", str(tmp_path))
    big = P.plan(_paper_cfgs(), device="cuda", budget=P.parse_bytes("80GB"), measure=False)
    small = P.plan(_paper_cfgs(), device="cuda", budget=P.parse_bytes("24GB"), measure=False)
    assert len(small.phases[1].batches) > len(big.phases[1].batches)


def test_replica_that_cannot_fit_is_refused(monkeypatch, tmp_path):
    monkeypatch.setenv("IMPKIT_DATA", str(tmp_path))
    with pytest.raises(P.MemoryPlanError, match="memory budget is 4.00 GB"):
        P.plan(_paper_cfgs(), device="cuda", budget=P.parse_bytes("4GB"), measure=False)


def test_split_batches_respects_budget_and_cap():
    f = [P.DataFootprint(k, k, 100, 10, 64, 4, "float32") for k in ("a", "a", "a", "b", "b")]
    dims = [64, 16, 2]
    one = P.batch_bytes(f[:1], dims, False, 40, "cuda").total_bytes
    unlimited = P.split_batches(f, dims, False, 40, "cuda", None)
    assert [b.members for b in unlimited] == [[0, 1, 2, 3, 4]]
    capped = P.split_batches(f, dims, False, 40, "cuda", None, max_replicas=2)
    assert [b.members for b in capped] == [[0, 1], [2, 3], [4]]
    tight = P.split_batches(f, dims, False, 40, "cuda", one + 2 * P.replica_bytes(dims, False, "cuda") + 4096)
    assert all(b.total_bytes <= one + 2 * P.replica_bytes(dims, False, "cuda") + 4096 for b in tight)
    assert len(tight) > 1


def test_tiny_budget_splits_and_masks_are_identical(tmp_path):
    cfgs = [make_config("ci", "toy", m, s, OV) for m in ("imp", "oneshot", "random") for s in (0, 1)]
    whole = train_configs(cfgs, tmp_path / "whole", device="cpu", progress=False)
    # budget for two replicas (on the CPU the loaded data are used in place)
    dims = [64, 16, 2]
    fp = P.DataFootprint("k", "toy", 256, 64, 64, 4, "float32")
    two = P.batch_bytes([fp, fp], dims, False, 40, "cpu", resident=True).total_bytes
    calls = []
    import impkit.rounds as rounds

    orig = rounds._train_round

    def spy(batch, *a, **k):
        calls.append(len(batch.jobs))
        return orig(batch, *a, **k)

    rounds._train_round = spy
    try:
        split = train_configs(cfgs, tmp_path / "split", device="cpu", progress=False, memory_budget=two)
    finally:
        rounds._train_round = orig
    assert max(calls) <= 2 and len(calls) > 3  # really split (unsplit: 1 batch in round 0, 1 per later round)
    for a, b in zip(whole, split):
        assert a.path.name == b.path.name
        for n in a.rounds_done:
            assert all(np.array_equal(x, y) for x, y in zip(a.mask(n), b.mask(n)))
            assert all(np.array_equal(x[0], y[0]) for x, y in zip(a.weights(n), b.weights(n)))


def test_plan_cli(capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("IMPKIT_DATA", str(tmp_path))
    for mem in ("80GB", "24GB"):
        assert main(["plan", "--preset", "paper", "--device", "cuda", "--device-memory", mem]) == 0
        out = capsys.readouterr().out
        assert f"memory budget {P.fmt_bytes(P.parse_bytes(mem))}" in out
        assert "rounds 1-10" in out and "imagenet32-clone/imp/s" in out
    assert main(["plan", "--preset", "paper", "--device", "cuda", "--device-memory", "80GB", "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert all(b["total_bytes"] <= 80e9 for ph in d["phases"] for b in ph["batches"])
    assert main(["plan", "--preset", "paper", "--device", "cuda", "--device-memory", "3GB"]) == 2
    assert "memory budget is 3.00 GB" in capsys.readouterr().err
    with pytest.raises(SystemExit) as e:  # argparse: one line, exit 2
        main(["plan", "--device-memory", "lots"])
    assert e.value.code == 2 and "write e.g. 80GB" in capsys.readouterr().err


def test_plan_measures_a_step_here(capsys):
    # a measured step of the real model on this machine gives a projected time (small model: fast)
    assert main(["plan", "--preset", "ci", "--device", "cpu", "--device-memory", "2GB"]) == 0
    out = capsys.readouterr().out
    assert "projected training time on cpu" in out and "step" in out


def test_check_replica_fits_names_the_setting_it_needs_and_what_is_free():
    cfg = make_config("ci", "toy", "imp", 0, {**OV, "model.hidden": (1000,)})
    fp = P.DataFootprint("k", "toy", 256, 64, 64, 4, "float32")
    dims = [64, 1000, 2]
    b = P.check_replica_fits(cfg, fp, dims, "cpu", 10**9, "a test budget")
    assert b.total_bytes == P.batch_bytes([fp], dims, False, cfg.train.batch, "cpu").total_bytes
    need = b.total_bytes
    with pytest.raises(P.MemoryPlanError) as e:
        P.check_replica_fits(cfg, fp, dims, "cpu", need - 1, "a test budget")
    msg = str(e.value)
    assert "\n" not in msg and msg.startswith("model.hidden=[1000]: one replica needs ")
    assert P.fmt_bytes(need) in msg and f"only {P.fmt_bytes(need - 1)} is free (a test budget)" in msg
    assert "64:1000:2 network" in msg and "lower model.hidden" in msg
    # data larger than the model: the data are named instead (a clone: with its float16 option)
    big = P.DataFootprint("k", "toy-clone", 10**7, 64, 64, 4, "float32")
    with pytest.raises(P.MemoryPlanError, match=r"^data 'toy-clone': one replica needs .*clone_dtype=float16"):
        P.check_replica_fits(make_config("ci", "toy-clone", "imp", 0, OV), big, [64, 16, 2], "cpu", 10**8, "x")
    # data already resident on the CPU cost nothing more
    P.check_replica_fits(make_config("ci", "toy-clone", "imp", 0, OV), big, [64, 16, 2], "cpu", 10**8, "x",
                         resident=True)


def test_mask_update_workspace_stays_near_its_budget():
    """One drop-and-regrow update of a 1 M-weight chunk, measured in a fresh process (bench/bench_sparsifiers.py):
    its peak memory over the inputs stays within the plan's bytes per weight plus a quarter (the measurement moves
    by a few bytes with threads and allocator; a change that doubled the sorts' workspace would fail here)."""
    from conftest import load_script

    measured = load_script("bench/bench_sparsifiers.py", "bench_sparsifiers").workspace_per_weight(4, 512)
    assert 8 < measured <= 1.25 * P.SORT_BYTES_PER_WEIGHT
