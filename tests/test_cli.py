import json
import time

from test_store import run_cli


def test_ci_imp_run_end_to_end(tmp_path):
    t = time.time()
    res = run_cli("run", "--preset", "ci", "--dataset", "toy", "--method", "imp", "--seed", "0", "--out",
                  str(tmp_path), "--quiet")
    assert res.returncode == 0, res.stderr
    assert time.time() - t < 60
    (run,) = [p for p in tmp_path.iterdir() if p.is_dir()]
    assert run.name.startswith("toy-imp-s0-")
    assert (run / "round_10" / "metrics.json").exists()
    show = run_cli("show", str(run))
    # first layer of the ci model on toy (64 inputs): N = 64 * hidden weights, kept after 10 rounds by the count rule
    from impkit.presets import make_config
    from impkit.prune import keep_counts

    n_first = 64 * make_config("ci", "toy").model.hidden[0]
    kept = keep_counts(n_first, 0.3, 10)[-1]
    assert abs(kept - n_first * 0.7**10) <= 10
    assert show.returncode == 0 and "11/11" in show.stdout and f" {kept} " in show.stdout
    ls = run_cli("ls", str(tmp_path))
    assert ls.returncode == 0 and run.name in ls.stdout


def test_batched_methods_and_seeds(tmp_path):
    res = run_cli("run", "--preset", "ci", "--dataset", "toy", "--method", "imp,random", "--seeds", "0,1",
                  "--out", str(tmp_path), "--quiet", "--replicas", "3", "--set", "prune.rounds=2",
                  "--set", "train.steps=60", "--set", "train.t_rewind=5")
    assert res.returncode == 0, res.stderr
    assert len([p for p in tmp_path.iterdir() if p.is_dir()]) == 4


def _main(args, capsys):
    from impkit.cli import main

    try:
        rc = main(args)
    except SystemExit as e:  # argparse errors
        rc = e.code
    return rc, capsys.readouterr().err


def test_bad_input_subprocess_has_no_traceback(tmp_path):
    res = run_cli("run", "--preset", "ci", "--dataset", "toy", "--set", "prune.rate=1.5", "--out", str(tmp_path))
    assert res.returncode == 2 and "prune.rate" in res.stderr and "Traceback" not in res.stderr


def test_a_model_that_cannot_fit_is_one_error_line_and_no_run_directory(tmp_path):
    # the command (ci NLGP, 256 inputs, 10^8 hidden units: ~1 TB for one replica); it used to end in numpy's
    # _ArrayMemoryError traceback and leave its run directory behind
    out = tmp_path / "runs"
    res = run_cli("run", "--preset", "ci", "--method", "imp", "--seed", "0", "--out", str(out),
                  "--set", "model.hidden=[100000000]", "--device", "cpu")
    assert res.returncode == 2 and "Traceback" not in res.stderr and res.stderr.count("\n") == 1, res.stderr
    assert res.stderr.startswith("impkit: error: model.hidden=[100000000]: one replica needs ")
    assert "256:100000000:2 network" in res.stderr and "is free (90 % of the available RAM of cpu)" in res.stderr
    assert not out.exists()


def test_bad_input_is_one_clean_error(tmp_path, capsys):
    for args, needle in [
        (["run", "--preset", "ci", "--dataset", "toy", "--set", "prune.rate=1.5"], "prune.rate"),
        (["run", "--preset", "ci", "--dataset", "toy", "--set", "train.t_rewind=999"], "train.t_rewind"),
        (["run", "--preset", "ci", "--dataset", "no-such"], "data.name"),
        (["run", "--preset", "nope"], "preset"),
        (["run", "--preset", "ci", "--method", "magic"], "method"),
        (["show", str(tmp_path / "missing")], "missing"),
    ]:
        rc, err = _main([*args, "--out", str(tmp_path)] if args[0] == "run" else args, capsys)
        assert rc == 2, (args, err)
        assert needle in err and "Traceback" not in err
        assert len(err.strip().splitlines()) == 1, err


# ---------------------------------------------------------------------------------------------------------------
# bad input: one line naming the file or setting and the fix, exit 2, no traceback, nothing created
# ---------------------------------------------------------------------------------------------------------------
TINY = ["--quiet", "--seed", "0", "--set", "train.steps=60", "--set", "train.t_rewind=5",
        "--set", "train.eval_every=30", "--set", "prune.rounds=1", "--set", "model.hidden=8", "--set", "data.options.n_train=128",
        "--set", "data.options.n_test=32"]


def _runs(root):
    return sorted(p.name for p in root.iterdir()) if root.is_dir() else []


