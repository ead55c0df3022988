"""Pruning rounds: train → prune → rewind, for a batch of runs trained together as stacked replicas.

Round 0 trains the dense network from init for T steps, saving θ(t_rewind) and θ(T). Round n >= 1 computes m(n)
with the run's pruning method (:mod:`impkit.methods`), rewinds to θ(t_rewind) ⊙ m(n) and trains steps
t_rewind..T (T − t_rewind updates). Every method runs through the same loop; only m(n) differs.

Round 0 does not depend on the pruning method: runs that differ only in ``prune`` share it (it is trained once per
(data, model, train, seed) and written into each run directory). Since every round's counts are known in advance,
the replicas of every method, seed and dataset train round n together, in batches that fit the device
(:mod:`impkit.plan`). Random streams come from :mod:`impkit.seeding`; files from :mod:`impkit.runformat`.

A method with ``dynamics`` (:mod:`impkit.dynamic`, e.g. SET) changes its mask during the round: its round n starts
from the method's mask (recomputed, it is cheap and deterministic) and from θ(0) or θ(t_rewind), the trainer updates
the mask between segments, a checkpoint carries the current mask (a resume reloads it), and the round's
``mask.npz``/``sparsity.json`` are rewritten with the mask at the end of the round, before ``metrics.json``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np
import torch

from impkit import methods, store
from impkit import plan as memplan
from impkit import prune as P
from impkit.config import RunConfig, check_against_data, round0_key
from impkit.data.base import Dataset
from impkit.data.cache import run_data
from impkit.device import choose
from impkit.dynamic import ReplicaDynamics
from impkit.model import FCN, build_model, init_layer
from impkit.runformat import Masks, Params, RunFiles, is_mask_key
from impkit.seeding import INIT, MINIBATCH, derive_seed
from impkit.train import MaskUpdates, TrainingDiverged, new_history, stack_datasets, train


@dataclass
class Job:
    """One run (config + directory) to bring to ``prune.rounds`` rounds; ``share`` lists other run directories that
    receive a copy of this job's round 0 (same data, model, training and seed; another pruning method)."""

    cfg: RunConfig
    path: Path
    share: list[Path] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def files(self) -> RunFiles:
        return RunFiles(self.path)


@dataclass
class RoundStart:
    """Where a job starts round n: its mask m(n), the step, and (when resuming or rewinding) the replica state to
    load and the training history so far. ``state`` None = fresh initialisation (round 0 from step 0)."""

    masks: Masks
    step: int
    state: dict | None = None
    history: dict | None = None


@dataclass
class RoundBatch:
    """Replicas trained together in round ``n`` from step ``step0``: the jobs, where each starts, their data and
    the layer widths ``dims`` = [D, hidden..., K]."""

    n: int
    step0: int
    jobs: list[Job]
    starts: list[RoundStart]
    trains: list[Dataset]
    tests: list[Dataset]
    dims: list[int]

    def targets(self, j: Job) -> list[Path]:
        """Run directories that receive ``j``'s results (round 0 is shared by the methods)."""
        return [j.path, *(j.share if self.n == 0 else [])]


def state_to_arrays(state: dict) -> tuple[dict, dict]:
    """Split a replica state (:meth:`impkit.model.FCN.replica_state`) into (params, masks) dicts of numpy arrays."""
    params = {k: v.numpy() for k, v in state.items() if not is_mask_key(k)}
    masks = {k: v.numpy() for k, v in state.items() if is_mask_key(k)}
    return params, masks


def _load_params(path: Path) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    return Params.from_arrays(store.load_npz(path)).tensors()


def init_params(cfg: RunConfig, shapes: Sequence[tuple[int, int]]) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    """θ(0) of a run: (W (out, in), b (out,)) per layer, drawn as :class:`impkit.model.FCN` draws them from the seed."""
    gen = torch.Generator().manual_seed(derive_seed(cfg.seed, INIT))
    ws, bs = zip(*(init_layer(int(i), int(o), cfg.model.init, gen) for o, i in shapes))
    return list(ws), list(bs)


