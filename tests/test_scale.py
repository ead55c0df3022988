"""The scale study: the ladder's configs, the rung summary (same verdict rules as the claim pages), recorded files."""
import json
import math

import numpy as np
import pytest

from impkit import analysis, scale, verdicts
from impkit.conditions import Condition
from impkit.config import validate
from impkit.data.nlgp import pixel_kurtosis
from impkit.runs import train_configs

TINY = {"train.steps": 60, "train.t_rewind": 10, "train.eval_every": 60, "train.checkpoint_every": 0,
        "prune.rounds": 3, "model.hidden": [16], "data.options.n_train": 600, "data.options.n_test": 200,
        "data.options.L": 8}


def test_ladder_is_well_formed():
    slugs = [r.slug for r in scale.LADDER + scale.DOSE + scale.NULLS]
    assert len(slugs) == len(set(slugs))
    for r in scale.LADDER + scale.DOSE + scale.NULLS:
        for cfg in scale.configs(r, seeds=[0]):
            validate(cfg)  # every rung is a valid config of its preset
        assert r.task in scale.TASKS and scale.rung(r.slug) is r
    # every factor of the issue is on the ladder, for the default task
    assert {r.factor for r in scale.LADDER if r.task == "nlgp"} >= {"baseline", "side", "width", "steps", "data", "all"}
    with pytest.raises(ValueError, match="unknown rung 'nope'; known: nlgp-base"):
        scale.rung("nope")


def test_nulls_and_seeds():
    # the shuffled-label controls are the default task, its 32 x 32 rung and the photo patches, labels shuffled
    for slug, base in (("null-shuffle-base", "heavy-base"), ("null-shuffle-side32", "heavy-side32"),
                       ("null-shuffle-photos", "photos-base")):
        a, b = scale.configs(scale.rung(slug), [0]), scale.configs(scale.rung(base), [0])
        assert [c.data.options.get("shuffle_labels") for c in a] == [True] * len(a)
        assert [{**c.to_dict()["data"]["options"], "shuffle_labels": True} for c in b] == \
            [c.to_dict()["data"]["options"] for c in a]
    assert set(scale.NULL_SLUGS) <= {r.slug for r in scale.DOSE + scale.NULLS}
    assert set(scale.NULL_SLUGS) <= set(scale.recorded_slugs())
    # at least 3 seeds everywhere; 5 where the 2-seed recording trained in under 3 minutes
    assert all(r.seeds >= 3 for r in scale.LADDER + scale.DOSE + scale.NULLS)
    cheap = {s for s, m in scale.TWO_SEED_MINUTES.items() if m < 3.0}
    assert {r.slug for r in scale.LADDER + scale.DOSE if r.seeds == 5} == cheap
    assert {"nlgp-side32", "nlgp-data80k", "dose-g1", "dose-p1"} <= cheap and "nlgp-width512" not in cheap
    # every recorded rung with a 2-seed time is a real rung, and every recorded rung but the paper's has one
    assert set(scale.TWO_SEED_MINUTES) == {s for s in scale.recorded_slugs() if s not in
                                           {r.slug for r in scale.NULLS} | {"paper"}}


def test_recorded_summaries_hold_each_rungs_seeds():
    """Every committed recorded summary has the seeds its rung declares (so a rule change of the seed count shows
    up as a stale recording, not as a silently smaller one)."""
    rec = scale.load_recorded()
    for slug, s in rec.items():
        assert s["seeds"] == list(range(scale.rung(slug).seeds)), slug


def test_dose_points_span_sub_to_heavy_tailed():
    ks = {r.slug: r.scale for r in scale.DOSE}
    assert ks["dose-g10"] < ks["dose-g3"] < ks["dose-g1"] < 3.0  # the erf: sub-Gaussian
    assert ks["dose-p1"] == pytest.approx(3.0)  # the Gaussian field itself
    assert 3.0 < ks["dose-p1.5"] < ks["dose-p2"] < ks["dose-p3"]  # expanding: heavy-tailed
    assert ks["dose-p2"] == pytest.approx(pixel_kurtosis("power", p=2.0))
    # make book trains only the two points other pages train anyway; `record recorded` covers the rest, not the paper
    assert [r.slug for r in scale.DOSE if not r.recorded] == ["dose-g10", "dose-p2"]
    assert "dose-p3" in scale.recorded_slugs() and "paper" not in scale.recorded_slugs()
    # the g = 10 point is the erf baseline and the p = 2 point the default task: the same runs, not copies
    assert [c.to_dict() for c in scale.configs(scale.rung("heavy-base"), [0])] == \
        [c.to_dict() for c in scale.configs(scale.Rung("x", "heavy", "baseline", "", 1.0, {}), [0])]
    from impkit.presets import make_config
    assert scale.configs(scale.rung("heavy-base"), [0])[0].to_dict() == make_config("default", "nlgp").to_dict()
    assert [c.to_dict() for c in scale.configs(scale.rung("dose-g10"), [0])] == \
        [c.to_dict() for c in scale.configs(scale.rung("nlgp-base"), [0])]
    assert [c.to_dict() for c in scale.configs(scale.rung("dose-p2"), [0])] == \
        [c.to_dict() for c in scale.configs(scale.rung("heavy-base"), [0])]