def test_bad_data_and_widths_are_refused_before_a_run_directory_exists(tmp_path, bad_input, monkeypatch):
    monkeypatch.delenv("IMPKIT_DATA", raising=False)
    out = tmp_path / "runs"
    nlgp = ["run", "--preset", "ci", "--dataset", "nlgp", "--out", out, "--quiet", "--seed", "0"]
    for args, needles in [
        (nlgp + ["--set", "data.options.L=abc"], ["data.options.L: expected an integer, got 'abc'"]),
        (nlgp + ["--set", "data.options.Lx=3"], ["data.options.Lx: unknown option", "valid options: L,"]),
        (nlgp + ["--set", "data.options.dim=3"], ["data.options of 'nlgp'", "dim must be 1 or 2",
                                                  "--set data.options.KEY=VALUE"]),
        (nlgp + ["--set", "train.lr=inf"], ["train.lr: must be a finite number > 0, got inf"]),
        (nlgp + ["--set", "model.input_dim=5"], ["model.input_dim: 5 does not match", "set model.input_dim=256"]),
        (nlgp + ["--set", f"data.root={tmp_path / 'nowhere'}"],
         ["data.root:", str(tmp_path / "nowhere"), "does not exist", "--set data.root=DIR"]),
        (["run", "--preset", "ci", "--dataset", "imagenet32", "--out", out, "--quiet", "--seed", "0"],
         ["ImageNet32 files not found", "--set data.root=DIR", "IMPKIT_DATA=DIR"]),
        (["run", "--preset", "ci", "--dataset", "fashion-mnist", "--out", out, "--quiet", "--seed", "0",
          "--set", f"data.root={tmp_path}"], ["Fashion-MNIST not found", str(tmp_path), "IMPKIT_DATA"]),
    ]:
        bad_input(*args, needles=needles)
        assert _runs(out) == [], args  # a failed run leaves no empty run directory ("0/11" in ls) behind


def test_out_and_run_root_that_are_files(tmp_path, bad_input):
    f = tmp_path / "afile"
    f.write_text("not a directory")
    for out in (f, f / "sub"):
        bad_input("run", "--preset", "ci", "--dataset", "toy", "--out", out, *TINY,
                  needles=[f"{f} is a file, not a directory", "--out"])
    bad_input("ls", f, needles=[f"run root {f} is a file", "--out of `impkit run`"])
    bad_input("ls", tmp_path / "missing", needles=["no such run root", "--out directory of `impkit run`"])
    bad_input("show", f, needles=[f"{f} is not a run directory", "impkit ls"])
    assert f.read_text() == "not a directory"


def _imagenet32_pickles(root):
    """Pickled ImageNet32 batches 1 (valid) and val_data in the official layout (batch 2 is the caller's)."""
    import pickle

    import numpy as np

    rng = np.random.default_rng(0)
    (root / "Imagenet32_train").mkdir(parents=True)
    (root / "Imagenet32_val").mkdir()
    batch = {"data": rng.integers(0, 256, (6, 3072), dtype=np.uint8), "labels": [1, 2, 1, 2, 1, 2],
             "mean": np.full(3072, 100.0)}
    with open(root / "Imagenet32_train" / "train_data_batch_1", "wb") as fh:
        pickle.dump(batch, fh, protocol=2)
    with open(root / "Imagenet32_val" / "val_data", "wb") as fh:
        pickle.dump({"data": batch["data"], "labels": batch["labels"]}, fh, protocol=2)


class _Evil:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        import os

        return (os.system, (f"touch {self.marker}",))


def test_malicious_pickle_is_one_error_line(tmp_path, bad_input):
    import pickle

    data = tmp_path / "inet"
    _imagenet32_pickles(data)
    marker = tmp_path / "pwned"
    evil = data / "Imagenet32_train" / "train_data_batch_2"
    with open(evil, "wb") as fh:
        pickle.dump({"data": _Evil(marker), "labels": [1]}, fh, protocol=2)
    out = tmp_path / "runs"
    bad_input("run", "--preset", "ci", "--dataset", "imagenet32", "--out", out, "--quiet", "--seed", "0",
              "--set", f"data.root={data}", "--set", "data.options.batches=[1,2]",
              needles=[str(evil), "refused to load global", "delete it and download the official ImageNet32"])
    assert not marker.exists() and _runs(out) == []


def test_full_disk_is_one_error_line_and_loses_nothing(tmp_path):
    # a real file-size limit (RLIMIT_FSIZE) in a child process: every write past it fails with EFBIG
    from test_store import run_cli

    out = tmp_path / "runs"
    args = ["run", "--preset", "ci", "--dataset", "toy", "--out", str(out), *map(str, TINY)]
    res = run_cli(*args, fsize=3000)  # config.json and mask.npz fit, the weights (8 x 64 float32 + ...) do not
    assert res.returncode == 2, res.stderr
    err = res.stderr.strip()
    assert "Traceback" not in err and len(err.splitlines()) == 1, err
    assert ".npz" in err and "File too large" in err and "ulimit -f" in err and "rerun the same command" in err
    (run,) = out.iterdir()
    assert not list(out.rglob("*.tmp")) and not list(out.rglob(".*.tmp"))  # no temp litter
    config = (run / "config.json").read_text()
    res = run_cli(*args)  # the limit lifted: the same command finishes the run
    assert res.returncode == 0, res.stderr
    assert (run / "config.json").read_text() == config and (run / "round_01" / "metrics.json").exists()


