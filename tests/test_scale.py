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
    slugs = [r.slug for r in scale.LADDER + scale.DOSE]
    assert len(slugs) == len(set(slugs))
    for r in scale.LADDER + scale.DOSE:
        for cfg in scale.configs(r, seeds=[0]):
            validate(cfg)  # every rung is a valid config of its preset
        assert r.task in scale.TASKS and scale.rung(r.slug) is r
    # every factor of the issue is on the ladder, for the default task
    assert {r.factor for r in scale.LADDER if r.task == "nlgp"} >= {"baseline", "side", "width", "steps", "data", "all"}
    with pytest.raises(ValueError, match="unknown rung 'nope'; known: nlgp-base"):
        scale.rung("nope")


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
def tiny_summary(tmp_path_factory):
    root = tmp_path_factory.mktemp("scale")
    r = scale.Rung("tiny", "heavy", "baseline", "tiny", 1.0)
    s = scale.measure(r, seeds=[0, 1], root=root, device="cpu", preset="ci", extra=TINY, cavity_inputs=300)
    cfgs = scale.configs(r, [0, 1], "ci", TINY)
    return s, train_configs(cfgs, root=root, device="cpu", progress=False)  # reused, not retrained


def test_summary_follows_the_claim_pages(tiny_summary):
    s, runs = tiny_summary
    assert s["network"] == [64, 16, 2] and s["steps"] == 60 and s["n_train"] == 600 and s["seeds"] == [0, 1]
    assert set(s["curves"]) == {"imp", "oneshot", "random", "imp_clone", "oneshot_clone", "random_clone"}
    assert np.asarray(s["curves"]["imp"]["detection"]).shape == (2, 3)  # seeds x rounds 0, middle, last
    assert s["curves"]["imp"]["rounds"] == [0, 2, 3]
    # the verdicts are those of impkit.verdicts on the same rows (as notebooks 04 and 05 compute them)
    loc = analysis.rf_width_rows(runs)
    det = analysis.final_summary(loc, "frac_detected")
    li = analysis.final_summary(loc, "li_mean")
    w = verdicts.widths_where_detected(analysis.final_summary(loc, "sigma_x_mean"), det)
    res = verdicts.locality({"RF width": w, "detection rate": det, "locality index": li})
    assert s["verdicts"]["C2"] == res.c2_verdict and s["verdicts"]["C3 locality"] == res.c3_verdict
    kc = analysis.curves(analysis.kurtosis_rows(runs), "kurt_class")
    kv = verdicts.c3_kurtosis(kc[verdicts.IMP]["values"], kc[verdicts.ONESHOT]["values"])
    assert s["verdicts"]["C3 kurtosis"] == kv.verdict
    assert s["verdicts"]["C4"] in verdicts.VERDICTS and 0 <= s["c4"]["hits"] <= s["c4"]["total"]
    assert s["effects"]["det_imp_random"] == pytest.approx(det[Condition("imp")]["mean"] - det[Condition("random")]["mean"])
    # heavy-tailed inputs: dense preactivations already above 3 (the clone's near 3)
    k0 = np.asarray(s["curves"]["imp"]["kurtosis"])[:, 0].mean()
    k0_clone = np.asarray(s["curves"]["imp_clone"]["kurtosis"])[:, 0].mean()
    assert k0 > k0_clone


def test_effects_arithmetic():
    final = {"detection": {"imp": {"mean": 0.7}, "random": {"mean": 0.05}, "oneshot": {"mean": 0.5},
                           "imp_clone": {"mean": 0.6}},
             "li": {"imp": {"mean": 3.0}, "random": {"mean": 1.0}, "oneshot": {"mean": 3.5}, "imp_clone": {"mean": 2.0}},
             "width": {"imp": {"mean": 5.0}, "oneshot": {"mean": float("nan")}, "imp_clone": {"mean": 6.5}},
             "accuracy": {"imp": {"mean": 0.9}}, "kurtosis": {"imp": {"mean": 4.5}, "oneshot": {"mean": 4.0}}}
    s = {"final": final, "curves": {"imp": {"kurtosis": [[3.5, 4.0], [3.7, 5.0]], "accuracy": [[0.8, 0.9]]}},
         "kurtosis_gap": [0.0, 0.5], "c4": {"hits": 3, "total": 4}}
    e = scale.effects(s)
    assert e["det_imp_random"] == pytest.approx(0.65) and e["det_data_clone"] == pytest.approx(0.1)
    assert e["li_imp_oneshot"] == pytest.approx(-0.5) and math.isnan(e["width_oneshot_imp"])
    assert e["width_clone_imp"] == pytest.approx(1.5) and e["kurt_imp_change"] == pytest.approx(4.5 - 3.6)
    assert e["kurt_gap"] == 0.5 and e["c4_hits"] == 0.75 and e["acc_dense"] == pytest.approx(0.8)


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
    np.testing.assert_array_equal(np.asarray(back["curves"]["imp"]["width"], float),
                                  np.asarray(s["curves"]["imp"]["width"], float))  # NaN survives the trip


def test_bad_recorded_file_names_file_and_fix(tmp_path):
    bad = tmp_path / "nlgp-side32.json"
    bad.write_text("{not json")
    with pytest.raises(ValueError, match=r"nlgp-side32.json: not a readable.*python -m impkit.scale record nlgp-side32"):
        scale.read_summary(bad)
    bad.write_text(json.dumps({"format": "other"}))
    with pytest.raises(ValueError, match="not a recorded summary of format impkit.scale/1"):
        scale.load_recorded(tmp_path)


def test_cli(capsys):
    assert scale.main(["list"]) == 0
    assert "nlgp-side32" in capsys.readouterr().out
    assert scale.main(["record", "no-such-rung"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "unknown rung 'no-such-rung'" in err


def test_seed_effects_pair_conditions_by_seed(tiny_summary):
    s, _ = tiny_summary
    se = scale.seed_effects(s)
    det = {k: np.asarray(v["detection"], float)[:, -1] for k, v in s["curves"].items()}
    np.testing.assert_allclose(se["det_imp_random"], det["imp"] - det["random"])
    assert se["det_data_clone"].mean() == pytest.approx(s["effects"]["det_data_clone"])
    k = np.asarray(s["curves"]["imp"]["kurtosis"], float)
    np.testing.assert_allclose(se["kurt_imp_change"], k[:, -1] - k[:, 0])
    assert se["kurt_gap"][-1] == pytest.approx(
        abs(k[-1, -1] - 3) - abs(np.asarray(s["curves"]["oneshot"]["kurtosis"], float)[-1, -1] - 3))


def test_source_label():
    assert scale.source_label({"curves": {}}) == "this build"
    s = {"provenance": {"date": "2026-11-24 19:55 UTC", "device": "cpu", "wall_s": 150.0}}
    assert scale.source_label(s) == "recorded 2026-11-24, cpu, 2 min"
