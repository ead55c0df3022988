"""The lean training loop for R stacked replicas (:class:`impkit.model.FCN`).

* The training sets of all replicas live on the device as one tensor in their storage dtype
  (uint8 stays uint8), concatenated over the distinct datasets of the batch; replica r reads rows
  ``offset[r] + i`` with ``0 <= i < N_r`` and minibatches are normalised on the fly.
* Minibatches are drawn i.i.d. with replacement. Indices come in chunks of ``CHUNK`` steps; chunk k of
  a replica's stream is drawn from a CPU generator seeded by ``(stream_seed, k)``, so the sequence is a
  pure function of the stream seed and the step: a resumed run and a replica trained alone or in any
  batch see the same minibatches.
* No host synchronisation per step: losses are written into a device buffer and read at segment ends
  (chunk boundaries, evaluations, checkpoints), where a non-finite loss stops training with a
  :class:`TrainingDiverged` naming the round, the exact step and the replica.
* Plain SGD (no momentum, no weight decay) fused into the backward pass: each layer applies
  ``W -= lr * g^T h`` with one in-place ``baddbmm_`` (:class:`impkit.model._FusedSGDLinear`); batch-norm
  parameters get one ``torch._foreach_add_``; then masks are re-applied with ``torch._foreach_mul_``
  (pruned weights exactly 0). ``Stepper(fused=False)`` is the unfused reference (gradients, then update).
* On CUDA the step can be captured as a CUDA graph (``compile="auto"|"graph"``) with an eager fallback.
* Masks may change during training (:class:`MaskUpdates`, e.g. SET's drop and regrowth): an update runs between
  segments, at steps that are segment ends, and changes the mask buffers and weights *in place*, so the step (and
  its CUDA graph, which holds the same tensors) trains with the new masks from the next step on.
"""
from __future__ import annotations

import time
from contextlib import contextmanager
import warnings
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from impkit.model import FCN
from impkit.seeding import derive_seed

CHUNK = 500  # steps of minibatch indices drawn at once
SMALL_STEP_WORK = 3e7  # R * batch * weights below which CPU training runs on one thread


class TrainingDiverged(RuntimeError):
    """Loss became NaN/inf; the message names round, step and replica, which are also attributes (``round_idx``,
    ``step``, ``replica`` index into the batch, ``loss``) so that the caller can record the failure in the run."""

    def __init__(self, message: str, round_idx: int | None = None, step: int | None = None,
                 replica: int | None = None, loss: float | None = None):
        super().__init__(message)
        self.round_idx, self.step, self.replica, self.loss = round_idx, step, replica, loss


# ------------------------------------------------------------------------------------------------
# data
# ------------------------------------------------------------------------------------------------
@dataclass
class ReplicaData:
    """Training and test data for R replicas (see module docstring)."""

    x: torch.Tensor  # (sum_g N_g, D) storage dtype
    y: torch.Tensor
    offsets: torch.Tensor  # (R,) long, device
    sizes: list  # N_r per replica
    shift: torch.Tensor | None  # (R, 1, D) float or None
    scale: torch.Tensor | None  # (R, 1, 1) float or None
    test_x: torch.Tensor
    test_y: torch.Tensor
    test_offsets: torch.Tensor  # (R,)
    n_test: int
    num_classes: int

    @property
    def R(self) -> int:
        return len(self.sizes)

    @property
    def dim(self) -> int:
        return int(self.x.shape[1])

    def normalize(self, xb: torch.Tensor, rows: torch.Tensor | None = None) -> torch.Tensor:
        """(R, B, D) raw rows -> float32 features, each replica with its dataset's shift/scale; ``rows`` (Rs,)
        long: ``xb`` holds only those replicas (Rs, B, D)."""
        out = xb.to(torch.float32)
        if self.shift is not None:
            out = out - (self.shift if rows is None else self.shift[rows])
        if self.scale is not None:
            out = out / (self.scale if rows is None else self.scale[rows])
        return out


def _same_data(a, b) -> bool:
    return (a is b) or (a.x.shape == b.x.shape and a.x.dtype == b.x.dtype and torch.equal(a.x, b.x)
                        and torch.equal(a.y, b.y))