def compute_masks(job: Job, n: int, shapes: list[tuple[int, int]]) -> Masks:
    """m(n) of ``job`` by its pruning method, from what the earlier rounds left in its directory."""
    f = job.files
    ctx = methods.MaskContext(
        n=n, shapes=shapes, prune=job.cfg.prune, seed=job.cfg.seed,
        trained=lambda k: _load_params(f.round(k).trained),
        mask=lambda k: Masks.from_arrays(store.load_npz(f.round(k).mask)),
        rewind=lambda: _load_params(f.rewind),
        data=lambda split: run_data(job.cfg, split), cfg=job.cfg,
        init=lambda: init_params(job.cfg, shapes),
    )
    return methods.get(job.cfg.prune.method).masks(ctx)


def copy_round(src_dir: Path, dst_dir: Path, n: int) -> None:
    """Copy a complete round (atomic per file; metrics last, so the copy is complete only when all is there)."""
    s, d = RunFiles(src_dir).round(n), RunFiles(dst_dir).round(n)
    store.ensure_dir(d.dir)
    for name in ("rewind", "mask", "trained", "sparsity", "metrics"):
        src = getattr(s, name)
        if src.exists():
            store.atomic_write_bytes(getattr(d, name), src.read_bytes())


# ------------------------------------------------------------------------------------------------
def run_jobs(jobs: Sequence[Job], device: str = "auto", progress: bool = True, max_replicas: int | None = None,
             memory_budget: int | None = None) -> None:
    """Bring every job to ``prune.rounds`` rounds, training each round as batches of replicas.

    All jobs must share ``model`` and ``train`` settings (see :func:`impkit.runs.group_key`); locks are the
    caller's business. Each round's replicas are split into batches that fit ``memory_budget`` bytes of the device
    (None: :data:`impkit.plan.SAFETY` × its free memory) and hold at most ``max_replicas``
    (:func:`impkit.plan.split_batches`); the split does not change any result.
    """
    if not jobs:
        return
    dev = choose(device, jobs[0].cfg.train.device)
    trains = [run_data(j.cfg, "train") for j in jobs]
    tests = [run_data(j.cfg, "test") for j in jobs]
    for j, ds in zip(jobs, trains):
        check_against_data(j.cfg, ds.dim, ds.num_classes)
    if memory_budget is None:
        memory_budget = int(memplan.SAFETY * memplan.free_memory(dev))
    prints = [memplan.footprint_of(j.cfg, tr, te) for j, tr, te in zip(jobs, trains, tests)]
    K = max(int(d.num_classes) for d in trains)
    dims = [trains[0].dim, *jobs[0].cfg.model.hidden, K]
    shapes = [(o, i) for i, o in zip(dims[:-1], dims[1:])]
    for n in range(0, max(j.cfg.prune.rounds for j in jobs) + 1):
        todo = [i for i, j in enumerate(jobs) if n <= j.cfg.prune.rounds and not j.files.round(n).complete()]
        if n == 0:
            todo = _share_round0(jobs, todo)
        starts = {i: _round_start(jobs[i], n, shapes) for i in todo}
        # batches: replicas that start at the same step; runs of one dataset together; within the memory budget
        by_step: dict[int, list[int]] = {}
        for i in todo:
            by_step.setdefault(starts[i].step, []).append(i)
        for step0, idxs in sorted(by_step.items()):
            idxs = sorted(idxs, key=lambda i: prints[i].key)  # stable: callers' order within a dataset
            cfg0 = jobs[idxs[0]].cfg
            dyns = [_dynamics(jobs[i]) if n > 0 else None for i in idxs]  # mask updates need workspace
            for b in memplan.split_batches([prints[i] for i in idxs], dims, cfg0.model.input_bn, cfg0.train.batch,
                                           dev.type, memory_budget, max_replicas, resident=dev.type == "cpu",
                                           dynamics=dyns):
                sel = [idxs[k] for k in b.members]
                batch = RoundBatch(n, step0, [jobs[i] for i in sel], [starts[i] for i in sel],
                                   [trains[i] for i in sel], [tests[i] for i in sel], dims)
                _train_round(batch, dev, progress)


def _share_round0(jobs: Sequence[Job], todo: list[int]) -> list[int]:
    """One trainer per round-0 key among ``todo``; the others are added to its ``share`` list."""
    primary: dict[str, int] = {}
    for i in todo:
        k = round0_key(jobs[i].cfg)
        if k in primary:
            jobs[primary[k]].share.append(jobs[i].path)
        else:
            primary[k] = i
            jobs[i].share = []
    return list(primary.values())


