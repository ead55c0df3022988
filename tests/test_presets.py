"""Presets: their settings, data options, seeds, analysis sizes and smoke passes."""
import pytest

from impkit.config import ConfigError
from impkit.presets import (DEFAULT_SEEDS, PRESETS, SMOKE, analysis_setting, data_options, make_config, preset_dataset,
                            preset_seeds, smoke)

ANALYSIS_KEYS = {"ica_source", "ica_patches", "clone_fit_rows", "cavity_inputs"}


def test_paper_preset_is_table_s1():
    c = make_config("paper", validate_config=False)
    assert c.data.name == "imagenet32"
    assert list(c.model.hidden) == [1024, 1024] and c.model.input_dim == 3072 and c.model.output_dim == 1000
    assert (c.model.activation, c.model.init) == ("relu", "uniform")
    t = c.train
    assert (t.lr, t.batch, t.steps, t.t_rewind) == (0.1, 40, 40000, 1000)
    assert (c.prune.rate, c.prune.rounds, c.prune.output_rate_value) == (0.3, 10, 0.15)
    assert preset_seeds("paper") == [0, 1, 2]


def test_paper_clone_is_per_channel():
    """Paper App. B.1: the clone is fitted per class and per colour channel; the data themselves get no clone option."""
    assert make_config("paper", "imagenet32-clone").data.options["per_channel"] is True
    assert "per_channel" not in make_config("paper", "imagenet32").data.options


def test_clone_options_merge_over_base_options(monkeypatch):
    monkeypatch.setitem(PRESETS, "merge-test", {
        "dataset": "toy",
        "data_options": {"toy": {"n_train": 64, "n_test": 32}, "toy-clone": {"n_test": 16, "shrinkage": 0.1}},
        "model": {"hidden": [8]}, "train": {"steps": 20, "t_rewind": 5}, "prune": {"rounds": 1}})
    assert make_config("merge-test", "toy").data.options == {"n_train": 64, "n_test": 32}
    # base options flow to the clone; the clone's own entry adds options and wins on shared keys
    assert make_config("merge-test", "toy-clone").data.options == {"n_train": 64, "n_test": 16, "shrinkage": 0.1}
    assert data_options("merge-test", "toy-clone") == {"n_train": 64, "n_test": 16, "shrinkage": 0.1}
    # a preset without a -clone entry gives its clones exactly the base options
    assert make_config("default", "nlgp-clone").data.options == make_config("default", "nlgp").data.options


def test_seeds_come_from_the_preset(monkeypatch):
    assert preset_seeds("ci") == [0, 1] and preset_seeds("default") == [0, 1, 2]
    monkeypatch.setitem(PRESETS, "no-seeds", {"dataset": "toy"})
    assert preset_seeds("no-seeds") == list(DEFAULT_SEEDS)
    seeds = preset_seeds("ci")
    seeds.append(99)  # a copy: the preset is not changed through it
    assert preset_seeds("ci") == [0, 1]


def test_preset_dataset():
    assert [preset_dataset(p) for p in ("ci", "default", "paper")] == ["nlgp", "nlgp", "imagenet32"]
    assert make_config("paper", validate_config=False).data.name == preset_dataset("paper")


@pytest.mark.parametrize("preset", list(PRESETS))
def test_every_preset_sizes_every_analysis(preset):
    assert set(PRESETS[preset]["analysis"]) == ANALYSIS_KEYS
    assert analysis_setting(preset, "ica_source") in ("photos", "imagenet32")
    for key in ANALYSIS_KEYS - {"ica_source"}:
        value = analysis_setting(preset, key)
        assert isinstance(value, int) and value > 0, key


def test_analysis_settings_of_the_presets():
    """The sizes the notebooks used before they read them from the preset."""
    assert [analysis_setting(p, "ica_patches") for p in ("ci", "default", "paper")] == [5000, 30000, 50000]
    assert [analysis_setting(p, "clone_fit_rows") for p in ("ci", "default", "paper")] == [2000, 10000, 10000]
    assert [analysis_setting(p, "ica_source") for p in ("ci", "default", "paper")] == ["photos", "photos", "imagenet32"]


def test_analysis_setting_errors():
    with pytest.raises(ConfigError, match=r"analysis\.no_such_size.*clone_fit_rows"):
        analysis_setting("ci", "no_such_size")
    with pytest.raises(ConfigError, match="preset"):
        analysis_setting("nope", "clone_fit_rows")


def test_analysis_sizes_do_not_change_run_identity(monkeypatch):
    from impkit.config import run_name

    before = run_name(make_config("ci", "toy"))
    monkeypatch.setitem(PRESETS["ci"], "analysis", {**PRESETS["ci"]["analysis"], "clone_fit_rows": 7})
    assert run_name(make_config("ci", "toy")) == before


def test_smoke_pass():
    sm = smoke("paper")
    assert sm == SMOKE["paper"] and set(sm["seeds"]) <= set(preset_seeds("paper"))
    sm["overrides"]["train.steps"] = 1  # a copy
    assert SMOKE["paper"]["overrides"]["train.steps"] != 1
    with pytest.raises(ConfigError, match="smoke"):
        smoke("ci")


def test_unknown_preset():
    for fn in (make_config, preset_seeds, preset_dataset):
        with pytest.raises(ConfigError, match="preset"):
            fn("nope")


# ---------------------------------------------------------------------------------------------------------------
# describe(): the words the book's prose uses for the preset of a build
# ---------------------------------------------------------------------------------------------------------------
def test_describe_the_ci_preset_from_its_data():
    from impkit.presets import describe

    d = describe("ci")  # loads the ci test split (1,000 NLGP samples of 16x16)
    assert (d.preset, d.dataset, d.seeds, d.n_seeds) == ("ci", "nlgp", (0, 1), 2)
    assert d.input_shape == (1, 16, 16) and d.input_text == "16×16"
    assert d.network == (256, 64, 2) and d.network_text == "256:64:2"
    assert (d.steps, d.t_rewind, d.rounds, d.rate) == (400, 100, 10, 0.3)
    assert d.seeds_text == "two seeds" and d.dataset_text == "NLGP"
    assert d.task_text == "16×16 non-linear Gaussian process (NLGP) inputs, 2 classes"
    assert d.sentence.startswith("the `ci` preset: two seeds, a 256:64:2 network on 16×16")
    assert "400 SGD steps per round, 10 rounds of 30% pruning" in d.sentence


def test_describe_follows_seeds_overrides_and_the_data_given():
    import torch

    from impkit.data.base import Dataset
    from impkit.presets import describe

    rgb = Dataset(x=torch.zeros(4, 3 * 32 * 32), y=torch.tensor([0, 1, 2, 3]), image_shape=(3, 32, 32),
                  num_classes=4, name="rgb")
    d = describe("default", overrides={"train.steps": 2000 * 2, "model.hidden": [32, 16]}, seeds=[5], data=rgb)
    assert d.seeds == (5,) and d.seeds_text == "one seed" and d.steps == 4000
    assert d.input_text == "3×32×32" and d.network_text == "3072:32:16:4"
    # the paper preset's output width comes from its config (1000 classes), not from the data's class count
    assert describe("paper", data=rgb).network_text == "3072:1024:1024:1000"
    assert describe("paper", data=rgb).seeds_text == "three seeds"