def stack_datasets(train_sets: Sequence, test_sets: Sequence, device: torch.device | str = "cpu") -> ReplicaData:
    """Stack per-replica (train, test) :class:`~impkit.data.base.Dataset` objects; identical datasets
    (same object or equal contents) are stored once."""
    R = len(train_sets)
    assert len(test_sets) == R
    uniq_tr: list = []
    uniq_te: list = []
    group: list[int] = []
    for tr, te in zip(train_sets, test_sets):
        for g, (u, v) in enumerate(zip(uniq_tr, uniq_te)):
            if _same_data(u, tr) and _same_data(v, te):
                group.append(g)
                break
        else:
            uniq_tr.append(tr)
            uniq_te.append(te)
            group.append(len(uniq_tr) - 1)
    D = uniq_tr[0].dim
    K = max(int(d.num_classes) for d in uniq_tr)
    if any(d.dim != D for d in uniq_tr + uniq_te):
        raise ValueError("all replicas of a batch need the same input dimension")
    n_test = len(uniq_te[0])
    if any(len(d) != n_test for d in uniq_te):
        raise ValueError("all replicas of a batch need test sets of equal size")
    dtypes = {d.x.dtype for d in uniq_tr + uniq_te}
    raw = len(dtypes) == 1
    def rows(d):
        return d.x if raw else d.normalize(d.x)
    def join(parts: list[torch.Tensor]) -> torch.Tensor:
        # one dataset: use its tensor as it is (no copy of e.g. 3.9 GB of ImageNet32 on the CPU)
        return (parts[0] if len(parts) == 1 else torch.cat(parts)).to(device)

    x = join([rows(d) for d in uniq_tr])
    y = join([d.y for d in uniq_tr])
    tx = join([rows(d) for d in uniq_te])
    ty = join([d.y for d in uniq_te])
    off = np.cumsum([0] + [len(d) for d in uniq_tr])[:-1]
    toff = np.cumsum([0] + [len(d) for d in uniq_te])[:-1]
    shift = scale = None
    if raw:
        # train and test of one group share normalisation (the train split's)
        if any(d.shift is not None for d in uniq_tr):
            shift = torch.stack([
                (d.shift.to(torch.float32).cpu() if d.shift is not None else torch.zeros(D)) for d in uniq_tr
            ])[group].unsqueeze(1).to(device)
        if any(float(d.scale) != 1.0 for d in uniq_tr):
            scale = torch.tensor([float(uniq_tr[g].scale) for g in group]).view(R, 1, 1).to(device)
    return ReplicaData(
        x=x, y=y, offsets=torch.as_tensor(off[group], dtype=torch.long).to(device),
        sizes=[len(uniq_tr[g]) for g in group], shift=shift, scale=scale, test_x=tx, test_y=ty,
        test_offsets=torch.as_tensor(toff[group], dtype=torch.long).to(device), n_test=n_test, num_classes=K,
    )


def draw_chunk(stream_seeds: Sequence[int], sizes: Sequence[int], k: int, batch: int, chunk: int = CHUNK) -> torch.Tensor:
    """Minibatch indices (chunk, R, batch) for chunk k (steps k*chunk .. (k+1)*chunk-1), local to each dataset."""
    out = []
    for s, n in zip(stream_seeds, sizes):
        g = torch.Generator().manual_seed(derive_seed(s, k))  # chunk k of stream s
        out.append(torch.randint(int(n), (chunk, batch), generator=g))
    return torch.stack(out, dim=1)


