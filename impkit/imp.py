"""The IMP driver: rounds of train → prune → rewind for a batch of runs trained as stacked replicas.

Round 0 trains the dense network from init for T steps, saving θ(t_rewind) (``rewind.npz``) and θ(T).
Round n >= 1 computes m(n) (IMP: from θ(T) of round n-1 and m(n-1); one-shot: from the dense round-0
θ(T); random: seeded uniform with the same per-layer counts), rewinds to θ(t_rewind) ⊙ m(n) and trains
steps t_rewind..T (T - t_rewind updates).

Round 0 does not depend on the pruning method: runs that differ only in ``prune`` share it (it is
trained once per (data, model, train, seed) and copied into each run directory). Since all counts are
known in advance, the replicas of every method, seed and dataset train round n together in one batch.

Random streams (all derived from the run seed with :func:`impkit.train.derive_seed`): init
``(seed, 1)``; minibatches of round n ``(seed, 2, n)`` (the same for all methods of a seed: common
random numbers); random masks ``(seed, 7, layer)``.
"""
from __future__ import annotations

import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np
import torch

from impkit import prune as P
from impkit import store
from impkit.config import RunConfig, check_against_data, round0_key
from impkit.model import build_model
from impkit.train import derive_seed, resolve_device, stack_datasets, train

INIT_TAG, DATA_TAG = 1, 2
ROUND_FILES = ("rewind.npz", "mask.npz", "trained.npz", "sparsity.json", "metrics.json")  # metrics last


# ------------------------------------------------------------------------------------------------
# datasets
# ------------------------------------------------------------------------------------------------
_DATA_CACHE: dict[str, object] = {}


def load_dataset(cfg: RunConfig, split: str):
    """The dataset a run uses (the run seed is passed as ``seed=``).

    Cached per (name, root, options, split) and, for loaders that use it, the seed: the runs of all seeds on
    fixed files (ImageNet32) share one copy in memory.
    """
    from impkit import data

    seed = cfg.seed if data.uses_seed(cfg.data.name) else None
    key = json.dumps([cfg.data.name, cfg.data.root, cfg.data.options, seed, split], sort_keys=True, default=str)
    if key not in _DATA_CACHE:
        if len(_DATA_CACHE) > 16:
            _DATA_CACHE.clear()
        _DATA_CACHE[key] = data.load(cfg.data.name, root=cfg.data.root, split=split, seed=cfg.seed,
                                     **cfg.data.options)
    return _DATA_CACHE[key]


def clear_data_cache() -> None:
    _DATA_CACHE.clear()


# ------------------------------------------------------------------------------------------------
@dataclass
class Job:
    """One run (config + directory) in a batch."""

    cfg: RunConfig
    path: Path
    share: list = field(default_factory=list)  # other run dirs receiving this job's round 0

    @property
    def name(self) -> str:
        return self.path.name


def state_to_arrays(state: dict) -> tuple[dict, dict]:
    """Split a replica state into (params, masks) dicts of numpy arrays."""
    params = {k: v.numpy() for k, v in state.items() if not k.startswith(("mask", "bias_mask"))}
    masks = {k: v.numpy() for k, v in state.items() if k.startswith(("mask", "bias_mask"))}
    return params, masks


def _masks_from_npz(d: dict, L: int) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    return ([torch.from_numpy(np.asarray(d[f"mask{l}"], dtype=bool)) for l in range(L)],
            [torch.from_numpy(np.asarray(d[f"bias_mask{l}"], dtype=bool)) for l in range(L)])


def compute_masks(job: Job, n: int, shapes: list[tuple[int, int]]):
    """m(n) for ``job`` per its method (bool tensors, per layer)."""
    L = len(shapes)
    cfg, path = job.cfg, job.path
    if cfg.prune.method == "imp":
        tr = store.load_npz(store.round_dir(path, n - 1) / "trained.npz")
        mk = store.load_npz(store.round_dir(path, n - 1) / "mask.npz")
        m, bm = _masks_from_npz(mk, L)
        return P.imp_masks([torch.from_numpy(tr[f"W{l}"]) for l in range(L)],
                           [torch.from_numpy(tr[f"b{l}"]) for l in range(L)], m, bm, cfg.prune, n)
    if cfg.prune.method == "oneshot":
        tr = store.load_npz(store.round_dir(path, 0) / "trained.npz")
        return P.oneshot_masks([torch.from_numpy(tr[f"W{l}"]) for l in range(L)],
                               [torch.from_numpy(tr[f"b{l}"]) for l in range(L)], cfg.prune, n)
    if cfg.prune.method == "random":
        return P.random_masks(shapes, cfg.prune, n, cfg.seed)
    raise ValueError(f"prune.method: unknown method {cfg.prune.method!r}")


