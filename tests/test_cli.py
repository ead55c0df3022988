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
    assert show.returncode == 0 and "11/11" in show.stdout and " 58 " in show.stdout  # 2048 * 0.7^10 -> 58
    ls = run_cli("ls", str(tmp_path))
    assert ls.returncode == 0 and run.name in ls.stdout


def test_batched_methods_and_seeds(tmp_path):
    res = run_cli("run", "--preset", "ci", "--dataset", "toy", "--method", "imp,random", "--seeds", "0,1",
                  "--out", str(tmp_path), "--quiet", "--replicas", "3", "--set", "prune.rounds=2",
                  "--set", "train.steps=60", "--set", "train.t_rewind=5")
    assert res.returncode == 0, res.stderr
    assert len([p for p in tmp_path.iterdir() if p.is_dir()]) == 4


def test_bad_input_is_one_clean_error(tmp_path):
    for args, needle in [
        (["run", "--preset", "ci", "--dataset", "toy", "--set", "prune.rate=1.5"], "prune.rate"),
        (["run", "--preset", "ci", "--dataset", "toy", "--set", "train.t_rewind=999"], "train.t_rewind"),
        (["run", "--preset", "ci", "--dataset", "no-such"], "data.name"),
        (["run", "--preset", "nope"], "preset"),
        (["run", "--preset", "ci", "--method", "magic"], "method"),
        (["show", str(tmp_path / "missing")], "missing"),
    ]:
        res = run_cli(*args, "--out", str(tmp_path)) if args[0] == "run" else run_cli(*args)
        assert res.returncode == 2, (args, res.stdout, res.stderr)
        assert needle in res.stderr and "Traceback" not in res.stderr
        assert len(res.stderr.strip().splitlines()) == 1, res.stderr
