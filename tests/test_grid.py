"""Sweep specs (impkit.grid): parsing, errors that name the file and key, expansion and batch planning; the local
engine end to end on the toy dataset (impkit.engines). The Ray engine is tested in test_ray_engine.py."""
import socket
from pathlib import Path

import pytest

from impkit import grid
from impkit.cli import main
from impkit.config import round0_key, run_name
from impkit.runs import Run
from test_store import run_cli

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "sweep_gain.toml"

TOY = '''
preset = "ci"
datasets = ["toy"]
methods = ["imp", "random"]
seeds = [0, 1]
[overrides]
"train.steps" = 40
"train.t_rewind" = 5
"train.eval_every" = 20
"train.checkpoint_every" = 0
"prune.rounds" = 1
"data.options.n_train" = 96
"data.options.n_test" = 32
[grid]
"model.hidden" = [[8], [12]]
'''


def _main(args, capsys):
    try:
        rc = main(args)
    except SystemExit as e:  # argparse errors
        rc = e.code
    out = capsys.readouterr()
    return rc, out.out, out.err


def _spec(tmp_path, text, name="spec.toml"):
    p = tmp_path / name
    p.write_text(text)
    return p


# ------------------------------------------------------------------------------------------------
# the example spec
# ------------------------------------------------------------------------------------------------
def test_example_spec_parses_and_plans(tmp_path):
    spec = grid.load_spec(EXAMPLE)
    assert spec.preset == "default" and spec.methods == ("imp", "random") and spec.seeds == (0, 1, 2)
    assert spec.dataset_names() == ["nlgp", "nlgp-clone"] and spec.grid == {"data.options.g": (1.0, 3.0, 10.0, 30.0)}
    cfgs = grid.expand(spec)
    assert len(cfgs) == 2 * 4 * 2 * 3 == len({run_name(c) for c in cfgs})
    assert sorted({c.data.options["g"] for c in cfgs}) == [1.0, 3.0, 10.0, 30.0]
    assert all(c.train.eval_every == 1000 and c.train.steps == 2000 for c in cfgs)  # overrides over the preset
    p = grid.plan(cfgs, tmp_path / "runs")
    assert not (tmp_path / "runs").exists()  # planning reads, never creates
    assert len(p.batches) == 1 and len(p.batches[0].runs) == 48 and not p.complete  # one model: one batch
    for parts in (2, 4, 7):
        spread = grid.plan(cfgs, tmp_path / "runs", parts=parts)
        sizes = [len(b.runs) for b in spread.batches]
        assert len(sizes) == parts and sum(sizes) == 48 and max(sizes) - min(sizes) <= 2
        # runs sharing round 0 (imp and random of one dataset, gain and seed) stay in one batch
        where = {run_name(r.cfg): b.index for b in spread.batches for r in b.runs}
        by_key = {}
        for c in cfgs:
            by_key.setdefault(round0_key(c), set()).add(where[run_name(c)])
        assert all(len(v) == 1 for v in by_key.values())
    capped = grid.plan(cfgs, tmp_path / "runs", max_runs=5)
    assert all(len(b.runs) <= 5 for b in capped.batches) and sum(len(b.runs) for b in capped.batches) == 48
    assert len(capped.batches) == 12  # pairs of round-0 siblings: two pairs per batch


def test_example_dry_run_prints_plan_and_creates_nothing(tmp_path, capsys):
    rc, out, err = _main(["sweep", str(EXAMPLE), "--out", str(tmp_path / "runs"), "--dry-run"], capsys)
    assert rc == 0, err
    assert "48 runs under" in out and "48 to train in 1 batch" in out and "batch 1: 48 runs" in out
    assert "nlgp-clone-random-s2-" in out and "data.options.g=30.0" in out
    assert not (tmp_path / "runs").exists()
    rc, out, _ = _main(["sweep", str(EXAMPLE), "--out", str(tmp_path / "runs"), "--dry-run", "--replicas", "8"],
                       capsys)
    assert rc == 0 and "48 to train in 6 batches" in out


