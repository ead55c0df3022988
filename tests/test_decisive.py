"""impkit.decisive: its rules (C2, precondition, C3b, C4 as the scale study judges them), the predictions'
scoring, the recorded formats and the command line."""
import json

import numpy as np
import pytest

from impkit import decisive, verdicts



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


# ------------------------------------------------------------------------------------------------
# format 2: one-shot, C3b and C4 as the scale study judges them
# ------------------------------------------------------------------------------------------------
def _with_oneshot(c, k_imp, k_one, k_imp_clone=3.0, k_one_clone=3.0):
    """``c`` (from :func:`_curves`) with one-shot conditions (widths of IMP + 1 px) and per-class kurtosis set:
    IMP and one-shot at ``k_imp`` / ``k_one`` on the data and ``k_imp_clone`` / ``k_one_clone`` on the clone, with
    seed noise of 0.01."""
    rng = np.random.default_rng(1)
    out = {k: dict(v) for k, v in c.items()}
    for suffix, ki, ko in (("", k_imp, k_one), ("_clone", k_imp_clone, k_one_clone)):
        one = {**out["imp" + suffix]}
        one["sigma_paper_mean"] = (np.asarray(one["sigma_paper_mean"]) + 1.0).tolist()
        shape = np.asarray(one["kurt_class"]).shape
        out["imp" + suffix]["kurt_class"] = (ki + rng.normal(0, 0.01, shape)).tolist()
        one["kurt_class"] = (ko + rng.normal(0, 0.01, shape)).tolist()
        out["oneshot" + suffix] = one
    return out


def _c4(on_time, shuffled):
    return {"seeds": [0, 1, 2], "on_time_share": list(on_time), "shuffled_share": list(shuffled)}


def test_c3b_and_c4_are_judged_on_data_and_clone():
    c = _with_oneshot(_curves(2.0, 2.0, 8.0, 8.0), k_imp=4.0, k_one=3.3)
    e = decisive.effects(c, c4=_c4([0.8, 0.75, 0.85], [0.3, 0.35, 0.3]), c4_clone=_c4([0.5, 0.52, 0.49],
                                                                                       [0.5, 0.5, 0.5]),
                         count_null={"seeds": [0, 1, 2], "values": [3.32, 3.31, 3.29]})
    # C3b = |κ_IMP − 3| − |κ_one-shot − 3| at the last round, paired: 1.0 − 0.3 = 0.7 > δ = 0.1
    k_imp = np.asarray(c["imp"]["kurt_class"])[:, -1]
    k_one = np.asarray(c["oneshot"]["kurt_class"])[:, -1]
    assert e["C3b"]["mean"] == pytest.approx(np.mean(np.abs(k_imp - 3) - np.abs(k_one - 3)))
    assert e["C3b"]["verdict"] == verdicts.REPRODUCED
    # on the clone both are Gaussian: within the margin
    assert e["C3b_clone"]["verdict"] == verdicts.NOT_REPRODUCED and abs(e["C3b_clone"]["mean"]) < 0.05
    # C4: on-time share minus its shuffle, per seed
    assert e["C4"]["values"] == pytest.approx([0.5, 0.4, 0.55]) and e["C4"]["verdict"] == verdicts.REPRODUCED
    assert e["C4_clone"]["verdict"] == verdicts.NOT_REPRODUCED
    # C3a: one-shot minus IMP mean width (1 px here)
    assert e["C3a"]["mean"] == pytest.approx(1.0)
    # the count null: IMP's counts at random places explain C3b's effect here (0.3 − 0.3 ≈ 0)
    assert abs(e["C3b_count_null"]["mean"]) < 0.05
    # the same numbers as the scale study's functions on the same statistics
    assert e["C3b"]["lo"] == pytest.approx(verdicts.c3b(k_imp, k_one).lo)
    # and the claim flips when the kurtosis of IMP and one-shot are swapped
    sw = decisive.effects(_with_oneshot(_curves(2.0, 2.0, 8.0, 8.0), k_imp=3.3, k_one=4.0),
                          c4=_c4([0.3, 0.35, 0.3], [0.8, 0.75, 0.85]))
    assert sw["C3b"]["verdict"] == verdicts.OPPOSITE and sw["C4"]["verdict"] == verdicts.OPPOSITE
    assert sw["C4_clone"]["verdict"] == verdicts.UNDEFINED  # no cavity scores of the clone given