def _mask_arrays(m, bm) -> dict:
    out = {}
    for l, (a, b) in enumerate(zip(m, bm)):
        out[f"mask{l}"] = np.asarray(a, dtype=bool)
        out[f"bias_mask{l}"] = np.asarray(b, dtype=bool)
    return out


def copy_round(src_dir: Path, dst_dir: Path, n: int) -> None:
    """Copy a complete round (atomic per file; metrics.json last)."""
    s, d = store.round_dir(src_dir, n), store.round_dir(dst_dir, n)
    d.mkdir(parents=True, exist_ok=True)
    for f in ROUND_FILES:
        if (s / f).exists():
            store.atomic_write_bytes(d / f, (s / f).read_bytes())


# ------------------------------------------------------------------------------------------------
def run_jobs(jobs: Sequence[Job], device: str = "auto", progress: bool = True, max_replicas: int | None = None,
             memory_budget: int | None = None) -> None:
    """Bring every job to ``prune.rounds`` rounds, training each round as batches of replicas.

    All jobs must share ``model`` and ``train`` settings (see :func:`impkit.runs.group_jobs`); locks
    are the caller's business. Each round's replicas are split into batches that fit ``memory_budget`` bytes
    of the device (None: :data:`impkit.plan.SAFETY` × its free memory) and hold at most ``max_replicas``
    (:func:`impkit.plan.split_batches`); the split does not change any result.
    """
    from impkit import plan as memplan

    if not jobs:
        return
    dev = resolve_device(device if device != "auto" else jobs[0].cfg.train.device)
    trains = [load_dataset(j.cfg, "train") for j in jobs]
    tests = [load_dataset(j.cfg, "test") for j in jobs]
    for j, ds in zip(jobs, trains):
        check_against_data(j.cfg, ds.dim, ds.num_classes)
    if memory_budget is None:
        memory_budget = int(memplan.SAFETY * memplan.free_memory(dev))
    prints = [memplan.footprint_of(j.cfg, tr, te) for j, tr, te in zip(jobs, trains, tests)]
    K = max(int(d.num_classes) for d in trains)
    dims = [trains[0].dim, *jobs[0].cfg.model.hidden, K]
    shapes = [(o, i) for i, o in zip(dims[:-1], dims[1:])]
    L = len(shapes)
    max_rounds = max(j.cfg.prune.rounds for j in jobs)
    for n in range(0, max_rounds + 1):
        todo = [i for i, j in enumerate(jobs) if n <= j.cfg.prune.rounds and not store.round_complete(j.path, n)]
        if not todo:
            continue
        if n == 0:
            # one trainer per round-0 key; the others get copies
            primary: dict[str, int] = {}
            for i in todo:
                k = round0_key(jobs[i].cfg)
                if k in primary:
                    jobs[primary[k]].share.append(jobs[i].path)
                else:
                    primary[k] = i
                    jobs[i].share = []
            todo = list(primary.values())
        # per job: masks, start state, start step, history
        starts: dict[int, dict] = {}
        for i in todo:
            j = jobs[i]
            rd = store.round_dir(j.path, n)
            rd.mkdir(parents=True, exist_ok=True)
            if n == 0:
                m = [torch.ones(s, dtype=torch.bool) for s in shapes]
                bm = [torch.ones(s[0], dtype=torch.bool) for s in shapes]
            elif (rd / "mask.npz").exists():
                m, bm = _masks_from_npz(store.load_npz(rd / "mask.npz"), L)
            else:
                m, bm = compute_masks(j, n, shapes)
            for p in [j.path, *(j.share if n == 0 else [])]:
                d = store.round_dir(p, n)
                if not (d / "mask.npz").exists():
                    store.save_npz(d / "mask.npz", _mask_arrays(m, bm))
                    store.save_json(d / "sparsity.json", {"round": n, **P.sparsity_report(m, bm)})
            ck = rd / "checkpoint.pt"
            info = {"masks": (m, bm), "step": 0 if n == 0 else j.cfg.train.t_rewind, "state": None, "history": None}
            if ck.exists():
                c = store.load_checkpoint(ck)
                if int(c.get("round", -1)) != n:
                    raise store.CorruptFileError(f"checkpoint {ck} is for round {c.get('round')}, expected {n}")
                info.update(step=int(c["step"]), state=c["state"], history=c["history"])
            elif n > 0:
                rw = store.load_npz(store.round_dir(j.path, 0) / "rewind.npz")
                info["state"] = {k: torch.from_numpy(v) for k, v in rw.items()}
            starts[i] = info
        # sub-batches: same start step; runs of one dataset together; within the memory budget
        by_step: dict[int, list[int]] = {}
        for i in todo:
            by_step.setdefault(starts[i]["step"], []).append(i)
        for step0, idxs in sorted(by_step.items()):
            idxs = sorted(idxs, key=lambda i: prints[i].key)  # stable: keeps the callers' order within a dataset
            cfg0 = jobs[idxs[0]].cfg
            for b in memplan.split_batches([prints[i] for i in idxs], dims, cfg0.model.input_bn, cfg0.train.batch,
                                           dev.type, memory_budget, max_replicas, resident=dev.type == "cpu"):
                _train_round(jobs, [idxs[k] for k in b.members], starts, n, step0, dims, trains, tests, dev,
                             progress)


