"""The datasets of runs, loaded once per process.

:func:`run_data` is how the training driver, the memory plan and :meth:`impkit.runs.Run.load_data` get a run's
data: ``impkit.data.load(cfg.data.name, root=cfg.data.root, split=split, seed=cfg.seed, **cfg.data.options)``,
cached per (name, root, options, split) and, for loaders that use it, the seed -- so the runs of every seed on
fixed files (ImageNet32) share one copy in memory, and analysing many runs loads each dataset once.
"""
from __future__ import annotations

import json

from impkit.data.base import Dataset

MAX_ENTRIES = 16  # datasets kept (the paper's 18 runs need 2 splits x (1 ImageNet32 + 3 clones) = 8)
_CACHE: dict[str, Dataset] = {}


def data_key(cfg, split: str | None = None) -> str:
    """Identity of a run's data (``split`` None: both splits): equal keys, equal data."""
    from impkit.data import uses_seed

    # shuffled labels depend on the seed whatever the loader (the permutation is seeded by the run)
    seed = cfg.seed if uses_seed(cfg.data.name) or cfg.data.options.get("shuffle_labels") else None
    return json.dumps([cfg.data.name, cfg.data.root, cfg.data.options, seed, split], sort_keys=True, default=str)


def run_data(cfg, split: str) -> Dataset:
    """Split ``split`` ("train" or "test") of the data of the run configured by ``cfg`` (a RunConfig)."""
    from impkit.data import load

    key = data_key(cfg, split)
    if key not in _CACHE:
        if len(_CACHE) >= MAX_ENTRIES:
            _CACHE.clear()
        _CACHE[key] = load(cfg.data.name, root=cfg.data.root, split=split, seed=cfg.seed, **cfg.data.options)
    return _CACHE[key]


def is_loaded(cfg, split: str) -> bool:
    """Whether split ``split`` of the data of ``cfg`` is already loaded (in memory) in this process."""
    return data_key(cfg, split) in _CACHE


def clear() -> None:
    """Forget every cached dataset (frees their memory once nothing else holds them)."""
    _CACHE.clear()


__all__ = ["run_data", "data_key", "is_loaded", "clear"]