def test_chunks_keep_units_and_balance():
    units = [[i, i] for i in range(5)]  # five units of two runs
    assert [len(c) for c in grid._chunks(units, None, None)] == [10]
    assert [len(c) for c in grid._chunks(units, None, 2)] == [6, 4]
    assert [len(c) for c in grid._chunks(units, None, 9)] == [2] * 5  # never more batches than units
    assert [len(c) for c in grid._chunks(units, 3, None)] == [2] * 5  # a unit is not split to fill a batch
    assert [len(c) for c in grid._chunks([[0, 0, 0, 0, 0]], 2, None)] == [2, 2, 1]  # ... unless it must be


# ------------------------------------------------------------------------------------------------
# bad specs: one line, exit 2, naming the file, the key and the fix
# ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("text, needles", [
    ('preset = "ci"\nseed = [0]\n', ["unknown key 'seed'", "did you mean 'seeds'"]),
    ('preset = "cl"\n', ["preset must be one of", "'ci'"]),
    ('datasets = ["toy"]\n', ["preset must be one of", "missing"]),
    ('preset = "ci"\nseeds = [0, -1]\n', ["seeds must be a non-empty list of non-negative integers", "seeds = [0, 1]"]),
    ('preset = "ci"\nmethods = ["imp", "magnitude"]\n', ["unknown method 'magnitude'", "known: "]),
    ('preset = "ci"\nmethods = "imp"\n', ["methods must be a non-empty list of names", "methods = [\"imp\""]),
    ('preset = "ci"\ndatasets = ["nlpg"]\n', ["datasets: unknown dataset 'nlpg'", "did you mean 'nlgp'"]),
    ('preset = "ci"\nclone = "yes"\n', ["clone must be true or false"]),
    ('preset = "ci"\n[overrides]\n"train.stepz" = 10\n', ["[overrides]", "train.stepz: unknown setting"]),
    ('preset = "ci"\n[overrides]\ntrain.steps = "many"\n', ["[overrides]", "train.steps: expected an integer",
                                                            "'many'"]),
    ('preset = "ci"\n[grid]\n"train.lr" = 0.1\n', ["[grid] 'train.lr' must be a non-empty list",
                                                   "belongs in [overrides]"]),
    ('preset = "ci"\n[grid]\n"prune.rate" = [0.2, 1.5]\n', ["[grid] prune.rate = 1.5", "prune.rate: must be in (0, 1)"]),
    ('preset = "ci"\n[grid]\n"train.t_rewind" = [10, 500]\n', ["[grid] train.t_rewind = 500",
                                                              "must be < train.steps"]),
    ('preset = "ci"\n[grid]\nseed = [1, 2]\n', ["'seed' is set by the spec's own key", "seeds = [...]"]),
    ('preset = "ci"\n[overrides]\n"train.lr" = 0.1\n[grid]\n"train.lr" = [0.1, 0.2]\n',
     ["in both [overrides] and [grid]"]),
    ('preset = "ci"\n[grid]\n"train.lr" = [0.1, 0.1]\n', ["lists a value twice"]),
    ('preset = "ci\n', ["not valid TOML", "line 1"]),
])
def test_bad_spec_is_one_line_naming_file_and_key(tmp_path, capsys, text, needles):
    spec = _spec(tmp_path, text)
    rc, out, err = _main(["sweep", str(spec), "--out", str(tmp_path / "runs")], capsys)
    assert rc == 2 and out == ""
    assert err.startswith(f"impkit: error: {spec}: ") and err.count("\n") == 1, err
    for n in needles:
        assert n in err, (n, err)
    assert not (tmp_path / "runs").exists()


def test_missing_spec_subprocess_no_traceback(tmp_path):
    res = run_cli("sweep", str(tmp_path / "nope.toml"), "--engine", "ray")
    assert res.returncode == 2 and res.stdout == ""
    assert res.stderr == f"impkit: error: {tmp_path / 'nope.toml'}: no such sweep spec file\n"


