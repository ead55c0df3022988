"""impkit: iterative magnitude pruning and local receptive fields in fully connected networks.

A research companion to Redman, Wang, Ingrosso & Goldt (2024). The public surface::

    import impkit
    ds = impkit.data.load("nlgp", split="train", seed=0)          # datasets; "<name>-clone" for a Gaussian clone
    clone = impkit.data.gaussian_clone(ds, seed=0)
    impkit.metrics.rf_width(masks, ds.image_shape)                 # the paper's measurements
    runs = impkit.runs.ensure_runs("ci", "nlgp", clone=True)       # train what is missing, load run directories

Submodules are imported on first use (``import impkit`` stays fast); ARCHITECTURE.md says which module owns what.
"""
from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_SUBMODULES = ("analysis", "cli", "conditions", "config", "data", "device", "display", "engines", "grid", "methods",
               "metrics", "model", "params", "plan", "plotting", "presets", "prune", "rounds", "runformat", "runs",
               "seeding", "store", "claims",
               "sweep", "train", "verdicts")


def __getattr__(name: str) -> Any:
    if name in _SUBMODULES:
        return importlib.import_module(f"impkit.{name}")
    raise AttributeError(f"module 'impkit' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *_SUBMODULES])
