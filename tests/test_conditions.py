"""impkit.conditions: a method on the data or on its Gaussian clone, as a value type."""
from __future__ import annotations

from types import SimpleNamespace

import pytest

from impkit import methods
from impkit.conditions import CLONE_SUFFIX, Condition, is_clone, sort_conditions


def test_labels_are_todays_strings():
    assert Condition("imp").label == "imp" and str(Condition("imp")) == "imp"
    assert Condition("imp", clone=True).label == "imp clone"
    assert Condition("oneshot", True).slug == "oneshot_clone" and Condition("random").slug == "random"


def test_of_run_and_row_read_the_clone_from_the_dataset_name():
    assert is_clone("nlgp" + CLONE_SUFFIX) and not is_clone("nlgp") and not is_clone("clone-of-nothing")
    run = SimpleNamespace(dataset="nlgp-clone", method="oneshot")
    assert Condition.of_run(run) == Condition("oneshot", True)
    assert Condition.of_row({"dataset": "nlgp", "method": "imp", "seed": 0}) == Condition("imp", False)
    assert Condition.of("imagenet32-clone", "random") == Condition("random", clone=True)


def test_from_label_inverts_label():
    for c in (Condition("imp"), Condition("imp", True), Condition("random", True)):
        assert Condition.from_label(c.label) == c
    for bad in ("", "imp copy", "imp clone extra"):
        with pytest.raises(ValueError):
            Condition.from_label(bad)


def test_frozen_and_hashable():
    c = Condition("imp")
    with pytest.raises(AttributeError):
        c.clone = True
    assert {Condition("imp"): 1}[Condition("imp", False)] == 1
    assert Condition("imp") != Condition("imp", True) and Condition("imp") != "imp"


def test_display_comes_from_the_registry():
    assert Condition("imp").display == methods.get("imp").label
    assert Condition("oneshot", True).display == methods.get("oneshot").label + " (clone)"
    assert Condition("not-a-method").display == "not-a-method"


def test_sort_order_data_first_then_registry_order():
    names = methods.names()
    shuffled = [Condition("zzz"), Condition(names[-1], True), Condition(names[0], True), Condition(names[-1]),
                Condition(names[0])]
    assert sort_conditions(shuffled) == [Condition(names[0]), Condition(names[-1]), Condition("zzz"),
                                         Condition(names[0], True), Condition(names[-1], True)]
    assert [c.method for c in sort_conditions(Condition(m) for m in reversed(names))] == list(names)
