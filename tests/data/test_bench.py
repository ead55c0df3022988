"""The data benchmark runs end to end on a tiny set and keeps the data uint8."""
import importlib.util
from pathlib import Path


def test_bench_runs_small():
    spec = importlib.util.spec_from_file_location("bench_data", Path(__file__).parents[2] / "bench" / "bench_data.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    r = mod.main(["--rows", "300", "--batches", "10"])
    assert r["rows"] == 3000 and r["dtype"] == "torch.uint8" and r["nbytes"] == 3000 * 3072
