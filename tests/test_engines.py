"""Ray stays optional: the core never imports it, and without it `--engine ray` says how to install it."""
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

SPEC = '''
preset = "ci"
methods = ["imp"]
seeds = [0]
[overrides]
"train.steps" = 20
"train.t_rewind" = 2
"train.eval_every" = 10
"prune.rounds" = 1
"model.hidden" = [4]
"data.options.n_train" = 80
"data.options.n_test" = 20
'''


def _python(code: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code), *args], capture_output=True, text=True,
                          cwd=ROOT)


def test_core_and_local_engine_never_import_ray(tmp_path):
    spec = tmp_path / "spec.toml"
    spec.write_text(SPEC)
    res = _python('''
        import sys
        import impkit
        import impkit.cli, impkit.grid, impkit.engines, impkit.runs
        assert "ray" not in sys.modules, "import"
        from impkit.cli import main
        for args in (["sweep", sys.argv[1], "--out", sys.argv[2], "--dry-run", "--engine", "ray"],
                     ["sweep", sys.argv[1], "--out", sys.argv[2], "--quiet"],
                     ["run", "--preset", "ci", "--seed", "0", "--out", sys.argv[2], "--quiet", "--set",
                      "train.steps=20", "--set", "train.t_rewind=2", "--set", "prune.rounds=1"]):
            rc = main(args)
            assert rc == 0, (args, rc)
            assert "ray" not in sys.modules, args
        print("no ray")
    ''', str(spec), str(tmp_path / "runs"))
    assert res.returncode == 0 and res.stdout.endswith("no ray\n"), res.stderr + res.stdout
    assert "sweep finished" in res.stdout and "1/1 batches ok" in res.stdout


def test_engine_ray_without_ray_installed_says_how_to_install(tmp_path):
    spec = tmp_path / "spec.toml"
    spec.write_text(SPEC)
    res = _python('''
        import sys
        sys.modules["ray"] = None  # as if Ray were not installed: `import ray` raises ImportError
        from impkit.cli import main
        sys.exit(main(["sweep", sys.argv[1], "--out", sys.argv[2], "--engine", "ray"]))
    ''', str(spec), str(tmp_path / "runs"))
    assert res.returncode == 2, res.stderr
    assert res.stderr.count("\n") == 1 and "Traceback" not in res.stderr, res.stderr
    assert res.stderr.startswith("impkit: error: --engine ray needs Ray")
    assert "pip install 'impkit[ray]'" in res.stderr and "make ray" in res.stderr
    assert not any((tmp_path / "runs").glob("*/round_00")), "nothing may train when the engine is missing"
