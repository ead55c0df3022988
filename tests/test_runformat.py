"""The run-directory format: one definition of paths, keys and 'round complete'."""
import numpy as np

from impkit import store
from impkit.runformat import ROUND_FILES, Masks, Params, RunFiles, repair_hint, round_of


def test_paths_and_completeness(tmp_path):
    f = RunFiles(tmp_path / "run")
    r = f.round(3)
    assert r.dir.name == "round_03" and f.rewind == f.round(0).dir / "rewind.npz"
    assert f.config.name == "config.json" and f.lock.name == ".lock" and ROUND_FILES[-1] == "metrics.json"
    r.dir.mkdir(parents=True)
    assert not r.complete() and f.rounds_done() == []
    store.save_json(r.metrics, {})  # metrics alone (arrays deleted by hand): not complete
    assert not r.complete()
    store.save_npz(r.mask, Masks.ones([(2, 3)]).arrays())
    assert not r.complete()
    store.save_npz(r.trained, {"W0": np.zeros((2, 3)), "b0": np.zeros(2)})
    assert r.complete() and f.rounds_done() == [3]
    (f.dir / "round_xx").mkdir()  # junk folders are ignored
    assert f.rounds_done() == [3]


def test_masks_and_params_round_trip(tmp_path):
    rng = np.random.default_rng(0)
    m = Masks([rng.random((4, 6)) > 0.5, rng.random((2, 4)) > 0.5], [np.ones(4, bool), rng.random(2) > 0.5])
    store.save_npz(tmp_path / "m.npz", m.arrays())
    back = Masks.from_arrays(store.load_npz(tmp_path / "m.npz"))
    assert back.num_layers == 2 and all(np.array_equal(a, b) for a, b in zip(back.weights, m.weights))
    assert all(np.array_equal(a, b) for a, b in zip(back.biases, m.biases))
    p = Params([rng.normal(size=(4, 6)), rng.normal(size=(2, 4))], [rng.normal(size=4), rng.normal(size=2)],
               {"bn_mean0": np.ones(6)})
    q = Params.from_arrays({**p.arrays(), **m.arrays()})  # a replica state with masks: masks are ignored
    assert set(q.bn) == {"bn_mean0"} and np.array_equal(q.weights[1], p.weights[1])
    pm = p.masked(m)
    assert np.array_equal(pm.weights[0], p.weights[0] * m.weights[0]) and (pm.biases[1][~m.biases[1]] == 0).all()


def test_repair_hint_says_what_to_delete_and_rerun(tmp_path):
    f = RunFiles(tmp_path / "toy-imp-s0-abc")
    assert repair_hint(f.config) == (f"delete the run directory {f.dir} and rerun the same `python -m impkit run` "
                                     "command (or notebook) that made it (its rounds cannot be trusted without their "
                                     "config)")
    hint = repair_hint(f.round(3).mask)
    assert f"delete the folder {f.round(3).dir}" in hint and "round 3 is recomputed" in hint
    assert "round 0 is recomputed" in repair_hint(f.rewind)  # the rewind point lives in round 0
    assert "round 2 restarts from its beginning" in repair_hint(f.round(2).checkpoint)
    assert str(f.status) in repair_hint(f.status) and str(f.identity) in repair_hint(f.identity)
    assert round_of(f.round(7).metrics) == 7 and round_of(f.config) is None