def _train_round(jobs, idxs, starts, n, step0, dims, trains, tests, dev, progress) -> None:
    js = [jobs[i] for i in idxs]
    cfg0 = js[0].cfg
    tc = cfg0.train
    R = len(js)
    L = len(dims) - 1
    model = build_model(cfg0.model, dims[0], dims[-1], R, seeds=[derive_seed(j.cfg.seed, INIT_TAG) for j in js])
    for r, i in enumerate(idxs):
        st = starts[i]
        if st["state"] is not None:
            model.load_replica_state(r, st["state"], masks=False)
        m, bm = st["masks"]
        with torch.no_grad():
            for l in range(L):
                model.mask(l)[r].copy_(m[l].float())
                model.bias_mask(l)[r].copy_(bm[l].float())
    model.apply_masks()
    model.to(dev)
    data = stack_datasets([trains[i] for i in idxs], [tests[i] for i in idxs], dev)
    histories = None
    if any(starts[i]["history"] is not None for i in idxs):
        from impkit.train import new_history

        histories = [starts[i]["history"] if starts[i]["history"] is not None else new_history(1)[0] for i in idxs]

    def targets(j):
        return [j.path, *(j.share if n == 0 else [])]

    def save_rewind(t):
        for r, j in enumerate(js):
            params, _ = state_to_arrays(model.replica_state(r))
            for p in targets(j):
                store.save_npz(store.round_dir(p, 0) / "rewind.npz", params)

    def save_ckpt(t, hist):
        for r, j in enumerate(js):
            obj = {"round": n, "step": int(t), "state": model.replica_state(r), "history": hist[r]}
            for p in targets(j):
                store.save_checkpoint(store.round_dir(p, n) / "checkpoint.pt", obj)

    hooks = {}
    if n == 0:
        if step0 <= tc.t_rewind:
            hooks[tc.t_rewind] = save_rewind
        elif not (store.round_dir(js[0].path, 0) / "rewind.npz").exists():
            raise store.StoreError(f"{js[0].path}: resuming round 0 after t_rewind but rewind.npz is missing")
    names = [j.name for j in js]
    out = train(model, data, tc.steps, lr=tc.lr, batch=tc.batch,
                stream_seeds=[derive_seed(j.cfg.seed, DATA_TAG, n) for j in js], start_step=step0,
                history=histories, eval_every=tc.eval_every, checkpoint_every=tc.checkpoint_every,
                on_checkpoint=save_ckpt, hooks=hooks, mask_forward=tc.mask_forward, compile=tc.compile,
                progress=progress, desc=f"round {n} ({R} replica{'s' if R > 1 else ''})", round_idx=n,
                replica_names=names)
    for r, j in enumerate(js):
        params, _ = state_to_arrays(model.replica_state(r))
        h = out["history"][r]
        ev = h["eval"]
        metrics = {
            "round": n, "method": j.cfg.prune.method, "seed": j.cfg.seed, "dataset": j.cfg.data.name,
            "start_step": 0 if n == 0 else tc.t_rewind, "end_step": tc.steps, "resumed_from": step0 if (
                histories is not None) else None,
            "eval": ev, "train_curve": h["curve"],
            "final_test_acc": ev["test_acc"][-1] if ev["test_acc"] else None,
            "final_test_loss": ev["test_loss"][-1] if ev["test_loss"] else None,
            "wall_s": out["wall_s"], "steps_per_s": out["steps_per_s"], "replicas_in_batch": R,
            "device": str(dev),
        }
        for p in targets(j):
            d = store.round_dir(p, n)
            store.save_npz(d / "trained.npz", params)
            if p != j.path:
                metrics_p = dict(metrics, shared_from=j.path.name)
            else:
                metrics_p = metrics
            store.save_json(d / "metrics.json", metrics_p)
            ck = d / "checkpoint.pt"
            if ck.exists():
                ck.unlink()


__all__ = ["Job", "run_jobs", "compute_masks", "load_dataset", "copy_round", "clear_data_cache"]
_ = shutil
