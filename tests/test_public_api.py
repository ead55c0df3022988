"""The documented public surface works from a fresh interpreter (lazy submodules)."""
import subprocess
import sys


def _run(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)


def test_data_and_metrics_through_the_package():
    code = (
        "import impkit\n"
        "ds = impkit.data.load('nlgp', dim=1, L=16, n_train=64, n_test=16, device='cpu')\n"
        "cl = impkit.data.gaussian_clone(ds, seed=0)\n"
        "assert ds.x.shape == (64, 16) and cl.x.shape == (64, 16) and ds.image_shape == (1, 1, 16)\n"
        "import numpy as np\n"
        "m = np.zeros((2, 16), bool); m[:, 3:9] = True\n"
        "S = impkit.metrics.mask_correlation(m, ds.image_shape)\n"
        "assert S.shape == (2, 1, 31)\n"
        "sx, sy = impkit.metrics.rf_width(m, ds.image_shape)\n"
        "assert sx.shape == (2,)\n"
        "assert abs(float(impkit.metrics.kurtosis(np.random.default_rng(0).normal(size=200000))) - 3) < 0.05\n"
        "assert 'imp' in impkit.methods.names() and impkit.runs.ensure_runs and impkit.config.RunConfig\n"
        "print('ok')\n"
    )
    r = _run(code)
    assert r.returncode == 0 and r.stdout.strip() == "ok", r.stderr


def test_import_is_lazy_and_unknown_names_fail():
    r = _run("import sys, impkit\nassert 'torch' not in sys.modules\nassert 'impkit.data' not in sys.modules\n"
             "try:\n    impkit.nothing\nexcept AttributeError as e:\n    print(e)\n")
    assert r.returncode == 0 and "has no attribute 'nothing'" in r.stdout, r.stderr
