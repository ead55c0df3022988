"""Datasets behind one registry: ``impkit.data.load(name, root=None, split="train", **options)``.

Every loader returns a :class:`~impkit.data.base.Dataset`. A name ending in ``-clone``
(e.g. ``"nlgp-clone"``) gives the Gaussian clone of the base dataset (see
:func:`gaussian_clone`).
"""
from __future__ import annotations

from typing import Callable

from impkit.data.base import DataNotFoundError, Dataset

Loader = Callable[..., Dataset]
_REGISTRY: dict[str, Loader] = {}
_UNSEEDED: set[str] = set()


def register(name: str, seeded: bool = True) -> Callable[[Loader], Loader]:
    """Decorator: register ``loader(root=None, split="train", **options) -> Dataset`` under ``name``.

    ``seeded=False`` declares that the loader ignores ``seed`` (fixed files such as ImageNet32): runs of
    different seeds then share one copy of the data in memory instead of loading it once per seed.
    """

    def deco(fn: Loader) -> Loader:
        _REGISTRY[name] = fn
        if not seeded:
            _UNSEEDED.add(name)
        return fn

    return deco


def uses_seed(name: str) -> bool:
    """Whether ``load(name, seed=...)`` depends on the seed (always true for a ``-clone``)."""
    _import_loaders()
    return name.endswith("-clone") or name not in _UNSEEDED


def names() -> list[str]:
    """Registered dataset names (clones are available as ``<name>-clone``)."""
    _import_loaders()
    return sorted(_REGISTRY)


def _import_loaders() -> None:
    # Loaders register themselves on import; imported lazily so `import impkit` stays fast.
    import importlib

    for mod in ("imagenet32", "nlgp", "photos", "fashion_mnist", "clone"):
        try:
            importlib.import_module(f"impkit.data.{mod}")
        except ModuleNotFoundError as e:  # a loader module not written yet
            if e.name != f"impkit.data.{mod}":
                raise


def load(name: str, root: str | None = None, split: str = "train", **options) -> Dataset:
    """Load split ``split`` ("train" or "test") of dataset ``name``; see each loader for ``options``."""
    _import_loaders()
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    if name.endswith("-clone") and name not in _REGISTRY:
        from impkit.data.clone import load_clone

        return load_clone(name[: -len("-clone")], root=root, split=split, **options)
    if name not in _REGISTRY:
        raise ValueError(f"unknown dataset {name!r}; known: {', '.join(sorted(_REGISTRY))} (and '<name>-clone')")
    return _REGISTRY[name](root=root, split=split, **options)


def gaussian_clone(ds: Dataset, seed: int = 0, **options) -> Dataset:
    """Gaussian clone of ``ds`` (same class means and covariances, no higher cumulants)."""
    from impkit.data.clone import gaussian_clone as _gc

    return _gc(ds, seed=seed, **options)


__all__ = ["Dataset", "DataNotFoundError", "load", "gaussian_clone", "register", "names", "uses_seed"]
