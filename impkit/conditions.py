"""Experimental conditions: a pruning method on the data or on its Gaussian clone.

A :class:`Condition` is what the analyses group runs by and what tables, curves, figures and verdicts are keyed
by. Its :attr:`~Condition.label` is the short text used in glue names and printed tables (``"imp"``,
``"imp clone"``); its :attr:`~Condition.display` is the name shown in legends, from the pruning-method registry
(:mod:`impkit.methods`: ``"IMP"``, ``"one-shot (clone)"``). Conditions sort data before clone, then by the
registry's method order (IMP, one-shot, random), which is the order of every table and legend.

For the analyses, figures and verdicts this module is the one place that tells a Gaussian clone from its dataset
name (``"<dataset>-clone"``, as :func:`impkit.data.load` names it).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Mapping, Protocol

from impkit import methods

CLONE_SUFFIX = "-clone"


class RunLike(Protocol):
    """Anything with a ``dataset`` and a pruning ``method`` name, such as a :class:`~impkit.runs.Run`."""

    dataset: str
    method: str


def is_clone(dataset: str) -> bool:
    """Whether ``dataset`` names a Gaussian clone (``"<name>-clone"``)."""
    return dataset.endswith(CLONE_SUFFIX)


@dataclass(frozen=True)
class Condition:
    """A pruning ``method`` (a registry name: ``"imp"``, ``"oneshot"``, ``"random"``, ...) applied to the data
    (``clone=False``) or to its Gaussian clone (``clone=True``). Hashable: usable as a dict key."""

    method: str
    clone: bool = False

    @classmethod
    def of(cls, dataset: str, method: str) -> Condition:
        """The condition of runs of ``method`` on ``dataset`` (a clone when ``dataset`` ends in ``-clone``)."""
        return cls(method, is_clone(dataset))

    @classmethod
    def of_run(cls, run: RunLike) -> Condition:
        """The condition of a :class:`~impkit.runs.Run` (or anything with ``dataset`` and ``method``)."""
        return cls.of(run.dataset, run.method)

    @classmethod
    def of_row(cls, row: Mapping[str, object]) -> Condition:
        """The condition of an analysis row (a dict with ``"dataset"`` and ``"method"``)."""
        return cls.of(str(row["dataset"]), str(row["method"]))

    @classmethod
    def from_label(cls, label: str) -> Condition:
        """Inverse of :attr:`label`: ``"imp"`` -> Condition("imp"), ``"imp clone"`` -> Condition("imp", True).

        For compatibility with code that still holds labels; ValueError for any other form."""
        method, sep, rest = label.strip().partition(" ")
        if not method or (sep and rest != "clone"):
            raise ValueError(f"not a condition label: {label!r} (expected '<method>' or '<method> clone')")
        return cls(method, bool(sep))

    @property
    def label(self) -> str:
        """Short text: the method name, plus ``" clone"`` on the clone (``"imp"``, ``"imp clone"``)."""
        return self.method + (" clone" if self.clone else "")

    @property
    def slug(self) -> str:
        """:attr:`label` with ``_`` for spaces, for glue and column names (``"imp_clone"``)."""
        return self.label.replace(" ", "_")

    @property
    def display(self) -> str:
        """Legend name: the registry's label of the method (the method name if unregistered), ``" (clone)"``
        appended on the clone (``"IMP"``, ``"one-shot (clone)"``)."""
        name = methods.get(self.method).label if self.method in methods.names() else self.method
        return name + (" (clone)" if self.clone else "")

    @property
    def sort_key(self) -> tuple[bool, int, str]:
        """Data before clone, then the registry's method order (unregistered methods last, by name)."""
        return (self.clone, methods.order(self.method), self.method)

    def __str__(self) -> str:
        return self.label


def sort_conditions(conditions: Iterable[Condition]) -> list[Condition]:
    """``conditions`` in the order of tables and legends (:attr:`Condition.sort_key`)."""
    return sorted(conditions, key=lambda c: c.sort_key)


__all__ = ["CLONE_SUFFIX", "Condition", "RunLike", "is_clone", "sort_conditions"]