# ------------------------------------------------------------------------------------------------
# the local engine, end to end (in this process: the toy dataset is registered by conftest)
# ------------------------------------------------------------------------------------------------
def test_local_sweep_trains_resumes_and_reports_a_failed_batch(tmp_path, capsys):
    spec = _spec(tmp_path, TOY)
    root = tmp_path / "runs"
    # two models: two batches (hidden 8 | hidden 12), each 4 runs (imp, random × 2 seeds)
    cfgs = grid.expand(grid.load_spec(spec))
    first = [c for c in cfgs if c.model.hidden == (8,)]
    # batch 1 will fail: one of its runs is locked by a process on another host
    blocked = root / run_name(first[0])
    blocked.mkdir(parents=True)
    (blocked / ".lock").write_text("gpu-node-07:4242")
    rc, out, err = _main(["sweep", str(spec), "--out", str(root), "--quiet"], capsys)
    assert rc == 1, err
    lines = out.splitlines()
    assert "8 runs under" in out and "8 to train in 2 batches" in out
    fail = next(l for l in lines if l.startswith("[1/2] batch 1 FAILED"))
    assert "RunLockedError" in fail and "'gpu-node-07'" in fail and "0/4 runs complete, 4 to resume" in fail
    assert "(elapsed " in fail and f"on {socket.gethostname()}:" in fail
    ok = next(l for l in lines if l.startswith("[2/2] batch 2: 4 runs done in"))
    assert "(elapsed " in ok
    summary = out[out.index("sweep INCOMPLETE"):]
    assert "1/2 batches ok, 1 failed" in summary and "runs: 4/8 complete" in summary
    assert "batch 1 failed: RunLockedError" in summary and "rerun the same command" in summary
    assert "add --unlock-host gpu-node-07" in summary
    # the lock's owner is gone (say its node crashed): clear it; the rerun trains only what is missing
    rc, out, err = _main(["sweep", str(spec), "--out", str(root), "--quiet", "--unlock-host", "gpu-node-07"], capsys)
    assert rc == 0, err
    assert not (blocked / ".lock").exists() and "deleted 1 lock of host 'gpu-node-07'" in out
    assert "8 runs under" in out and "4 complete" in out and "4 to train in 1 batch" in out
    assert "sweep finished" in out and "runs: 8/8 complete (4 already were)" in out
    runs = [Run(root / run_name(c)) for c in cfgs]
    assert all(r.rounds_done == [0, 1] for r in runs)
    # round 0 is shared by the methods of a seed: trained once, copied
    for c in cfgs:
        if c.prune.method == "random":
            assert Run(root / run_name(c)).metrics(0).get("shared_from", "").startswith("toy-imp-")
    rc, out, _ = _main(["sweep", str(spec), "--out", str(root)], capsys)
    assert rc == 0 and "0 to train in 0 batches" in out and "8 complete" in out  # nothing left: no engine started


def test_sweep_refuses_a_directory_of_another_config(tmp_path, capsys):
    spec = _spec(tmp_path, TOY)
    root = tmp_path / "runs"
    cfg = grid.expand(grid.load_spec(spec))[0]
    d = root / run_name(cfg)
    d.mkdir(parents=True)
    (d / "config.json").write_text(cfg.replace(**{"train.lr": 0.05}).to_json())
    rc, out, err = _main(["sweep", str(spec), "--out", str(root), "--dry-run"], capsys)
    assert rc == 2 and "holds a different config" in err and str(d) in err


def test_run_state_describes_what_is_done(tmp_path):
    cfg = grid.expand(grid.load_spec(_spec(tmp_path, TOY)))[0].replace(**{"prune.rounds": 3})
    describe = [grid.RunState(cfg, tmp_path, done).describe() for done in [(), (0,), (0, 1, 2), (0, 1, 2, 3)]]
    assert describe == ["new", "round 0 of 0..3 done", "rounds 0..2 of 0..3 done", "complete"]


def test_sweep_refuses_a_replica_that_cannot_fit_before_any_run_directory(tmp_path, capsys):
    # one grid point too large for any machine (10^9 hidden units: ~1.1 TB per replica): one line, exit 2, and
    # nothing trained or created -- not even the runs of the points that would fit
    spec = _spec(tmp_path, TOY.replace('"model.hidden" = [[8], [12]]', '"model.hidden" = [[8], [1000000000]]'))
    root = tmp_path / "runs"
    rc, out, err = _main(["sweep", str(spec), "--out", str(root)], capsys)
    assert rc == 2 and err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith("impkit: error: model.hidden=[1000000000]: one replica needs ") and "is free" in err
    assert not root.exists()