def test_at_preset():
    r = scale.rung("heavy-base")
    assert scale.at_preset(r, "default") == ("default", {})
    assert scale.at_preset(r, "ci") == ("ci", {})
    preset, extra = scale.at_preset(scale.rung("dose-g3"), "paper")
    assert preset == "paper" and extra["model.input_dim"] == 32 * 32 and extra["data.options.g"] == 3.0
    cfg = scale.configs(scale.rung("dose-p1.5"), [0], preset, scale.at_preset(scale.rung("dose-p1.5"), "paper")[1])
    assert cfg[0].data.options["p"] == 1.5 and tuple(cfg[0].model.hidden) == (1024, 1024)
    assert cfg[0].data.options["nonlinearity"] == "power" and cfg[0].data.options["L"] == 32
    assert scale.at_preset(scale.rung("paper"), "ci") == ("paper", {})  # the paper rung keeps its preset
    with pytest.raises(ValueError, match="no paper-preset form"):
        scale.at_preset(scale.rung("photos-base"), "paper")


@pytest.fixture(scope="module")
def tiny_root(tmp_path_factory):
    return tmp_path_factory.mktemp("scale")


@pytest.fixture(scope="module")
def tiny_summary(tiny_root):
    r = scale.Rung("tiny", "heavy", "baseline", "tiny", 1.0)
    s = scale.measure(r, seeds=[0, 1], root=tiny_root, device="cpu", preset="ci", extra=TINY, cavity_inputs=300)
    cfgs = scale.configs(r, [0, 1], "ci", TINY)
    return s, train_configs(cfgs, root=tiny_root, device="cpu", progress=False)  # reused, not retrained


def test_measure_caches_its_summary_by_runs_and_settings(tiny_summary, tiny_root, monkeypatch):
    s, _ = tiny_summary
    files = sorted((tiny_root / ".summaries").glob("*.json"))
    assert len(files) == 1
    calls = []
    real = scale.summary
    monkeypatch.setattr(scale, "summary", lambda *a, **k: calls.append(k) or real(*a, **k))
    r = scale.Rung("tiny", "heavy", "baseline", "tiny", 1.0)
    again = scale.measure(r, seeds=[0, 1], root=tiny_root, device="cpu", preset="ci", extra=TINY, cavity_inputs=300)
    assert calls == [] and again["verdicts"] == s["verdicts"]          # read back, not recomputed
    few = scale.measure(r, seeds=[0, 1], root=tiny_root, device="cpu", preset="ci", extra=TINY, cavity_inputs=300,
                        every_round=False)
    assert len(calls) == 1 and few["curves"]["imp"]["rounds"] == [0, 2, 3]   # another setting, another analysis
    assert few["claims"]["C3b"]["mean"] == pytest.approx(s["claims"]["C3b"]["mean"])  # same last round
    assert len(list((tiny_root / ".summaries").glob("*.json"))) == 2