def test_light_tails_count_as_far_from_gaussian():
    e = decisive.effects(_with_oneshot(_curves(2.0, 2.0, 8.0, 8.0), k_imp=2.0, k_one=2.8))
    assert e["C3b"]["mean"] == pytest.approx(0.8, abs=0.05) and e["C3b"]["verdict"] == verdicts.REPRODUCED
    assert e["C4"]["verdict"] == verdicts.UNDEFINED and np.isnan(e["C4"]["mean"])


def test_format_1_curves_judge_no_c3b_or_c4():
    e = decisive.effects(_curves(2.0, 2.0, 8.0, 8.0))
    assert not {"C3a", "C3b", "C4", "C3b_clone", "C4_clone"} & set(e)


def test_own_clone_has_no_clone_claims():
    c = _with_oneshot(_curves(2.0, 2.0, 8.0, 8.0), k_imp=4.0, k_one=3.3)
    own = {k: v for k, v in c.items() if not k.endswith("_clone")}
    e = decisive.effects(own, c4=_c4([0.8, 0.75, 0.85], [0.3, 0.35, 0.3]))
    assert e["C3b"]["verdict"] == verdicts.REPRODUCED and e["C4"]["verdict"] == verdicts.REPRODUCED
    assert e["C3b_clone"]["verdict"] == verdicts.UNDEFINED and e["C4_clone"]["verdict"] == verdicts.UNDEFINED


def _summary(verdict_of: dict, precondition=verdicts.REPRODUCED) -> dict:
    eff = {k: {"verdict": v} for k, v in verdict_of.items()}
    eff["precondition"] = {"verdict": precondition}
    return {"effects": eff}


def test_late_predictions_are_scored_with_as_data_resolved():
    R, N, I = verdicts.REPRODUCED, verdicts.NOT_REPRODUCED, verdicts.INCONCLUSIVE
    # H's picture on fm: C3b and C4 on the data, neither on the clone
    h = _summary({"C3b": R, "C3b_clone": N, "C4": R, "C4_clone": N})
    t = decisive.late_tally({"fm": h})
    assert t["H"] == {"agree": 4, "against": 0, "open": 0}
    # H′ says nothing about the data's C3b and C4; its C3b_clone agrees, its C4_clone ("as data": reproduced) not
    assert t["H′"] == {"agree": 1, "against": 1, "open": 0}
    # H′'s picture: C4 on the clone as on the data
    t = decisive.late_tally({"fm": _summary({"C3b": R, "C3b_clone": N, "C4": R, "C4_clone": R})})
    assert t["H′"] == {"agree": 2, "against": 0, "open": 0} and t["H"]["against"] == 1
    # an inconclusive data verdict leaves "as data" unscored; an inconclusive verdict counts as open
    t = decisive.late_tally({"fm": _summary({"C3b": I, "C3b_clone": N, "C4": I, "C4_clone": R})})
    assert t["H′"] == {"agree": 1, "against": 0, "open": 0} and t["H"]["open"] == 2
    # a failed precondition or a format-1 summary (no C3b/C4) scores nothing
    t = decisive.late_tally({"fm": _summary({"C3b": R, "C3b_clone": N, "C4": R, "C4_clone": N}, N),
                             "fm-fit100": _summary({"C2a": R})})
    assert t["H"] == t["H′"] == {"agree": 0, "against": 0, "open": 0}
    assert [r["task"] for r in t["rows"]] == ["fm"] * 4 and not any(r["counted"] for r in t["rows"])
    # the Gaussian texture: H says C4 not reproduced, H′ reproduced
    t = decisive.late_tally({"texture-short": _summary({"C3b": N, "C4": R, "C3b_clone": verdicts.UNDEFINED,
                                                        "C4_clone": verdicts.UNDEFINED})})
    assert t["H"] == {"agree": 1, "against": 1, "open": 0} and t["H′"] == {"agree": 2, "against": 0, "open": 0}


