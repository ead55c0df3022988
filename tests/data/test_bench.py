"""The data benchmark runs end to end on a tiny set and keeps the data uint8."""
from conftest import load_script


def test_bench_runs_small():
    mod = load_script("bench/bench_data.py", "bench_data")
    r = mod.main(["--rows", "300", "--batches", "10"])
    assert r["rows"] == 3000 and r["dtype"] == "torch.uint8" and r["nbytes"] == 3000 * 3072