def _round_start(j: Job, n: int, shapes: list[tuple[int, int]]) -> RoundStart:
    """m(n) (computed once and saved, with the sparsity report) and the state round n of ``j`` starts from."""
    rf = j.files.round(n)
    store.ensure_dir(rf.dir)
    dyn = _dynamics(j) if n > 0 else None
    if n == 0:
        masks = Masks.ones(shapes)
    elif dyn is not None:  # the mask the round starts from (mask.npz may already hold the end of the round)
        masks = compute_masks(j, n, shapes)
    elif rf.mask.exists():
        masks = Masks.from_arrays(store.load_npz(rf.mask))
    else:
        masks = compute_masks(j, n, shapes)
    for p in [j.path, *(j.share if n == 0 else [])]:
        out = RunFiles(p).round(n)
        if not out.mask.exists():
            store.save_npz(out.mask, masks.arrays())
            store.save_json(out.sparsity, {"round": n, **P.sparsity_report(masks.weight_tensors(),
                                                                             masks.bias_tensors())})
    start = RoundStart(masks, 0 if n == 0 else j.cfg.train.t_rewind)
    if rf.checkpoint.exists():
        c = store.load_checkpoint(rf.checkpoint)
        if int(c.get("round", -1)) != n:
            raise store.CorruptFileError(f"checkpoint {rf.checkpoint} is for round {c.get('round')}, expected {n}")
        start.step, start.state, start.history = int(c["step"]), c["state"], c["history"]
        if dyn is not None:  # the current mask travels with the checkpoint
            start.masks = Masks.from_arrays({k: np.asarray(v) for k, v in c["state"].items() if is_mask_key(k)})
    elif dyn is not None and dyn.start == "init":
        start.state = None  # θ(0): _build initialises every replica from its seed
    elif n > 0:
        start.state = {k: torch.from_numpy(v) for k, v in store.load_npz(j.files.rewind).items()}
    return start


def _dynamics(j: Job):
    """The :class:`impkit.dynamic.Dynamics` of ``j``'s method (None for a fixed mask)."""
    return methods.get(j.cfg.prune.method).dynamics


def _build(batch: RoundBatch, dev: torch.device) -> FCN:
    """The stacked model of a batch: initialised from each run's seed, then each replica's start state and mask."""
    cfg0 = batch.jobs[0].cfg
    model = build_model(cfg0.model, batch.dims[0], batch.dims[-1], len(batch.jobs),
                        seeds=[derive_seed(j.cfg.seed, INIT) for j in batch.jobs])
    for r, st in enumerate(batch.starts):
        if st.state is not None:
            model.load_replica_state(r, st.state, masks=False)
        with torch.no_grad():
            for l, (m, bm) in enumerate(zip(st.masks.weight_tensors(), st.masks.bias_tensors())):
                model.mask(l)[r].copy_(m.float())
                model.bias_mask(l)[r].copy_(bm.float())
    model.apply_masks()
    return model.to(dev)