def test_every_task_has_late_predictions_of_known_verdicts():
    ok = {"any", "as data", *verdicts.VERDICTS}
    for slug in decisive.TASKS:
        for hyp in ("H", "H′"):
            p = decisive.LATE_PREDICTIONS[slug][hyp]
            assert set(p) <= set(decisive.LATE_STATS) and set(p.values()) <= ok, (slug, hyp, p)


def test_both_formats_are_read_and_others_refused(tmp_path):
    for fmt in ("impkit.decisive/1", "impkit.decisive/2"):
        (tmp_path / "fm.json").write_text(json.dumps({"format": fmt, "effects": {"C2a": {"mean": None}}}))
        s = decisive.load_recorded(tmp_path)["fm"]
        assert np.isnan(s["effects"]["C2a"]["mean"])
        assert decisive.judges(s, "C2a") and not decisive.judges(s, "C3b")
    (tmp_path / "fm.json").write_text(json.dumps({"format": "impkit.decisive/3"}))
    with pytest.raises(ValueError, match="impkit.decisive/2 or impkit.decisive/1"):
        decisive.load_recorded(tmp_path)


def test_the_committed_recordings_are_readable():
    rec = decisive.load_recorded()
    assert rec, "no recording under book/recorded/decisive"
    for slug, s in rec.items():
        assert s["format"] in decisive.READ_FORMATS and s["task"] == slug
        assert {"C2a", "C2b", "precondition"} <= set(s["effects"])
        assert (s["format"] == decisive.FORMAT) == decisive.judges(s, "C3b")


TINY = {"train.steps": 60, "train.t_rewind": 10, "train.eval_every": 60, "train.checkpoint_every": 0,
        "prune.rounds": 3, "model.hidden": [16], "data.options.n_train": 600, "data.options.n_test": 200,
        "data.options.L": 8}


def test_reduce_on_tiny_runs_agrees_with_the_scale_study(tmp_path):
    """End to end on a tiny heavy-tailed NLGP task (ci preset): the decisive reducer's C3b and C4 are the scale
    summary's on the same runs."""
    from impkit import scale
    from impkit.runs import train_configs

    r = scale.Rung("tiny", "heavy", "baseline", "tiny", 1.0, preset="ci")
    t = decisive.Task("tiny", r)
    runs = train_configs(decisive.configs(t, seeds=(0, 1), extra=TINY), root=tmp_path, device="cpu",
                         progress=False)
    assert {x.method for x in runs} == {"imp", "oneshot", "random"}
    s = decisive.reduce(runs, device="cpu", readability=False, cavity_inputs=300)
    ref = scale.summary(runs, cavity_inputs=300, device="cpu", every_round=False)
    assert set(s["curves"]) == {"imp", "oneshot", "random", "imp_clone", "oneshot_clone", "random_clone"}
    for k in ("C3b", "C4", "C3a"):
        assert s["effects"][k]["mean"] == pytest.approx(ref["claims"][k]["mean"], nan_ok=True), k
    assert s["effects"]["C3b_count_null"]["mean"] == pytest.approx(ref["analysis_nulls"]["C3b"]["mean"])
    assert s["c4"]["on_time_share"] == pytest.approx(ref["c4"]["on_time_share"])
    assert len(s["c4_clone"]["on_time_share"]) == 2 and s["effects"]["C4_clone"]["n"] == 2
