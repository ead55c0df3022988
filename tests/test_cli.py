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