# ------------------------------------------------------------------------------------------------
# evaluation
# ------------------------------------------------------------------------------------------------
@torch.no_grad()
def evaluate(model: FCN, data: ReplicaData, max_elems: int = 1 << 25) -> tuple[torch.Tensor, torch.Tensor]:
    """Test accuracy and mean cross-entropy per replica (R,), on the device, model in eval mode."""
    was = model.training
    model.eval()
    R, n = data.R, data.n_test
    E = max(1, min(n, max_elems // max(1, R * data.dim)))
    correct = torch.zeros(R, device=data.x.device)
    loss = torch.zeros(R, device=data.x.device)
    for i in range(0, n, E):
        j = min(n, i + E)
        ar = torch.arange(i, j, device=data.x.device)
        idx = data.test_offsets[:, None] + ar[None]
        out = model(data.normalize(data.test_x[idx]), masked=True)
        yb = data.test_y[idx]
        loss += F.cross_entropy(out.flatten(0, 1), yb.flatten(), reduction="none").view(R, -1).sum(1)
        correct += (out.argmax(-1) == yb).sum(1).to(torch.float32)
    model.train(was)
    return correct / n, loss / n


# ------------------------------------------------------------------------------------------------
# the step
# ------------------------------------------------------------------------------------------------
class Stepper:
    """One SGD step on all replicas: ``losses (R,) = step(idx (R, B) global rows)``."""

    def __init__(self, model: FCN, data: ReplicaData, lr: float, mask_forward: bool = False, fused: bool = True):
        self.model, self.data, self.lr, self.mask_forward = model, data, float(lr), mask_forward
        self.fused = fused
        wb = {id(p) for p in [*model.weights, *model.biases]}
        self.others = [p for p in model.parameters() if id(p) not in wb]  # batch-norm parameters
        self.params = [p for p in model.parameters()]
        self.weights = list(model.weights)
        self.masks = model.masks()
        self.biases = list(model.biases)
        self.bias_masks = model.bias_masks()
        self.prune_bias = any(bool((bm < 1).any()) for bm in self.bias_masks)

    def __call__(self, idx: torch.Tensor) -> torch.Tensor:
        m, d = self.model, self.data
        R, B = idx.shape
        xb = d.normalize(d.x[idx])
        yb = d.y[idx]
        if self.fused:  # weights and biases are updated inside the backward pass
            out = m(xb, masked=self.mask_forward, sgd_lr=self.lr)
            losses = F.cross_entropy(out.flatten(0, 1), yb.flatten(), reduction="none").view(R, B).mean(1)
            if self.others:
                grads = torch.autograd.grad(losses.sum(), self.others)
                with torch.no_grad():
                    torch._foreach_add_(self.others, grads, alpha=-self.lr)
            else:
                losses.sum().backward()
        else:
            out = m(xb, masked=self.mask_forward)
            losses = F.cross_entropy(out.flatten(0, 1), yb.flatten(), reduction="none").view(R, B).mean(1)
            grads = torch.autograd.grad(losses.sum(), self.params)
            with torch.no_grad():
                torch._foreach_add_(self.params, grads, alpha=-self.lr)
        with torch.no_grad():
            torch._foreach_mul_(self.weights, self.masks)
            if self.prune_bias:
                torch._foreach_mul_(self.biases, self.bias_masks)
        return losses.detach()


class GraphStepper:
    """The same step captured as a CUDA graph (static index buffer in, static loss buffer out)."""

    def __init__(self, eager: Stepper, batch: int):
        m = eager.model
        self.eager = eager
        dev = m.weights[0].device
        self.idx = torch.zeros(m.R, batch, dtype=torch.long, device=dev)
        saved = {k: v.detach().clone() for k, v in m.state_dict().items()}
        s = torch.cuda.Stream()
        s.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(s):
            for _ in range(3):
                eager(self.idx)
        torch.cuda.current_stream().wait_stream(s)
        self.graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(self.graph):
            self.loss = eager(self.idx)
        with torch.no_grad():  # undo warm-up and capture updates
            for k, v in m.state_dict().items():
                v.copy_(saved[k])

    def __call__(self, idx: torch.Tensor) -> torch.Tensor:
        self.idx.copy_(idx)
        self.graph.replay()
        return self.loss.clone()


def make_stepper(model: FCN, data: ReplicaData, lr: float, batch: int, mask_forward: bool = False,
                 compile: str = "auto"):
    eager = Stepper(model, data, lr, mask_forward)
    dev = model.weights[0].device
    if dev.type == "cuda" and compile in ("auto", "graph"):
        try:
            return GraphStepper(eager, batch)
        except Exception as e:  # pragma: no cover - GPU only
            warnings.warn(f"CUDA graph capture failed ({e}); using the eager step")
    return eager


# ------------------------------------------------------------------------------------------------
# the loop
# ------------------------------------------------------------------------------------------------
@dataclass
class MaskUpdates:
    """Masks that change during training: ``update(t)`` runs when step t of ``steps`` is reached *inside*
    :func:`train` (after the segment ending at t, before hooks, evaluation and checkpoint at t; never at
    ``start_step``, so a run resumed from a checkpoint taken at t does not update twice). It must change the model's
    mask buffers and weights in place, be a pure function of the model state, the step and fixed seeds (then a
    resumed run and a replica alone or in any batch stay identical), and not read device values back per step."""

    steps: Sequence[int]
    update: Callable[[int], None]


def new_history(R: int) -> list[dict]:
    return [{"eval": {"step": [], "test_acc": [], "test_loss": [], "train_loss": []},
             "curve": {"step": [], "loss": []}, "window": [0.0, 0]} for _ in range(R)]


def train(model: FCN, data: ReplicaData, steps: int, *, lr: float, batch: int, stream_seeds: Sequence[int],
          start_step: int = 0, history: list[dict] | None = None, eval_every: int = 1000,
          checkpoint_every: int = 0, on_checkpoint: Callable[[int, list], None] | None = None,
          hooks: dict[int, Callable[[int], None]] | None = None, mask_forward: bool = False,
          compile: str = "auto", progress: bool = True, desc: str = "", round_idx: int = 0,
          replica_names: Sequence[str] | None = None, chunk: int = CHUNK,
          mask_updates: MaskUpdates | None = None) -> dict:
    """Train all replicas from ``start_step`` to ``steps`` (step t = after t updates).

    ``hooks[t](t)`` runs when step t is reached (e.g. saving θ(t_rewind); t = start_step included),
    ``on_checkpoint(t, history)`` at multiples of ``checkpoint_every`` (not at the end), evaluation on
    the test split at multiples of ``eval_every`` and at ``steps``; ``mask_updates`` (:class:`MaskUpdates`) at
    its steps. Returns a dict with ``history``
    (one per replica: eval points, train-loss window means, train-loss curve per chunk), ``wall_s``,
    ``steps_per_s``.
    """
    with _cpu_threads_for(model, data, batch):
        R = model.R
        names = list(replica_names) if replica_names is not None else [f"replica {r}" for r in range(R)]
        hist = history if history is not None else new_history(R)
        hooks = dict(hooks or {})
        update_steps = sorted({int(u) for u in mask_updates.steps}) if mask_updates is not None else []
        model.train()
        stepper = make_stepper(model, data, lr, batch, mask_forward, compile)
        dev = data.x.device
        loss_buf = torch.zeros(chunk, R, device=dev)
        t = start_step
        if t in hooks:
            hooks[t](t)
        if t < steps and not hist[0]["eval"]["step"]:  # fresh start: evaluate the starting point
            _record_eval(model, data, hist, t, window=False)
        bar = None
        if progress:
            from tqdm.auto import tqdm

            bar = tqdm(total=steps, initial=start_step, desc=desc or f"round {round_idx}", leave=False,
                       unit="step", dynamic_ncols=True)
        cached_k, cached = -1, None
        t0 = time.perf_counter()
        done0 = t
        try:
            while t < steps:
                # segment end: next chunk boundary, eval, checkpoint, hook or the end
                ends = [steps, (t // chunk + 1) * chunk, (t // eval_every + 1) * eval_every]
                if checkpoint_every:
                    ends.append((t // checkpoint_every + 1) * checkpoint_every)
                ends += [h for h in hooks if h > t]
                ends += [u for u in update_steps if u > t]
                end = min(ends)
                k = t // chunk
                if k != cached_k:
                    cached = (draw_chunk(stream_seeds, data.sizes, k, batch, chunk).to(dev, non_blocking=True)
                              + data.offsets.view(1, R, 1))
                    cached_k = k
                i0 = t - k * chunk
                for i in range(i0, i0 + end - t):
                    loss_buf[i - i0] = stepper(cached[i])
                n = end - t
                losses = loss_buf[:n].cpu().double().numpy()  # the only host sync of the segment
                bad = ~np.isfinite(losses)
                if bad.any():
                    i, r = np.argwhere(bad)[0]
                    raise TrainingDiverged(
                        f"training diverged (loss {losses[i, r]}) in round {round_idx} at step {t + i + 1} "
                        f"for {names[r]}; lower train.lr or check the data", round_idx=round_idx,
                        step=int(t + i + 1), replica=int(r), loss=float(losses[i, r]))
                for r in range(R):
                    h = hist[r]
                    h["curve"]["step"].append(int(end))
                    h["curve"]["loss"].append(float(losses[:, r].mean()))
                    h["window"][0] += float(losses[:, r].sum())
                    h["window"][1] += int(n)
                t = end
                if bar is not None:
                    bar.update(n)
                    bar.set_postfix(loss=f"{float(losses[-1].mean()):.3f}", refresh=False)
                if mask_updates is not None and t in update_steps:
                    mask_updates.update(t)
                if t in hooks:
                    hooks[t](t)
                if t % eval_every == 0 or t == steps:
                    _record_eval(model, data, hist, t)
                if checkpoint_every and t % checkpoint_every == 0 and t < steps and on_checkpoint is not None:
                    on_checkpoint(t, hist)
        finally:
            if bar is not None:
                bar.close()
        if dev.type == "cuda":
            torch.cuda.synchronize()
        wall = time.perf_counter() - t0
        return {"history": hist, "wall_s": wall, "steps_per_s": (t - done0) / wall if wall > 0 else float("nan")}


@contextmanager
def _cpu_threads_for(model: FCN, data: ReplicaData, batch: int):
    """Run tiny CPU steps single-threaded (they are dominated by thread wake-ups); restore the count after."""
    threads = torch.get_num_threads()
    work = batch * sum(p.numel() for p in model.weights)  # per step: batch x weights of all replicas
    if data.x.device.type == "cpu" and work < SMALL_STEP_WORK:
        torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def _record_eval(model: FCN, data: ReplicaData, hist: list[dict], t: int, window: bool = True) -> None:
    acc, loss = evaluate(model, data)
    acc, loss = acc.cpu().tolist(), loss.cpu().tolist()
    for r, h in enumerate(hist):
        e = h["eval"]
        e["step"].append(int(t))
        e["test_acc"].append(float(acc[r]))
        e["test_loss"].append(float(loss[r]))
        s, c = h["window"]
        e["train_loss"].append(float(s / c) if (window and c) else None)
        h["window"] = [0.0, 0]


__all__ = ["train", "evaluate", "stack_datasets", "ReplicaData", "Stepper", "TrainingDiverged", "draw_chunk",
           "new_history", "CHUNK", "MaskUpdates"]