def test_summary_follows_the_claim_pages(tiny_summary):
    s, runs = tiny_summary
    assert s["format"] == "impkit.scale/2"
    assert s["network"] == [64, 16, 2] and s["steps"] == 60 and s["n_train"] == 600 and s["seeds"] == [0, 1]
    assert set(s["curves"]) == {"imp", "oneshot", "random", "imp_clone", "oneshot_clone", "random_clone"}
    # primary statistics at every round, robustness at rounds 0, middle, last
    assert s["curves"]["imp"]["rounds"] == [0, 1, 2, 3] and s["curves"]["imp"]["seeds"] == [0, 1]
    for m in scale.PRIMARY:
        assert np.asarray(s["curves"]["imp"][m]).shape == (2, 4)
    assert s["robust_curves"]["imp"]["rounds"] == [0, 2, 3]
    assert np.asarray(s["robust_curves"]["imp"]["detection"]).shape == (2, 3)
    # the claims are impkit.verdicts' on the same per-seed statistics, recomputed here from the runs
    pw = analysis.curves(analysis.paper_width_rows(runs), "sigma_paper_median")
    pm = analysis.curves(analysis.paper_width_rows(runs), "sigma_paper_mean")
    c2 = verdicts.c2(pw[verdicts.IMP]["values"][:, -1], pw[verdicts.IMP_CLONE]["values"][:, -1],
                     pw[verdicts.RANDOM_CLONE]["values"][:, -1])
    assert s["claims"]["C2a"]["mean"] == pytest.approx(c2["C2a"].mean) and s["verdicts"]["C2a"] == c2["C2a"].verdict
    assert s["claims"]["C2b"]["lo"] == pytest.approx(c2["C2b"].lo) and s["verdicts"]["C2b"] == c2["C2b"].verdict
    c3a = verdicts.c3a(pm[verdicts.IMP]["values"][:, -1], pm[verdicts.ONESHOT]["values"][:, -1])
    assert s["claims"]["C3a"]["mean"] == pytest.approx(c3a.mean)
    kc = analysis.curves(analysis.kurtosis_rows(runs), "kurt_class")
    c3b = verdicts.c3b(kc[verdicts.IMP]["values"][:, -1], kc[verdicts.ONESHOT]["values"][:, -1])
    assert s["claims"]["C3b"]["mean"] == pytest.approx(c3b.mean) and s["verdicts"]["C3b"] == c3b.verdict
    assert len(s["c4"]["on_time_share"]) == 2 and all(0 <= x <= 1 for x in s["c4"]["shuffled_share"])
    assert s["claims"]["C4"]["values"] == pytest.approx(
        list(np.subtract(s["c4"]["on_time_share"], s["c4"]["shuffled_share"])))
    assert set(s["verdicts"].values()) <= set(verdicts.VERDICTS)
    # robustness effects are oriented "more local": detection rate IMP minus random, width random minus IMP
    det = {k: np.asarray(v["detection"], float)[:, -1] for k, v in s["robust_curves"].items()}
    assert s["robustness"]["detection rate"]["IMP vs random"]["mean"] == pytest.approx(
        (det["imp"] - det["random"]).mean())
    assert s["accuracy"]["imp"]["final"]["n"] == 2
    # C3b's count-matched null: IMP's per-unit counts at random places, on C3b's axis
    assert s["kurtosis_count_null"]["seeds"] == [0, 1] and len(s["kurtosis_count_null"]["values"]) == 2
    one = np.asarray(s["curves"]["oneshot"]["kurtosis"], float)[:, -1]
    assert s["analysis_nulls"]["C3b"]["mean"] == pytest.approx(
        np.mean(np.abs(np.asarray(s["kurtosis_count_null"]["values"]) - 3) - np.abs(one - 3)))
    # heavy-tailed inputs: dense preactivations already above 3 (the clone's near 3)
    k0 = np.asarray(s["curves"]["imp"]["kurtosis"])[:, 0].mean()
    k0_clone = np.asarray(s["curves"]["imp_clone"]["kurtosis"])[:, 0].mean()
    assert k0 > k0_clone


def test_effects_and_seed_effects(tiny_summary):
    s, _ = tiny_summary
    e = scale.effects(s)
    assert e["C3b"] == pytest.approx(s["claims"]["C3b"]["mean"])
    assert e["acc_imp"] == pytest.approx(np.mean(np.asarray(s["curves"]["imp"]["accuracy"])[:, -1]))
    se = scale.seed_effects(s)
    w = {k: np.asarray(v["width_median"], float)[:, -1] for k, v in s["curves"].items()}
    np.testing.assert_allclose(se["C2a"], w["imp_clone"] - w["imp"])
    np.testing.assert_allclose(se["C2b"], w["random_clone"] - w["imp_clone"])


