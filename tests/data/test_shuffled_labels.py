"""The shuffled-label control: ``data.options.shuffle_labels`` permutes the training labels, seeded by the run."""
from __future__ import annotations

import torch

from impkit.data import load, option_types
from impkit.data.cache import data_key
from impkit.presets import make_config

OPTS = dict(n_train=600, n_test=100)


def test_train_labels_are_a_seeded_permutation_and_test_labels_stay():
    a = load("nlgp", split="train", seed=1, **OPTS)
    b = load("nlgp", split="train", seed=1, shuffle_labels=True, **OPTS)
    c = load("nlgp", split="train", seed=2, shuffle_labels=True, **OPTS)
    assert torch.equal(a.x, b.x)                                   # same inputs
    assert torch.equal(torch.bincount(a.y), torch.bincount(b.y))   # same class counts
    assert (a.y != b.y).float().mean() > 0.3                       # labels moved
    assert torch.equal(b.y, load("nlgp", split="train", seed=1, shuffle_labels=True, **OPTS).y)  # deterministic
    assert not torch.equal(b.y, c.y)                               # another seed, another permutation
    assert torch.equal(load("nlgp", split="test", seed=1, shuffle_labels=True, **OPTS).y,
                       load("nlgp", split="test", seed=1, **OPTS).y)


def test_clone_of_shuffled_labels_is_fitted_on_the_shuffled_classes():
    ds = load("nlgp-clone", split="train", seed=1, shuffle_labels=True, **OPTS)
    assert torch.equal(ds.y, load("nlgp", split="train", seed=1, shuffle_labels=True, **OPTS).y)


def test_every_declared_dataset_takes_the_option_and_the_seed_enters_the_data_key():
    for name in ("nlgp", "photos", "fashion-mnist", "nlgp-clone"):
        assert option_types(name)["shuffle_labels"] is bool
    cfg = make_config("ci", "fashion-mnist", "imp", 3, {"data.options.shuffle_labels": True})
    cfg2 = make_config("ci", "fashion-mnist", "imp", 4, {"data.options.shuffle_labels": True})
    assert data_key(cfg) != data_key(cfg2)   # fixed files, but the permutation depends on the seed
    plain = make_config("ci", "fashion-mnist", "imp", 3), make_config("ci", "fashion-mnist", "imp", 4)
    assert data_key(plain[0]) == data_key(plain[1])
