"""Public API for notebooks: train what is missing, load runs and their rounds.

>>> runs = ensure_runs("ci", "nlgp", methods=("imp", "random"), seeds=(0, 1))
>>> r = runs[0]; r.rounds_done; r.mask(3)[0].shape; r.weights(3, "rewind"); r.metrics(3)["final_test_acc"]

See :mod:`impkit.store` for the directory layout and :mod:`impkit.imp` for what a round computes.
"""
from __future__ import annotations

import json
from contextlib import ExitStack
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np
import torch

from impkit import store
from impkit.config import METHODS, ConfigError, RunConfig, identity, make_config, preset_seeds, round0_key, run_name
from impkit.imp import Job, copy_round, load_dataset, run_jobs
from impkit.model import FCN, build_model


class Run:
    """A run directory: one dataset, one pruning method, one seed."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        cfg_path = self.path / "config.json"
        if not cfg_path.exists():
            raise FileNotFoundError(f"{self.path} is not a run directory (no config.json)")
        self.config = RunConfig.from_dict(store.load_json(cfg_path))

    def __repr__(self) -> str:
        return f"Run({str(self.path)!r}, rounds_done={self.rounds_done})"

    @property
    def method(self) -> str:
        return self.config.prune.method

    @property
    def dataset(self) -> str:
        return self.config.data.name

    @property
    def seed(self) -> int:
        return self.config.seed

    @property
    def rounds_done(self) -> list[int]:
        return store.rounds_done(self.path)

    @property
    def num_layers(self) -> int:
        return len(self.config.model.hidden) + 1

    def _round(self, n: int) -> Path:
        d = store.round_dir(self.path, n)
        if not store.round_complete(self.path, n):
            raise FileNotFoundError(f"{self.path}: round {n} is not complete (rounds done: {self.rounds_done})")
        return d

    def mask(self, n: int) -> list[np.ndarray]:
        """m(n): per layer a bool array (out, in)."""
        z = store.load_npz(self._round(n) / "mask.npz")
        return [np.asarray(z[f"mask{l}"], dtype=bool) for l in range(self.num_layers)]

    def bias_mask(self, n: int) -> list[np.ndarray]:
        z = store.load_npz(self._round(n) / "mask.npz")
        return [np.asarray(z[f"bias_mask{l}"], dtype=bool) for l in range(self.num_layers)]

    def _state(self, n: int, which: str) -> dict[str, np.ndarray]:
        if which == "trained":
            return store.load_npz(self._round(n) / "trained.npz")
        if which == "rewind":
            self._round(n)
            z = dict(store.load_npz(store.round_dir(self.path, 0) / "rewind.npz"))
            for l, (m, bm) in enumerate(zip(self.mask(n), self.bias_mask(n))):
                z[f"W{l}"] = z[f"W{l}"] * m
                z[f"b{l}"] = z[f"b{l}"] * bm
            return z
        raise ValueError(f"which must be 'trained' or 'rewind', got {which!r}")

    def weights(self, n: int, which: str = "trained") -> list[tuple[np.ndarray, np.ndarray]]:
        """Per layer (W (out, in), b (out,)): θ(T) of round n ("trained") or θ(t_rewind) ⊙ m(n) ("rewind")."""
        z = self._state(n, which)
        return [(z[f"W{l}"], z[f"b{l}"]) for l in range(self.num_layers)]

    def metrics(self, n: int) -> dict:
        return store.load_json(self._round(n) / "metrics.json")

    def sparsity(self, n: int) -> dict:
        return store.load_json(self._round(n) / "sparsity.json")

    def model(self, n: int, which: str = "trained") -> FCN:
        """An R = 1 :class:`FCN` on CPU in eval mode with round n's weights and mask."""
        z = self._state(n, which)
        L = self.num_layers
        dims = [z["W0"].shape[1]] + [z[f"W{l}"].shape[0] for l in range(L)]
        m = FCN(dims, 1, self.config.model.activation, self.config.model.init, self.config.model.input_bn, seeds=[0])
        state = {k: torch.from_numpy(np.asarray(v)) for k, v in z.items()}
        for l, (a, b) in enumerate(zip(self.mask(n), self.bias_mask(n))):
            state[f"mask{l}"] = torch.from_numpy(a)
            state[f"bias_mask{l}"] = torch.from_numpy(b)
        m.load_replica_state(0, state)
        m.eval()
        return m

    def load_data(self, split: str = "train"):
        """The :class:`~impkit.data.base.Dataset` this run used (``split`` "train" or "test")."""
        return load_dataset(self.config, split)


def load_run(path: str | Path) -> Run:
    return Run(path)