def _train_round(batch: RoundBatch, dev: torch.device, progress: bool) -> None:
    """Train one batch through round ``batch.n`` and write each run's θ(T), metrics (and round-0 rewind point)."""
    n, js, tc = batch.n, batch.jobs, batch.jobs[0].cfg.train
    R = len(js)
    model = _build(batch, dev)
    data = stack_datasets(batch.trains, batch.tests, dev)
    histories = None
    if any(st.history is not None for st in batch.starts):
        histories = [st.history if st.history is not None else new_history(1)[0] for st in batch.starts]

    def save_rewind(t: int) -> None:
        for r, j in enumerate(js):
            params, _ = state_to_arrays(model.replica_state(r))
            for p in batch.targets(j):
                store.save_npz(RunFiles(p).rewind, params)

    def save_checkpoint(t: int, hist: list) -> None:
        for r, j in enumerate(js):
            obj = {"round": n, "step": int(t), "state": model.replica_state(r), "history": hist[r]}
            for p in batch.targets(j):
                store.save_checkpoint(RunFiles(p).round(n).checkpoint, obj)

    updates = None
    dyn_rows = [r for r, j in enumerate(js) if n > 0 and _dynamics(j) is not None]
    if dyn_rows:
        kept = [[int(m.sum()) for m in batch.starts[r].masks.weight_tensors()] for r in dyn_rows]
        rd = ReplicaDynamics(model, dyn_rows, [js[r].cfg.seed for r in dyn_rows], [_dynamics(js[r]) for r in dyn_rows],
                             kept, n, tc.t_rewind, tc.steps, data=data, batch=tc.batch)
        updates = MaskUpdates(rd.steps, rd)
    hooks = {}
    if n == 0:
        if batch.step0 <= tc.t_rewind:
            hooks[tc.t_rewind] = save_rewind
        elif not js[0].files.rewind.exists():
            raise store.StoreError(f"{js[0].path}: resuming round 0 after t_rewind but {js[0].files.rewind.name} "
                                   "is missing")
    try:
        out = train(model, data, tc.steps, lr=tc.lr, batch=tc.batch,
                    stream_seeds=[derive_seed(j.cfg.seed, MINIBATCH, n) for j in js], start_step=batch.step0,
                    history=histories, eval_every=tc.eval_every, checkpoint_every=tc.checkpoint_every,
                    on_checkpoint=save_checkpoint, hooks=hooks, mask_forward=tc.mask_forward, compile=tc.compile,
                    progress=progress, desc=f"round {n} ({R} replica{'s' if R > 1 else ''})", round_idx=n,
                    replica_names=[j.name for j in js], mask_updates=updates)
    except TrainingDiverged as e:
        raise _record_divergence(batch, e) from None
    for r, j in enumerate(js):
        params, mask_arrays = state_to_arrays(model.replica_state(r))
        ev = out["history"][r]["eval"]
        metrics = {
            "round": n, "method": j.cfg.prune.method, "seed": j.cfg.seed, "dataset": j.cfg.data.name,
            "start_step": 0 if n == 0 else tc.t_rewind, "end_step": tc.steps,
            "resumed_from": batch.step0 if histories is not None else None,
            "eval": ev, "train_curve": out["history"][r]["curve"],
            "final_test_acc": ev["test_acc"][-1] if ev["test_acc"] else None,
            "final_test_loss": ev["test_loss"][-1] if ev["test_loss"] else None,
            "wall_s": out["wall_s"], "steps_per_s": out["steps_per_s"], "replicas_in_batch": R, "device": str(dev),
        }
        for p in batch.targets(j):
            rf = RunFiles(p).round(n)
            if r in dyn_rows:  # the mask at the end of the round (before metrics.json: the round is not complete yet)
                final = Masks.from_arrays(mask_arrays)
                store.save_npz(rf.mask, final.arrays())
                store.save_json(rf.sparsity, {"round": n, **P.sparsity_report(final.weight_tensors(),
                                                                              final.bias_tensors())})
            store.save_npz(rf.trained, params)
            store.save_json(rf.metrics, metrics if p == j.path else dict(metrics, shared_from=j.path.name))
            if rf.checkpoint.exists():
                rf.checkpoint.unlink()


def _record_divergence(batch: RoundBatch, e: TrainingDiverged) -> TrainingDiverged:
    """Mark the diverged run (and the runs sharing its round 0) in their ``status.json`` -- so that ``ls`` shows it
    and a rerun with the same settings is refused instead of diverging again (training is deterministic) -- and
    return the error to raise, naming the run, the record and what to change."""
    if e.replica is None:
        return e
    j = batch.jobs[e.replica]
    lr = j.cfg.train.lr
    advice = f"lower the learning rate, e.g. --set train.lr={lr / 10:g} (train.lr is {lr:g}), or check the data"
    record = {"round": e.round_idx, "step": e.step, "loss": str(e.loss), "train.lr": lr, "advice": advice}
    for p in batch.targets(j):
        store.mark_diverged(p, record)
    return TrainingDiverged(f"training diverged (loss {e.loss}) in round {e.round_idx} at step {e.step} for "
                            f"{j.path}; recorded in {RunFiles(j.path).status}: {advice}, and rerun", e.round_idx,
                            e.step, e.replica, e.loss)


__all__ = ["Job", "RoundStart", "RoundBatch", "run_jobs", "compute_masks", "copy_round", "state_to_arrays",
           "init_params"]
