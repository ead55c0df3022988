"""tools/gpu_session.py (the one-call GPU session) and the baselines of bench/bench_train.py, on the CPU."""
from __future__ import annotations

import json
import math

import pytest
import torch
import torch.nn.functional as F
from conftest import load_script


gs = load_script("tools/gpu_session.py", "gpu_session")
bt = load_script("bench/bench_train.py", "bench_train")


def _record(**over) -> dict:
    rec = {f: None for f in gs.FIELDS}
    rec.update(device="NVIDIA H100 80GB HBM3", kind="cuda", date="2026-12-06", smoke=True, phases={"env": 0.0},
               wall_s=1.5, projected_full_s=float("nan"), reproduction={"round0_data": {"steps_per_s": float("inf")}})
    rec.update(over)
    return rec


def test_write_results_writes_strict_json_with_every_field(tmp_path):
    path = gs.write_results(tmp_path, _record())
    assert path == tmp_path / "bench" / "results" / "nvidia-h100-80gb-hbm3-2026-12-06.json"
    text = path.read_text()
    data = json.loads(text, parse_constant=lambda c: pytest.fail(f"non-standard JSON constant {c}"))
    assert set(data) == set(gs.FIELDS)
    assert data["projected_full_s"] is None and data["reproduction"]["round0_data"]["steps_per_s"] is None
    assert data["wall_s"] == 1.5 and data["device"] == "NVIDIA H100 80GB HBM3"
    assert not list(path.parent.glob("*.tmp"))


def test_write_results_refuses_a_record_missing_a_field(tmp_path):
    rec = _record()
    del rec["peak_memory_bytes"], rec["torch"]
    with pytest.raises(ValueError, match="lacks torch, peak_memory_bytes"):
        gs.write_results(tmp_path, rec)
    assert not (tmp_path / "bench").exists()


def test_smoke_session_runs_end_to_end_and_records_every_field(tmp_path):
    """The whole script at --smoke (tests skipped here: they are this suite): stand-in, clones, the four timed
    batches, the extrapolation and the results file."""
    rec = gs.main(["--smoke", "--skip-tests", "--device", "cpu", "--out", str(tmp_path)])
    files = list((tmp_path / "bench" / "results").glob("*.json"))
    assert len(files) == 1 and files[0].name.endswith(f"-{rec['date']}.json")
    data = json.loads(files[0].read_text())
    assert set(gs.FIELDS) <= set(data) and data["smoke"] is True and data["kind"] == "cpu"
    rep = data["reproduction"]
    for key, R, steps in (("round0_data", 3, 6), ("round1_data", 9, 4), ("round0_clone", 3, 6),
                          ("round1_clone", 9, 4)):
        assert rep[key]["replicas"] == R and rep[key]["steps_done"] == steps and rep[key]["steps_per_s"] > 0
    r = {k: rep[k]["steps_per_s"] for k in ("round0_data", "round0_clone", "round1_data", "round1_clone")}
    expect = (40_000 * (1 / r["round0_data"] + 1 / r["round0_clone"])
              + 10 * 39_000 * (1 / r["round1_data"] + 1 / r["round1_clone"]))
    assert math.isclose(data["projected_full_s"], expect, rel_tol=1e-9)
    assert "EXTRAPOLATED" in data["projected_note"] and data["peak_memory_bytes"] > 0
    assert set(data["phases"]) == {"env", "reproduction"}


def test_budget_stops_a_timed_round_early():
    """A zero budget stops at the first check (step 1,000), and the rate is of the steps done."""
    from impkit.data.base import Dataset
    from impkit.model import FCN
    from impkit.train import stack_datasets

    x = torch.randint(0, 256, (500, 3072), dtype=torch.uint8)
    ds = Dataset(x=x, y=torch.randint(0, 10, (500,)), image_shape=(3, 32, 32), num_classes=10, name="t", scale=255.0)
    out = gs._timed_round(FCN([3072, 8, 10], 2), stack_datasets([ds, ds], [ds, ds]), 5000, 0.0, [0, 1], 5000,
                          torch.device("cpu"), "t")
    assert out["steps_done"] == 1000 and out["steps_planned"] == 5000
    assert math.isclose(out["steps_per_s"], 1000 / out["wall_s"])


def test_vmap_recipe_equals_per_replica_sgd_with_masks():
    """The vmap baseline is a correct masked-SGD ensemble: R = 2 replicas after 3 steps equal each replica
    trained alone by hand (``torch.autograd.grad`` of its own loss, ``p -= lr g``, mask)."""
    dims, lr = [12, 6, 3], 0.05
    step, params, masks = bt.vmap_ensemble(dims, 2, torch.device("cpu"), lr=lr, keep=0.6, seed=3)
    ref = {k: v.detach().clone() for k, v in params.items()}
    g = torch.Generator().manual_seed(0)
    xs = [torch.randn(2, 5, 12, generator=g) for _ in range(3)]
    ys = [torch.randint(0, 3, (2, 5), generator=g) for _ in range(3)]
    nl = len(dims) - 1
    for xb, yb in zip(xs, ys):
        losses = step(xb, yb)
        for r in range(2):
            ps = [ref[f"layers.{i}.{w}"][r].clone().requires_grad_() for i in range(nl) for w in ("weight", "bias")]
            h = xb[r]
            for i in range(nl):
                h = F.linear(h, ps[2 * i], ps[2 * i + 1])
                h = F.relu(h) if i < nl - 1 else h
            loss = F.cross_entropy(h, yb[r])
            assert torch.allclose(losses[r], loss.detach(), atol=1e-6)
            grads = torch.autograd.grad(loss, ps)
            for i in range(nl):
                for j, w in enumerate(("weight", "bias")):
                    new = ps[2 * i + j].detach() - lr * grads[2 * i + j]
                    if w == "weight":
                        new = new * masks[f"layers.{i}.weight"][r]
                    ref[f"layers.{i}.{w}"][r] = new
    for k in params:
        assert torch.allclose(params[k], ref[k], atol=1e-6), k
    for k, m in masks.items():
        assert (params[k][m == 0] == 0).all() and 0 < m.mean() < 1


def test_weight_traffic_of_the_paper_step():
    # 3072x1024 (first layer: 5 weight accesses + mask) + 1024x1024 and 1024x1000 (6 + mask), 4-byte floats;
    # biases: 3 accesses
    expect = 3072 * 1024 * 24 + (1024 * 1024 + 1024 * 1000) * 28 + (1024 + 1024 + 1000) * 12
    assert bt.weight_traffic_bytes(bt.PAPER_DIMS) == expect
    assert round(1e6 * expect / 3.35e12, 1) == 39.9  # microseconds at an H100 SXM's stated 3.35 TB/s
    assert bt.bandwidth_of("NVIDIA H100 80GB HBM3") == 3.35e12 and bt.bandwidth_of("NVIDIA H100 PCIe") == 2.0e12
    assert bt.bandwidth_of("NVIDIA H200") == 4.8e12 and bt.bandwidth_of("CPU") is None
