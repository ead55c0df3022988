"""The run-directory format: every file name and array key of a run is spelled here and nowhere else.

Layout::

    <root>/<dataset>-<method>-s<seed>-<hash>/      (name: impkit.config.run_name)
        config.json            the full RunConfig
        identity.json          written with config.json: the run name, hash and non-default settings it was
                               created with (so a hand-edited config.json is caught and the changed setting named)
        status.json            only after a failure: {"status": "diverged", "round", "step", "loss", "advice", ...}
        .lock                  while a process writes the run (host:pid of the owner)
        round_00/              dense training from init for T steps
            rewind.npz         θ(t_rewind), all layers: the rewind point of every round (round 0 only)
            mask.npz           m(0): all ones
            trained.npz        θ(T)
            sparsity.json      kept/total per layer
            metrics.json       test accuracy/loss at evaluation points, train-loss curve, wall time (written last)
        round_NN/ (n >= 1)     mask.npz = m(n); trained.npz = θ(T) after retraining from θ(t_rewind) ⊙ m(n);
                               sparsity.json; metrics.json; checkpoint.pt while the round is in progress

Array keys: parameters ``W{l}`` (out, in) and ``b{l}`` (out,) per layer l, batch-norm ``bn_weight{l}``,
``bn_bias{l}``, ``bn_mean{l}``, ``bn_var{l}`` (in,) when the model has input batch-norm; masks ``mask{l}`` (out, in)
and ``bias_mask{l}`` (out,) as bool.

**A round is complete** when its ``metrics.json``, ``mask.npz`` and ``trained.npz`` all exist. ``metrics.json`` is
written last, so after an interruption a round either is complete or is redone (resuming from ``checkpoint.pt``);
the other two are checked as well so that a round whose arrays were deleted by hand is redone, not trusted.

**Files are written** with the process umask (0644 with the usual umask 022), so a group sharing ``runs/`` can read
them. What to do about a damaged file is :func:`repair_hint`'s (quoted by the store's corrupt-file errors).

:class:`RunFiles` and :class:`RoundFiles` give the paths, :class:`Masks` and :class:`Params` the arrays; the
reading and writing itself (atomic files, corrupt-file errors) is :mod:`impkit.store`'s.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np
import torch

CONFIG = "config.json"
IDENTITY = "identity.json"
STATUS = "status.json"
DIVERGED = "diverged"  # the "status" of a run whose training loss became NaN/inf
LOCK = ".lock"
REWIND, MASK, TRAINED, SPARSITY, METRICS, CHECKPOINT = (
    "rewind.npz", "mask.npz", "trained.npz", "sparsity.json", "metrics.json", "checkpoint.pt")
ROUND_FILES = (REWIND, MASK, TRAINED, SPARSITY, METRICS)  # the files of a finished round; metrics.json last
BN_KEYS = ("bn_weight", "bn_bias", "bn_mean", "bn_var")


def weight_key(l: int) -> str:
    return f"W{l}"


def bias_key(l: int) -> str:
    return f"b{l}"


def mask_key(l: int) -> str:
    return f"mask{l}"


def bias_mask_key(l: int) -> str:
    return f"bias_mask{l}"


def is_mask_key(key: str) -> bool:
    return key.startswith(("mask", "bias_mask"))


# ------------------------------------------------------------------------------------------------
# paths
# ------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class RoundFiles:
    """The files of round n of a run."""

    dir: Path

    @property
    def rewind(self) -> Path:
        return self.dir / REWIND

    @property
    def mask(self) -> Path:
        return self.dir / MASK

    @property
    def trained(self) -> Path:
        return self.dir / TRAINED

    @property
    def sparsity(self) -> Path:
        return self.dir / SPARSITY

    @property
    def metrics(self) -> Path:
        return self.dir / METRICS

    @property
    def checkpoint(self) -> Path:
        return self.dir / CHECKPOINT

    def complete(self) -> bool:
        """See the module docstring: metrics, mask and trained weights all present."""
        return self.metrics.exists() and self.trained.exists() and self.mask.exists()


@dataclass(frozen=True)
class RunFiles:
    """The files of one run directory."""

    dir: Path

    def __init__(self, run_dir: str | Path):
        object.__setattr__(self, "dir", Path(run_dir))

    @property
    def config(self) -> Path:
        return self.dir / CONFIG

    @property
    def lock(self) -> Path:
        return self.dir / LOCK

    @property
    def identity(self) -> Path:
        """The settings the run was created with (see the module docstring)."""
        return self.dir / IDENTITY

    @property
    def status(self) -> Path:
        """Present only when the run failed (e.g. diverged); see the module docstring."""
        return self.dir / STATUS

    def round(self, n: int) -> RoundFiles:
        return RoundFiles(self.dir / f"round_{int(n):02d}")

    @property
    def rewind(self) -> Path:
        """θ(t_rewind), stored once in round 0 and shared by every round."""
        return self.round(0).rewind

    def is_run(self) -> bool:
        return self.config.exists()

    def rounds_done(self) -> list[int]:
        """Complete rounds, ascending."""
        out = []
        for p in sorted(self.dir.glob("round_*")):
            try:
                n = int(p.name.split("_")[1])
            except (IndexError, ValueError):
                continue
            if self.round(n).complete():
                out.append(n)
        return out


def round_of(path: str | Path) -> int | None:
    """The round n of a file inside ``round_NN/`` (None for a file elsewhere)."""
    name = Path(path).parent.name
    if name.startswith("round_"):
        try:
            return int(name.split("_")[1])
        except (IndexError, ValueError):
            return None
    return None


def repair_hint(path: str | Path) -> str:
    """What to do about a damaged (truncated, corrupt, unreadable) file ``path`` of a run directory: which files to
    delete and what to rerun. Nothing else is lost: every round is recomputed from what is still there."""
    path = Path(path)
    rerun = "rerun the same `python -m impkit run` command (or notebook) that made it"
    n = round_of(path)
    if path.name == CONFIG:
        return (f"delete the run directory {path.parent} and {rerun} (its rounds cannot be trusted without their "
                "config)")
    if path.name == IDENTITY:
        return f"delete {path} (it only records the settings the run was created with)"
    if path.name == STATUS:
        return f"delete {path} to clear the run's failure record"
    if path.name == CHECKPOINT and n is not None:
        return f"delete {path} and {rerun}: round {n} restarts from its beginning"
    if n is not None:
        return f"delete the folder {path.parent} and {rerun}: round {n} is recomputed"
    return f"delete or restore {path}"


# ------------------------------------------------------------------------------------------------
# arrays
# ------------------------------------------------------------------------------------------------
@dataclass
class Masks:
    """Per-layer bool masks: ``weights[l]`` (out, in) and ``biases[l]`` (out,), True = kept."""

    weights: list[np.ndarray]
    biases: list[np.ndarray]

    @property
    def num_layers(self) -> int:
        return len(self.weights)

    @classmethod
    def ones(cls, shapes: Sequence[tuple[int, int]]) -> "Masks":
        return cls([np.ones(s, dtype=bool) for s in shapes], [np.ones(s[0], dtype=bool) for s in shapes])

    @classmethod
    def from_tensors(cls, weights: Sequence[torch.Tensor], biases: Sequence[torch.Tensor]) -> "Masks":
        return cls([np.asarray(w, dtype=bool) for w in weights], [np.asarray(b, dtype=bool) for b in biases])

    @classmethod
    def from_arrays(cls, arrays: Mapping[str, np.ndarray]) -> "Masks":
        """From the arrays of a ``mask.npz`` (or a replica state holding mask keys)."""
        L = sum(1 for k in arrays if k.startswith("mask"))
        return cls([np.asarray(arrays[mask_key(l)], dtype=bool) for l in range(L)],
                   [np.asarray(arrays[bias_mask_key(l)], dtype=bool) for l in range(L)])

    def arrays(self) -> dict[str, np.ndarray]:
        """The arrays of a ``mask.npz``."""
        out = {}
        for l, (w, b) in enumerate(zip(self.weights, self.biases)):
            out[mask_key(l)] = np.asarray(w, dtype=bool)
            out[bias_mask_key(l)] = np.asarray(b, dtype=bool)
        return out

    def weight_tensors(self) -> list[torch.Tensor]:
        return [torch.from_numpy(np.asarray(w, dtype=bool)) for w in self.weights]

    def bias_tensors(self) -> list[torch.Tensor]:
        return [torch.from_numpy(np.asarray(b, dtype=bool)) for b in self.biases]


@dataclass
class Params:
    """Per-layer parameters ``weights[l]`` (out, in), ``biases[l]`` (out,) and batch-norm arrays ``bn`` (by key)."""

    weights: list[np.ndarray]
    biases: list[np.ndarray]
    bn: dict[str, np.ndarray] = field(default_factory=dict)

    @classmethod
    def from_arrays(cls, arrays: Mapping[str, np.ndarray]) -> "Params":
        """From the arrays of ``rewind.npz``/``trained.npz`` or a replica state (mask keys are ignored)."""
        L = sum(1 for k in arrays if k.startswith("W"))
        bn = {k: np.asarray(v) for k, v in arrays.items() if k.startswith(BN_KEYS)}
        return cls([np.asarray(arrays[weight_key(l)]) for l in range(L)],
                    [np.asarray(arrays[bias_key(l)]) for l in range(L)], bn)

    def arrays(self) -> dict[str, np.ndarray]:
        out: dict[str, np.ndarray] = {}
        for l, (w, b) in enumerate(zip(self.weights, self.biases)):
            out[weight_key(l)] = w
            out[bias_key(l)] = b
        out.update(self.bn)
        return out

    def masked(self, masks: Masks) -> "Params":
        """θ ⊙ m: weights and biases multiplied by the masks (batch-norm arrays unchanged)."""
        return Params([w * m for w, m in zip(self.weights, masks.weights)],
                      [b * m for b, m in zip(self.biases, masks.biases)], dict(self.bn))

    def tensors(self) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
        """(weights, biases) as CPU tensors (shared memory)."""
        return [torch.from_numpy(w) for w in self.weights], [torch.from_numpy(b) for b in self.biases]


__all__ = ["RunFiles", "RoundFiles", "Masks", "Params", "ROUND_FILES", "CONFIG", "IDENTITY", "STATUS", "DIVERGED",
           "LOCK", "weight_key", "bias_key", "mask_key", "bias_mask_key", "is_mask_key", "BN_KEYS", "round_of",
           "repair_hint"]