def list_runs(root: str | Path = "runs") -> list[Run]:
    root = Path(root)
    if not root.is_dir():
        return []
    return [Run(p) for p in sorted(root.iterdir()) if (p / "config.json").exists()]


# ------------------------------------------------------------------------------------------------
def _share_round0_from_siblings(cfg: RunConfig, path: Path, root: Path) -> None:
    """If another method's run of the same data/model/train/seed has round 0, copy it (no retraining)."""
    if store.round_complete(path, 0):
        return
    key = round0_key(cfg)
    for m in METHODS:
        if m == cfg.prune.method:
            continue
        sib = cfg.replace(**{"prune.method": m})
        sp = root / run_name(sib)
        if sp.is_dir() and store.round_complete(sp, 0):
            try:
                scfg = RunConfig.from_dict(store.load_json(sp / "config.json"))
            except (store.StoreError, ConfigError, FileNotFoundError):
                continue
            if round0_key(scfg) == key:
                copy_round(sp, path, 0)
                return


def group_key(cfg: RunConfig) -> str:
    """Runs with equal keys can train as one batch of replicas."""
    d = identity(cfg)
    return json.dumps({"model": d["model"], "train": d["train"]}, sort_keys=True, default=str)


def train_configs(cfgs: Sequence[RunConfig], root: str | Path = "runs", device: str = "auto", progress: bool = True,
                  max_replicas: int | None = None, memory_budget: int | None = None) -> list[Run]:
    """Train the given configs (missing rounds only), batching compatible ones; returns their runs.

    Batches hold at most ``max_replicas`` replicas and fit ``memory_budget`` bytes of the device (None: most
    of its free memory; see :mod:`impkit.plan`)."""
    from impkit.train import resolve_device

    root = Path(root)
    for c in cfgs:
        resolve_device(device if device != "auto" else c.train.device)  # refuse before any work
    paths = [store.prepare_run_dir(root, c) for c in cfgs]
    seen: dict[Path, RunConfig] = {}
    for c, p in zip(cfgs, paths):
        seen.setdefault(p, c)
    with ExitStack() as stack:
        todo = []
        for p, c in sorted(seen.items(), key=lambda kv: str(kv[0])):
            if all(store.round_complete(p, n) for n in range(c.prune.rounds + 1)):
                continue
            stack.enter_context(store.RunLock(p))
            todo.append((c, p))
        for c, p in todo:
            _share_round0_from_siblings(c, p, root)
        groups: dict[str, list[Job]] = {}
        for c, p in todo:
            groups.setdefault(group_key(c), []).append(Job(c, p))
        for jobs in groups.values():
            # test sets of equal size batch together; so do equal storage dtypes: mixing uint8 images with a
            # float32 clone would store the real images as float32 too (4x their memory; ImageNet32: 16 GB)
            by_size: dict[tuple, list[Job]] = {}
            for j in jobs:
                te, tr = load_dataset(j.cfg, "test"), load_dataset(j.cfg, "train")
                by_size.setdefault((len(te), tr.dim, tr.x.dtype), []).append(j)
            for sub in by_size.values():
                run_jobs(sub, device=device, progress=progress, max_replicas=max_replicas,
                         memory_budget=memory_budget)
    return [Run(p) for p in paths]


def ensure_runs(preset: str, dataset: str | None = None, methods: Iterable[str] = ("imp", "oneshot", "random"),
                seeds: Iterable[int] | None = (0, 1, 2), root: str | Path = "runs", device: str = "auto",
                overrides: dict | None = None, clone: bool = False, progress: bool = True,
                max_replicas: int | None = None, memory_budget: int | None = None) -> list[Run]:
    """Train whatever is missing for ``preset`` × dataset (and its ``-clone`` when ``clone``) × methods × seeds,
    all compatible runs batched as replicas; return the runs (dataset-major, then method, then seed)."""
    from impkit.config import PRESETS

    if preset not in PRESETS:
        raise ConfigError(f"preset: unknown preset {preset!r}; known: {', '.join(PRESETS)}")
    ds = dataset or PRESETS[preset]["dataset"]
    names = [ds] + ([f"{ds}-clone"] if clone and not ds.endswith("-clone") else [])
    seeds = list(seeds) if seeds is not None else preset_seeds(preset)
    cfgs = [make_config(preset, name, m, s, overrides) for name in names for m in methods for s in seeds]
    if device != "auto":
        cfgs = [c.replace(**{"train.device": device}) for c in cfgs]
    return train_configs(cfgs, root, device=device, progress=progress, max_replicas=max_replicas,
                         memory_budget=memory_budget)


__all__ = ["Run", "ensure_runs", "load_run", "list_runs", "train_configs", "group_key"]
