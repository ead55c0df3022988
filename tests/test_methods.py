"""The pruning-method registry: one registration makes a method usable everywhere."""
import numpy as np
import pytest

from impkit import methods, prune
from impkit.cli import main
from impkit.config import ConfigError
from impkit.presets import make_config
from impkit.runs import ensure_runs
from impkit.runformat import Masks

OV = {"train.steps": 60, "train.t_rewind": 10, "train.eval_every": 30, "train.checkpoint_every": 0,
      "prune.rounds": 2, "model.hidden": (16,), "data.options.n_train": 128, "data.options.n_test": 32}


@pytest.fixture
def shifted_random():
    """A test method: random masks drawn with another seed (same counts as every method)."""
    name = "test-shifted-random"

    @methods.register(name, label="shifted random", colour="#999999", help="random masks, seed + 1000",
                      global_scope=False)
    def _masks(ctx):
        return Masks.from_tensors(*prune.random_masks(ctx.shapes, ctx.prune, ctx.n, ctx.seed + 1000))

    yield name
    methods.unregister(name)


def test_paper_methods_are_registered_in_order():
    assert methods.names()[:3] == methods.PAPER_METHODS == ("imp", "oneshot", "random")
    assert methods.get("oneshot").label == "one-shot" and methods.order("random") == 2
    with pytest.raises(ValueError, match="known: imp, oneshot, random"):
        methods.get("nope")
    with pytest.raises(ValueError, match="already registered"):
        methods.register("imp", label="x", colour="x", help="x")(lambda ctx: None)


def test_one_registration_is_enough(shifted_random, tmp_path, capsys):
    cfg = make_config("ci", "toy", shifted_random, 0, OV)  # config validation knows it
    assert cfg.prune.method == shifted_random
    with pytest.raises(ConfigError, match="global scope"):
        make_config("ci", "toy", shifted_random, 0, {**OV, "prune.scope": "global"})
    runs = ensure_runs("ci", "toy", methods=("imp", shifted_random), seeds=(0,), root=tmp_path, overrides=OV,
                       progress=False)
    imp, mine = runs
    assert mine.method == shifted_random and mine.rounds_done == [0, 1, 2]
    shapes = [m.shape for m in imp.mask(0)]
    for n in (1, 2):
        assert [int(m.sum()) for m in mine.mask(n)] == [int(m.sum()) for m in imp.mask(n)]
        want, _ = prune.random_masks(shapes, cfg.prune, n, 1000)
        assert all(np.array_equal(a, b.numpy()) for a, b in zip(mine.mask(n), want))
    # the CLI lists and accepts it
    assert main(["run", "--preset", "ci", "--dataset", "toy", "--method", shifted_random, "--seed", "0",
                 "--out", str(tmp_path), "--quiet", *sum([["--set", f"{k}={v}"] for k, v in OV.items()], [])]) == 0
    assert shifted_random in capsys.readouterr().out