def test_with_seeds_judges_a_subset_as_its_own_recording(tiny_summary):
    s, _ = tiny_summary
    same = scale.claim_effects(scale.with_seeds(s, [0, 1]))
    for k, e in same.items():
        assert e.mean == pytest.approx(s["claims"][k]["mean"], nan_ok=True) and e.verdict == s["verdicts"][k]
    one = scale.with_seeds(s, [1])
    assert one["seeds"] == [1] and one["c4"]["seeds"] == [1] and s["seeds"] == [0, 1]   # the original untouched
    for cond, c in one["curves"].items():
        assert c["seeds"] == [1] and c["rounds"] == s["curves"][cond]["rounds"]
        np.testing.assert_array_equal(np.asarray(c["width_median"]), np.asarray(s["curves"][cond]["width_median"])[1:])
    assert one["c4"]["on_time_share"] == s["c4"]["on_time_share"][1:]
    assert scale.claim_effects(one)["C2b"].n == 1


def test_with_seeds_on_a_five_seed_recording():
    rec = scale.load_recorded(slugs=["nlgp-side32"])["nlgp-side32"]
    assert rec["seeds"] == [0, 1, 2, 3, 4]
    full, first3 = scale.claim_effects(rec), scale.claim_effects(scale.with_seeds(rec, [0, 1, 2]))
    assert full["C2b"].mean == pytest.approx(rec["claims"]["C2b"]["mean"]) and full["C2b"].n == 5
    assert first3["C2b"].n == 3 and first3["C4"].n == 3
    assert list(first3["C2b"].values) == pytest.approx(list(full["C2b"].values)[:3])


def test_null_pools_are_centred_and_null_effects_read_back(tiny_summary, tmp_path):
    s, _ = tiny_summary
    scale.write_summary(s, tmp_path / "dose-p1.json")
    scale.write_summary({**s, "format": "impkit.scale/1"}, tmp_path / "old.json")
    pools = scale.null_pools(tmp_path)
    assert set(pools) <= {"C2a", "C2b", "C3a", "C3b", "C4"} and pools
    for v in pools.values():
        assert abs(v.mean()) < 1e-9   # centred: resampling draws no true effect
    assert set(scale.null_effects(tmp_path)) == {"dose-p1"}
    assert scale.null_effects(tmp_path)["dose-p1"]["C2a"]["verdict"] == s["verdicts"]["C2a"]


def test_recorded_summary_roundtrip_and_provenance(tiny_summary, tmp_path, monkeypatch):
    s, _ = tiny_summary
    monkeypatch.setattr(scale, "measure", lambda r, **kw: dict(s))
    (path,) = scale.record(["nlgp-side32"], [0, 1], tmp_path / "runs", tmp_path / "rec", "cpu", ["cmd", "x"])
    assert path == tmp_path / "rec" / "nlgp-side32.json"
    raw = json.loads(path.read_text())  # strict JSON: NaN written as null
    prov = raw["provenance"]
    assert prov["command"] == "cmd x" and prov["device"] == "cpu" and prov["commit"] and prov["date"]
    assert prov["wall_s"] >= 0 and prov["torch"]
    back = scale.load_recorded(tmp_path / "rec")["nlgp-side32"]
    assert back["verdicts"] == s["verdicts"]
    np.testing.assert_array_equal(np.asarray(back["curves"]["imp"]["width_median"], float),
                                  np.asarray(s["curves"]["imp"]["width_median"], float))  # NaN survives the trip


def test_bad_recorded_file_names_file_and_fix(tmp_path):
    bad = tmp_path / "nlgp-side32.json"
    bad.write_text("{not json")
    with pytest.raises(ValueError, match=r"nlgp-side32.json: not a readable.*python -m impkit.scale record nlgp-side32"):
        scale.read_summary(bad)
    bad.write_text(json.dumps({"format": "other"}))
    with pytest.raises(ValueError, match="not a recorded summary of format impkit.scale/2 or impkit.scale/1"):
        scale.load_recorded(tmp_path)


def test_cli(capsys):
    assert scale.main(["list"]) == 0
    assert "nlgp-side32" in capsys.readouterr().out
    assert scale.main(["record", "no-such-rung"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "unknown rung 'no-such-rung'" in err


def test_source_label():
    assert scale.source_label({"curves": {}}) == "this build"
    s = {"provenance": {"date": "2026-11-24 19:55 UTC", "device": "cpu", "wall_s": 150.0}}
    assert scale.source_label(s) == "recorded 2026-11-24, cpu, 2 min"
    assert scale.source_label({**s, "minutes": 2.2}) == "recorded 2026-11-24, cpu, 2 min"   # same minute: once
    # seeds added to an earlier recording: its runs cost more than the recording's wall time
    assert scale.source_label({**s, "minutes": 11.9}) == "recorded 2026-11-24, cpu, 2 min (12 min of training)"