def test_divergence_is_recorded_listed_and_not_retried(tmp_path, cli, bad_input):
    out = tmp_path / "runs"
    args = ["run", "--preset", "ci", "--dataset", "toy", "--out", out, *TINY, "--set", "train.lr=1e6"]
    err = bad_input(*args, needles=["training diverged", "status.json", "--set train.lr=100000"])
    (run,) = out.iterdir()
    assert str(run) in err
    status = json.loads((run / "status.json").read_text())
    assert status["status"] == "diverged" and status["round"] == 0 and status["step"] >= 1
    rc, listing, _ = cli("ls", out)
    assert rc == 0 and "diverged r0" in listing and "0/2" in listing
    rc, shown, _ = cli("show", run)
    assert rc == 0 and "diverged in round 0" in shown and "train.lr=" in shown
    # the same settings diverge again (training is deterministic): refused up front, with what to change
    bad_input(*args, needles=["diverged before", "--set train.lr=100000", f"delete {run / 'status.json'}"])
    assert not (run / "round_00" / "metrics.json").exists()


def _train_toy(root, seed=0, **over):
    from impkit.presets import make_config
    from impkit.runs import train_configs
    from test_store import OV

    return train_configs([make_config("ci", "toy", "imp", seed, {**OV, **over})], root, progress=False)[0]


def test_ls_lists_around_damaged_runs_and_shows_distinguishing_settings(tmp_path, cli):
    good = [_train_toy(tmp_path, 0), _train_toy(tmp_path, 0, **{"train.lr": 0.05}), _train_toy(tmp_path, 1)]
    trunc = _train_toy(tmp_path, 2)
    cfg = trunc.path / "config.json"
    cfg.write_text(cfg.read_text()[:50])
    edited = _train_toy(tmp_path, 3)
    c = json.loads((edited.path / "config.json").read_text())
    c["prune"]["rate"] = 0.5
    (edited.path / "config.json").write_text(json.dumps(c))
    bad_metrics = _train_toy(tmp_path, 4)
    m = bad_metrics.path / "round_01" / "metrics.json"
    m.write_text(m.read_text()[:30])
    rc, listing, err = cli("ls", tmp_path)
    assert rc == 0 and err == "", err
    lines = {ln.split()[0]: ln for ln in listing.strip().splitlines()[1:]}
    assert set(lines) == {r.path.name for r in [*good, trunc, edited, bad_metrics]}
    assert "corrupt" in lines[trunc.path.name] and f"delete the run directory {trunc.path}" in lines[trunc.path.name]
    assert "edited" in lines[edited.path.name] and "prune.rate is 0.5 in config.json, 0.3 in" in lines[edited.path.name]
    assert "corrupt" in lines[bad_metrics.path.name] and "round_01" in lines[bad_metrics.path.name]
    # eight runs with one name prefix become distinguishable: the settings that differ among them are shown
    assert "train.lr=0.05" in lines[good[1].path.name] and "train.lr=0.1" in lines[good[0].path.name]
    assert "2/2" in lines[good[2].path.name] and "0." in lines[good[2].path.name]  # rounds and accuracy


def test_show_refuses_a_hand_edited_config(tmp_path, bad_input):
    r = _train_toy(tmp_path)
    c = json.loads((r.path / "config.json").read_text())
    c["train"]["lr"] = 0.5
    (r.path / "config.json").write_text(json.dumps(c))
    bad_input("show", r.path, needles=["train.lr is 0.5 in config.json, 0.1 in the settings the run was created",
                                       f"restore the original settings in {r.path / 'config.json'}"])
    (r.path / "config.json").write_text("{")
    bad_input("show", r.path, needles=["corrupted or truncated run file", f"delete the run directory {r.path}"])


def test_help_lists_examples_datasets_methods_and_settings(cli):
    from impkit import data, methods
    from impkit.config import RunConfig
    import dataclasses

    rc, text, _ = cli("--help")
    assert rc == 0 and "examples:" in text and "impkit run --preset ci" in text
    for name in [*data.names(), *methods.names(), "ci", "paper"]:
        assert name in text, name
    assert "impkit run --help" in text
    rc, text, _ = cli("run", "--help")
    assert rc == 0 and "examples:" in text
    for sec in dataclasses.fields(RunConfig):
        if sec.name != "seed":
            for f in dataclasses.fields(getattr(RunConfig(), sec.name)):
                assert f"{sec.name}.{f.name}" in text
    assert "nlgp: dim:int, L:int" in text and "imagenet32: batches:int|list[int]|none" in text


def test_distinguishing_settings_leave_out_settings_a_run_does_not_have():
    from impkit.cli import distinguishing_settings
    from impkit.presets import make_config

    nlgp, photos = make_config("ci", "nlgp"), make_config("ci", "photos")
    a, b = distinguishing_settings([nlgp, photos])
    assert "data.options.L=16" in a and "=-" not in a + b  # photos has no L: not shown as "L=-" on its line
    assert "data.options.L" not in b
