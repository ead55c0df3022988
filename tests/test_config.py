import json

import pytest

from impkit.config import (PRESETS, ConfigError, RunConfig, apply_overrides, check_against_data, config_hash,
                           make_config, run_name, validate)


def test_paper_preset_is_table_s1():
    c = make_config("paper", validate_config=False)
    assert c.data.name == "imagenet32"
    assert list(c.model.hidden) == [1024, 1024] and c.model.input_dim == 3072 and c.model.output_dim == 1000
    assert (c.model.activation, c.model.init) == ("relu", "uniform")
    t = c.train
    assert (t.lr, t.batch, t.steps, t.t_rewind) == (0.1, 40, 40000, 1000)
    assert (c.prune.rate, c.prune.rounds, c.prune.output_rate_value) == (0.3, 10, 0.15)
    assert PRESETS["paper"]["seeds"] == [0, 1, 2]


@pytest.mark.parametrize("key,value,field", [
    ("prune.rate", "1.5", "prune.rate"),
    ("prune.rate", "0", "prune.rate"),
    ("train.t_rewind", "4000", "train.t_rewind"),
    ("train.batch", "0", "train.batch"),
    ("model.init", "xavier", "model.init"),
    ("prune.method", "magic", "prune.method"),
    ("prune.output_rate", "1.0", "prune.output_rate"),
])
def test_validation_names_field(key, value, field):
    with pytest.raises(ConfigError, match=field.replace(".", r"\.")):
        make_config("ci", "toy", overrides={key: value, "train.steps": "4000"} if key != "train.t_rewind"
                    else {key: value, "train.steps": "4000"})


def test_unknown_dataset_and_setting():
    with pytest.raises(ConfigError, match=r"data\.name"):
        make_config("ci", "no-such-data")
    with pytest.raises(ConfigError, match=r"train\.stepz"):
        make_config("ci", "toy", overrides={"train.stepz": "3"})
    with pytest.raises(ConfigError, match="preset"):
        make_config("nope")


def test_widths_must_match_data():
    c = make_config("ci", "toy", overrides={"model.input_dim": "100"})
    with pytest.raises(ConfigError, match=r"model\.input_dim"):
        check_against_data(c, 64, 2)
    c = make_config("ci", "toy", overrides={"model.output_dim": "10"})
    with pytest.raises(ConfigError, match=r"model\.output_dim"):
        check_against_data(c, 64, 2)
    check_against_data(make_config("ci", "toy"), 64, 2)


def test_overrides_are_typed():
    c = apply_overrides(RunConfig(), {"train.steps": "2000", "model.hidden": "64,32", "prune.prune_bias": "true",
                                      "data.options.xi0": "1.5", "prune.output_rate": "0", "seed": "3"})
    assert c.train.steps == 2000 and c.model.hidden == (64, 32) and c.prune.prune_bias is True
    assert c.data.options["xi0"] == 1.5 and c.prune.output_rate == 0.0 and c.seed == 3
    with pytest.raises(ConfigError, match=r"train\.steps"):
        apply_overrides(RunConfig(), {"train.steps": "many"})


def test_json_round_trip():
    c = make_config("paper", method="random", seed=2, validate_config=False)
    c2 = RunConfig.from_json(c.to_json())
    assert c2 == c
    assert json.loads(c2.to_json()) == json.loads(c.to_json())


def test_hash_and_name():
    a = make_config("ci", "toy", seed=0)
    assert config_hash(a) == config_hash(make_config("ci", "toy", seed=0))
    assert config_hash(a) != config_hash(make_config("ci", "toy", seed=1))
    assert config_hash(a) != config_hash(make_config("ci", "toy", overrides={"train.lr": "0.05"}))
    # device does not change what is computed
    assert config_hash(a) == config_hash(make_config("ci", "toy", overrides={"train.device": "cpu"}))
    assert run_name(a).startswith("toy-imp-s0-")
    validate(a)


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
    # a preset without a -clone entry gives its clones exactly the base options
    assert make_config("default", "nlgp-clone").data.options == make_config("default", "nlgp").data.options
