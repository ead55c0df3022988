"""The clone option fit_per_class (rank, shrinkage, refusals) and impkit.decisive's rules and command line."""
import json

import numpy as np
import pytest
import torch

import impkit.data as data
from impkit import decisive, verdicts

NLGP = {"dim": 2, "L": 12, "n_train": 1200, "n_test": 200, "xi0": 1.0, "xi1": 2.0}


def _class_rank(ds, c):
    xc = ds.features()[ds.y == c].double()
    return int(torch.linalg.matrix_rank(xc - xc.mean(0), rtol=1e-6))


def test_fit_per_class_gives_low_rank_classes_and_shrinkage_full_rank():
    full = data.load("nlgp-clone", seed=0, **NLGP)
    few = data.load("nlgp-clone", seed=0, fit_per_class=80, **NLGP)
    shrunk = data.load("nlgp-clone", seed=0, fit_per_class=80, shrinkage=0.5, **NLGP)
    assert few.info["clone"]["fit_per_class"] == 80 and len(few) == len(full)
    assert _class_rank(full, 0) == 144
    assert _class_rank(few, 0) <= 79 and _class_rank(few, 1) <= 79  # rank <= n_c - 1: its own subspace
    assert _class_rank(shrunk, 0) == 144  # the pooled covariance of 2 x 80 rows has full rank 144
    again = data.load("nlgp-clone", seed=0, fit_per_class=80, **NLGP)
    assert torch.equal(few.x, again.x)
    test = data.load("nlgp-clone", split="test", seed=0, fit_per_class=80, **NLGP)
    # train and test clones share one fit: test rows lie in the train rows' class subspace
    a = few.features()[few.y == 0].double()
    b = test.features()[test.y == 0].double()
    mu = a.mean(0)
    q, _ = torch.linalg.qr((a - mu).T)
    resid = (b - mu) - ((b - mu) @ q[:, :79]) @ q[:, :79].T
    assert float(resid.norm() / (b - mu).norm()) < 1e-4


@pytest.mark.parametrize("value, needle", [(1, "at least 2"), (100000, "fewer than")])
def test_fit_per_class_refused_by_name(value, needle):
    with pytest.raises(ValueError, match=f"data.options.fit_per_class: .*{needle}"):
        data.load("nlgp-clone", seed=0, fit_per_class=value, **NLGP)


def _curves(w_imp, w_imp_clone, w_rand, w_rand_clone, acc_imp=0.8, acc_rand=0.7, seeds=3, rounds=3):
    rng = np.random.default_rng(0)

    def cond(w, acc):
        noise = rng.normal(0, 0.05, (seeds, rounds))
        return {"rounds": list(range(rounds)), "sparsity": [0, 0.5, 0.9],
                **{m: (np.full((seeds, rounds), w) + noise).tolist() for m in
                   ("sigma_paper_median", "sigma_paper_mean", "sigma_x_mean")},
                "frac_detected": (np.full((seeds, rounds), 0.5) + noise).tolist(),
                "li_mean": (np.full((seeds, rounds), 2.0) + noise).tolist(),
                "test_acc": (np.full((seeds, rounds), acc) - np.linspace(0, 0.1, rounds) + noise / 10).tolist(),
                "kurt_class": (np.full((seeds, rounds), 3.5) + noise).tolist()}

    return {"imp": cond(w_imp, acc_imp), "imp_clone": cond(w_imp_clone, acc_imp),
            "random": cond(w_rand, acc_rand), "random_clone": cond(w_rand_clone, acc_rand)}


def test_effects_follow_the_calibrated_rules():
    # the paper's picture: narrow on the data, as wide as random on the clone
    e = decisive.effects(_curves(2.0, 8.0, 8.0, 8.0))
    assert e["C2a"]["verdict"] == verdicts.REPRODUCED and e["C2b"]["verdict"] == verdicts.NOT_REPRODUCED
    assert e["localises"]["verdict"] == verdicts.REPRODUCED and e["precondition"]["verdict"] == verdicts.REPRODUCED
    # H′'s picture: narrow on both
    e = decisive.effects(_curves(2.0, 2.0, 8.0, 8.0, acc_imp=0.7))
    assert e["C2a"]["verdict"] == verdicts.NOT_REPRODUCED and e["C2b"]["verdict"] == verdicts.REPRODUCED
    assert e["precondition"]["verdict"] == verdicts.NOT_REPRODUCED
    assert e["C2a"]["lo"] < e["C2a"]["mean"] < e["C2a"]["hi"]


def test_accuracy_overlap():
    c = _curves(2, 2, 8, 8)
    c["imp_clone"]["test_acc"] = (np.asarray(c["imp_clone"]["test_acc"]) + 0.5).tolist()
    assert decisive.accuracy_overlap(c)["overlap"] is None
    assert decisive.accuracy_overlap(_curves(2, 2, 8, 8))["overlap"] is not None


def test_every_task_has_predictions_and_valid_configs():
    for slug, t in decisive.TASKS.items():
        assert set(decisive.PREDICTIONS[slug]) == {"H", "H′"}
        cfgs = decisive.configs(t, seeds=(0,))
        assert len(cfgs) == (1 if t.own_clone else 2) * len(decisive.METHODS)
        assert all(c.data.name.endswith("-clone") for c in cfgs[len(decisive.METHODS):])
        assert not any(c.data.name.endswith("-clone") for c in cfgs[:len(decisive.METHODS)])


def test_gaussian_data_are_their_own_clone():
    c = _curves(2.0, 2.0, 8.0, 8.0)
    own = {k: v for k, v in c.items() if not k.endswith("_clone")}
    e = decisive.effects(own)
    assert e["C2a"]["verdict"] == verdicts.UNDEFINED and e["detection"]["verdict"] == verdicts.UNDEFINED
    assert e["C2b"]["mean"] == e["localises"]["mean"] and e["C2b"]["verdict"] == verdicts.REPRODUCED


def test_command_line_refusals(capsys, tmp_path):
    assert decisive.main(["list"]) == 0 and "fm-translated" in capsys.readouterr().out
    assert decisive.main(["record", "nope"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("impkit: error: unknown task 'nope'") and len(err.strip().splitlines()) == 1
    assert decisive.main(["record", "fm", "--seeds", "0"]) == 2
    bad = tmp_path / "fm.json"
    bad.write_text(json.dumps({"format": "other"}))
    with pytest.raises(ValueError, match="python -m impkit.decisive record fm"):
        decisive.read_summary(bad)
