"""Datasets behind one registry: ``impkit.data.load(name, root=None, split="train", **options)``.

Every loader returns a :class:`~impkit.data.base.Dataset`. A name ending in ``-clone``
(e.g. ``"nlgp-clone"``) gives the Gaussian clone of the base dataset (see
:func:`gaussian_clone`).

A loader may declare the types of its options (``register(name, options={"L": int, "xi0": float, ...})``):
:func:`check_option_types` then refuses an unknown or mistyped option by name before anything is loaded (config
validation calls it for ``data.options``, so ``--set data.options.L=abc`` fails as
``data.options.L: expected an integer, got 'abc'`` instead of deep inside the loader).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

from impkit.data.base import DataNotFoundError, Dataset

Loader = Callable[..., Dataset]
_REGISTRY: dict[str, Loader] = {}
_UNSEEDED: set[str] = set()
_OPTION_TYPES: dict[str, dict[str, Any]] = {}


def register(name: str, seeded: bool = True, options: dict[str, Any] | None = None) -> Callable[[Loader], Loader]:
    """Decorator: register ``loader(root=None, split="train", **options) -> Dataset`` under ``name``.

    ``seeded=False`` declares that the loader ignores ``seed`` (fixed files such as ImageNet32): runs of
    different seeds then share one copy of the data in memory instead of loading it once per seed.
    ``options`` maps each option the loader takes to its type (``int``, ``float``, ``bool``, ``str``,
    ``list[int]``, unions such as ``int | list[int] | None``; see :func:`impkit.overrides.matches`); None = the
    loader checks its options itself.
    """

    def deco(fn: Loader) -> Loader:
        _REGISTRY[name] = fn
        if not seeded:
            _UNSEEDED.add(name)
        if options is not None:
            _OPTION_TYPES[name] = dict(options)
        return fn

    return deco


# options every dataset takes, handled by :func:`load` around the loader
COMMON_OPTION_TYPES: dict[str, Any] = {"shuffle_labels": bool}


def shuffled_labels(ds: Dataset, seed: int) -> Dataset:
    """``ds`` with its labels permuted by a permutation seeded from ``seed`` (same rows, same class counts): the
    shuffled-label control, where the inputs keep every statistic and the labels carry none of them."""
    import dataclasses

    import torch

    from impkit.seeding import derive_seed

    g = torch.Generator().manual_seed(derive_seed(seed, "shuffle_labels"))
    perm = torch.randperm(len(ds.y), generator=g).to(ds.y.device)
    info = {**ds.info, "labels": "shuffled (seeded permutation of the split's labels)"}
    return dataclasses.replace(ds, y=ds.y[perm].clone(), info=info)


def option_types(name: str) -> dict[str, Any] | None:
    """The declared option types of dataset ``name`` (a ``"<base>-clone"``: the base's plus the clone options),
    or None when its loader declares none."""
    _import_loaders()
    if name.endswith("-clone") and name not in _REGISTRY:
        base = option_types(name[: -len("-clone")])
        if base is None:
            return None
        from impkit.data.clone import CLONE_OPTION_TYPES

        return {**base, **CLONE_OPTION_TYPES}
    own = _OPTION_TYPES.get(name)
    return None if own is None else {**own, **COMMON_OPTION_TYPES}


def check_option_types(name: str, options: dict, prefix: str = "data.options.", unknown: bool = True) -> None:
    """ValueError naming ``<prefix><key>`` (e.g. ``data.options.L``) if an option of dataset ``name`` is of the wrong
    type, or (``unknown``) not one of its options; only for loaders that declare their option types. The options
    themselves are not changed."""
    from impkit.overrides import describe, matches

    types_ = option_types(name)
    if types_ is None:
        return
    for key, value in options.items():
        if key not in types_:
            if not unknown:
                continue
            raise ValueError(f"{prefix}{key}: unknown option of dataset {name!r}; valid options: "
                             f"{', '.join(sorted(types_))}")
        if not matches(value, types_[key]):
            raise ValueError(f"{prefix}{key}: expected {describe(types_[key])}, got {value!r}")


def check_root(root: str | Path | None, setting: str = "data.root") -> None:
    """DataNotFoundError naming ``setting`` if an explicitly given data directory is not one (None: the loader's
    default search). ``setting`` "data.root" (a run's config) or "root" (the argument of :func:`load`)."""
    if root is not None and not Path(root).is_dir():
        what = "is a file, not a directory" if Path(root).exists() else "does not exist"
        how = "--set data.root=DIR" if setting == "data.root" else f"{setting}=DIR"
        raise DataNotFoundError(f"{setting}: {root} {what}; point it at the directory that holds the dataset's "
                                f"files ({how}) or leave it unset to search $IMPKIT_DATA and the default locations")


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

    for mod in ("imagenet32", "nlgp", "photos", "fashion_mnist", "translated", "longrange", "clone"):
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
    # types here, unknown names in the loader (its message lists the valid options)
    check_option_types(name, options, f"{name} option ", unknown=False)
    # shuffle_labels: the training split's labels are permuted (seeded by the run's seed); the test split keeps
    # its labels, so test accuracy shows what the inputs alone let a network predict (chance)
    shuffle = bool(options.pop("shuffle_labels", False))
    ds = _REGISTRY[name](root=root, split=split, **options)
    if shuffle and split == "train":
        ds = shuffled_labels(ds, int(options.get("seed", 0)))
    return ds


def gaussian_clone(ds: Dataset, seed: int = 0, **options) -> Dataset:
    """Gaussian clone of ``ds`` (same class means and covariances, no higher cumulants)."""
    from impkit.data.clone import gaussian_clone as _gc

    return _gc(ds, seed=seed, **options)


__all__ = ["Dataset", "DataNotFoundError", "load", "shuffled_labels", "COMMON_OPTION_TYPES", "gaussian_clone", "register", "names", "uses_seed",
           "option_types", "check_option_types", "check_root"]
