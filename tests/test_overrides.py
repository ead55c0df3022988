"""Dotted overrides, typed from the config dataclasses' annotations."""
import math

import numpy as np
import pytest

from impkit.config import ConfigError, RunConfig
from impkit.overrides import apply_overrides


def ov(**kw):
    return apply_overrides(RunConfig(), {k.replace("__", "."): v for k, v in kw.items()})


@pytest.mark.parametrize("key,raw,attr,expected", [
    # int
    ("train.steps", "2000", "train.steps", 2000),
    ("train.steps", " 2000 ", "train.steps", 2000),
    ("seed", "3", "seed", 3),
    # float
    ("train.lr", "0.05", "train.lr", 0.05),
    ("prune.rate", "0.2", "prune.rate", 0.2),
    # bool
    ("prune.prune_bias", "true", "prune.prune_bias", True),
    ("model.input_bn", "Yes", "model.input_bn", True),
    ("train.mask_forward", "0", "train.mask_forward", False),
    ("train.mask_forward", "off", "train.mask_forward", False),
    # str (a str field keeps "none" as the word: train.compile=none is a valid choice)
    ("model.init", "glorot_normal", "model.init", "glorot_normal"),
    ("train.compile", "none", "train.compile", "none"),
    ("train.device", "cpu", "train.device", "cpu"),
    # int | None
    ("model.input_dim", "3072", "model.input_dim", 3072),
    ("model.output_dim", "none", "model.output_dim", None),
    # float | None
    ("prune.output_rate", "0.1", "prune.output_rate", 0.1),
    ("prune.output_rate", "0", "prune.output_rate", 0.0),
    ("prune.output_rate", "none", "prune.output_rate", None),
    ("prune.output_rate", "Null", "prune.output_rate", None),
    # str | None
    ("data.root", "/data/imagenet32", "data.root", "/data/imagenet32"),
    ("data.root", "none", "data.root", None),
    # tuple of ints
    ("model.hidden", "64,32", "model.hidden", (64, 32)),
    ("model.hidden", "64:32", "model.hidden", (64, 32)),
    ("model.hidden", "[1024, 1024]", "model.hidden", (1024, 1024)),
    ("model.hidden", "128", "model.hidden", (128,)),
    # dict
    ("data.options", '{"g": 3.0}', "data.options", {"g": 3.0}),
])
def test_strings_are_parsed_by_annotation(key, raw, attr, expected):
    c = apply_overrides(RunConfig(), {key: raw})
    sec, _, name = attr.rpartition(".")
    value = getattr(getattr(c, sec), name) if sec else getattr(c, name)
    assert value == expected and type(value) is type(expected)


@pytest.mark.parametrize("key,raw,words", [
    ("train.steps", "abc", "expected an integer, got 'abc'"),
    ("train.steps", "2.5", "expected an integer"),
    ("train.steps", "none", "expected an integer"),
    ("seed", "x", "expected an integer"),
    ("train.lr", "fast", "expected a number, got 'fast'"),
    ("prune.prune_bias", "maybe", "expected a boolean"),
    ("model.input_dim", "wide", "expected an integer or none, got 'wide'"),
    ("prune.output_rate", "half", "expected a number or none"),
    ("model.hidden", "64,x", "expected a tuple of integers"),
    ("data.options", "[1, 2]", "expected a JSON object"),
    ("data.options", "{bad json", "expected a JSON object"),
])
def test_bad_strings_name_setting_and_type(key, raw, words):
    with pytest.raises(ConfigError) as err:
        apply_overrides(RunConfig(), {key: raw})
    msg = str(err.value)
    assert msg.startswith(f"{key}: ") and words in msg


@pytest.mark.parametrize("key,value", [
    ("train.steps", 2000), ("train.lr", 0.05), ("train.lr", 1), ("prune.output_rate", 0),
    ("prune.output_rate", 0.1), ("prune.output_rate", None), ("model.input_dim", 3072), ("model.input_dim", None),
    ("prune.prune_bias", True), ("model.init", "glorot_normal"), ("seed", 4), ("data.options", {"g": 1.0}),
])
def test_typed_values_pass_through(key, value):
    c = apply_overrides(RunConfig(), {key: value})
    sec, _, name = key.rpartition(".")
    got = getattr(getattr(c, sec), name) if sec else getattr(c, name)
    assert got == value and type(got) is type(value)  # an int for a float field stays an int (run identity)


def test_typed_sequences_and_numpy_scalars():
    assert ov(model__hidden=[64, 32]).model.hidden == (64, 32)
    assert ov(model__hidden=(16,)).model.hidden == (16,)
    c = ov(train__steps=np.int64(500), seed=np.int32(2))
    assert (c.train.steps, c.seed) == (500, 2) and type(c.train.steps) is int and type(c.seed) is int


@pytest.mark.parametrize("key,value,words", [
    ("train.steps", 2.5, "expected an integer, got 2.5"),
    ("train.steps", True, "expected an integer"),
    ("train.steps", None, "expected an integer, got None"),
    ("train.lr", "0.1".encode(), "expected a number"),
    ("prune.prune_bias", 1, "expected a boolean"),
    ("model.hidden", [64, "x"], "expected a tuple of integers"),
    ("model.init", 3, "expected a string"),
])
def test_wrongly_typed_values_are_refused(key, value, words):
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")) as err:
        apply_overrides(RunConfig(), {key: value})
    assert words in str(err.value)


def test_non_finite_floats_parse_and_are_left_to_validation():
    assert math.isinf(ov(train__lr="inf").train.lr)


def test_data_options_are_free_form():
    c = ov(data__options__xi0="1.5", data__options__n_train="100", data__options__flag="true",
           data__options__name="abc", data__options__shape="[1, 2]", data__options__g=3)
    assert c.data.options == {"xi0": 1.5, "n_train": 100, "flag": True, "name": "abc", "shape": [1, 2], "g": 3}


def test_unknown_settings():
    for key in ("train.stepz", "nosuch.steps", "steps", "train.steps.x"):
        with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
            apply_overrides(RunConfig(), {key: "1"})


def test_overrides_return_a_new_config():
    base = RunConfig()
    out = apply_overrides(base, {"train.steps": "10", "data.options.g": "2"})
    assert base.train.steps == 4000 and base.data.options == {} and out.train.steps == 10
    assert base.replace(**{"train.steps": "10"}) == RunConfig.from_dict({**base.to_dict(), "train": {
        **base.to_dict()["train"], "steps": 10}})


@pytest.mark.parametrize("hint,words", [
    (int, "an integer"), (float | None, "a number or none"), (list[str] | None, "a list of strings or none"),
    (int | list[int] | None, "an integer, a list of integers or none"),
])
def test_describe(hint, words):
    from impkit.overrides import describe

    assert describe(hint) == words


@pytest.mark.parametrize("value,hint,ok", [
    (3, int, True), (True, int, False), (3.0, int, False), (np.int64(3), int, True), (3, float, True),
    (True, float, False), ("3", float, False), (True, bool, True), (1, bool, False), (None, str | None, True),
    ([1, 2], list[int], True), ((1, 2), list[int], True), ([1, "2"], list[int], False), ("ab", list[str], False),
    (5, int | list[int] | None, True), ([5], int | list[int] | None, True), ("5", int | list[int] | None, False),
])
def test_matches_checks_without_converting(value, hint, ok):
    from impkit.overrides import matches

    assert matches(value, hint) is ok
