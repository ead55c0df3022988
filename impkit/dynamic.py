"""Masks that change during training (dynamic sparse training): the engine feature behind SET.

A pruning method registered with ``dynamics=`` (:class:`Dynamics`, :func:`impkit.methods.register`) trains each
round n >= 1 as an independent sparse run: its mask m(n) from the method (e.g. random, at round n's counts) is only
the mask the round *starts* with; the round starts from θ(0) (``start="init"``) or θ(t_rewind) (``"rewind"``),
trains the round's steps t_rewind..T on the round's minibatch stream, and every ``period`` steps drops and regrows
weights in place (:func:`drop_and_regrow`). No update happens in the last ``1 - stop_fraction`` of the round. The
round's ``mask.npz`` holds the mask at the *end* of the round; ``checkpoint.pt`` carries the current mask, so a
resume mid-round reloads it (:mod:`impkit.rounds`).

**One update** of one replica, per layer l with k_l kept weights (k_l = IMP's count of round n for that layer; it is
the same before and after the update):

1. *drop*: d_l = min(round(ζ k_l), N_l - k_l) kept weights with the smallest |W| (ties: lower flat index, row-major
   (out, in)) are removed and set to 0;
2. *regrow*: d_l positions among the entries that were **not kept before this update** (so a weight just dropped is
   not regrown at once) are added, chosen uniformly at random (``regrow="random"``, SET) by ranking those entries
   with uniform keys drawn on the CPU from ``derive_seed(seed, "mask-update", n, t, l)``; regrown weights start
   at exactly 0 (their value while pruned).

   ``regrow="gradient"`` (RigL, Evci et al. 2020) ranks the same entries by the largest |∂L/∂W_l| instead (keys
   −|G|; ties: lower flat index), G the gradient of the mean cross-entropy with respect to the *effective* weights
   W ⊙ m (dense: inactive entries get δ_i x_j, their gradient if they were present), on ``batch`` training rows of
   the replica drawn uniformly with replacement by a CPU generator seeded ``derive_seed(seed, RIGL_BATCH, n, t)``
   (:func:`dense_gradients`); regrown weights again start at exactly 0.

ζ is constant (``decay="constant"``, SET) or cosine-decayed (``decay="cosine"``, RigL): at update step t of a round
running t0..T, ζ_t = ζ/2 · (1 + cos(π (t − t0) / (stop_fraction (T − t0)))) (:meth:`Dynamics.zeta_at`).

Biases are never dropped or regrown. Every step is vectorised over the batch's dynamic replicas (in chunks of at
most :data:`UPDATE_ELEMS` weights, so the workspace stays below about 0.7 GB whatever the batch): a stable sort of
each replica's scores and keys, rank comparison against per-replica counts on the device; there is no host
synchronisation except the upload of the random keys (or the gradient's minibatch indices).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import torch

from impkit.seeding import derive_seed

UPDATE_ELEMS = 1 << 24  # weights updated at once (the sorts' workspace: <= 44 B per weight, 0.7 GB)
MASK_UPDATE = "mask-update"  # the random stream of regrowth: derive_seed(seed, MASK_UPDATE, n, t, layer)
RIGL_BATCH = "rigl-batch"  # the minibatch of RigL's gradient: derive_seed(seed, RIGL_BATCH, n, t)
REGROW = ("random", "gradient")
DECAY = ("constant", "cosine")


@dataclass(frozen=True)
class Dynamics:
    """How a dynamic method's mask changes in a round: ``start`` ("init" = θ(0), "rewind" = θ(t_rewind)),
    ``period`` (steps between updates), ``zeta`` (fraction of each layer's kept weights dropped and regrown per
    update), ``stop_fraction`` (no update after this fraction of the round's steps), ``regrow`` ("random": SET;
    "gradient": RigL's largest |∂L/∂W|), ``decay`` of ζ over the round ("constant" or "cosine")."""

    start: str = "init"
    period: int = 100
    zeta: float = 0.3
    stop_fraction: float = 0.75
    regrow: str = "random"
    decay: str = "constant"

    def __post_init__(self):
        if self.start not in ("init", "rewind") or self.regrow not in REGROW or self.decay not in DECAY:
            raise ValueError(f"unsupported dynamics {self}")
        if self.period <= 0 or not 0 < self.zeta < 1 or not 0 <= self.stop_fraction <= 1:
            raise ValueError(f"bad dynamics settings {self}")

    def update_steps(self, t0: int, T: int) -> list[int]:
        """Steps t (t0 < t < T) after which the mask is updated: t0 + period·j with t - t0 <= stop_fraction (T - t0)."""
        last = t0 + math.floor(self.stop_fraction * (T - t0))
        return [t for t in range(t0 + self.period, min(last, T - 1) + 1, self.period)]

    def zeta_at(self, t: int, t0: int, T: int) -> float:
        """ζ at update step t of a round t0..T: ζ (constant) or ζ/2 (1 + cos(π (t − t0) / (stop_fraction (T − t0))))."""
        if self.decay == "constant":
            return float(self.zeta)
        span = self.stop_fraction * (T - t0)
        return float(self.zeta) / 2 * (1 + math.cos(math.pi * min(1.0, (t - t0) / span))) if span > 0 else 0.0

    def drop_counts(self, kept: int, total: int, zeta: float | None = None) -> int:
        """d = min(round(ζ k), N - k) (rounded half up; ``zeta`` default: ζ), the weights dropped and regrown per
        update."""
        z = self.zeta if zeta is None else zeta
        return max(0, min(int(math.floor(z * kept + 0.5)), total - kept))


def _ranks(score: torch.Tensor) -> torch.Tensor:
    """Rank of each entry of each row (R, N) in ascending order (stable: ties by lower index)."""
    order = torch.sort(score, dim=1, stable=True).indices
    ranks = torch.empty_like(order)
    ranks.scatter_(1, order, torch.arange(score.shape[1], device=score.device).expand_as(order).contiguous())
    return ranks


@torch.no_grad()
def drop_and_regrow(weights: torch.Tensor, masks: torch.Tensor, rows: torch.Tensor, drop: torch.Tensor,
                    keys: torch.Tensor) -> None:
    """One update of the replicas ``rows`` of one layer, in place (module docstring).

    ``weights``/``masks``: the stacked layer (R, out, in), float masks; ``rows`` (Rs,) long replica indices;
    ``drop`` (Rs,) long d per replica; ``keys`` (Rs, out·in) float regrowth keys (smaller = regrown first)."""
    W = weights[rows].flatten(1)
    M = masks[rows].flatten(1) > 0.5
    inf = torch.tensor(float("inf"), dtype=W.dtype, device=W.device)
    d = drop.view(-1, 1)
    gone = M & (_ranks(torch.where(M, W.abs(), inf)) < d)
    grown = ~M & (_ranks(torch.where(M, inf, keys.to(W.dtype))) < d)
    new = ((M & ~gone) | grown).to(masks.dtype)
    masks.index_copy_(0, rows, new.view(-1, *masks.shape[1:]))
    weights.index_copy_(0, rows, (W * new).view(-1, *weights.shape[1:]))


def regrow_keys(seeds: Sequence[int], n: int, t: int, layer: int, size: int, device) -> torch.Tensor:
    """(Rs, size) uniform keys, row r from ``derive_seed(seeds[r], MASK_UPDATE, n, t, layer)`` (CPU generator)."""
    out = []
    for s in seeds:
        g = torch.Generator().manual_seed(derive_seed(int(s), MASK_UPDATE, n, t, layer))
        out.append(torch.rand(size, generator=g))
    return torch.stack(out).to(device)


def dense_gradients(model, data, rows: Sequence[int], seeds: Sequence[int], n: int, t: int,
                    batch: int) -> list[torch.Tensor]:
    """RigL's gradient: per layer l, G_l (Rs, out, in) = ∂L_r/∂(W_l ⊙ m_l) of each replica r in ``rows`` (dense:
    inactive entries included), L_r the mean cross-entropy of replica r's current network on ``batch`` of its
    training rows drawn uniformly with replacement by a CPU generator seeded ``derive_seed(seeds[i], RIGL_BATCH, n,
    t)``. ``model``: the stacked :class:`impkit.model.FCN` (its weights are already zero where masked);
    ``data``: the batch's :class:`impkit.train.ReplicaData`. Float32, on the model's device; no input batch-norm."""
    import torch.nn.functional as F

    if getattr(model, "input_bn", False):
        raise ValueError("gradient regrowth (RigL) does not support model.input_bn; set model.input_bn=false")
    dev = model.weights[0].device
    ridx = torch.as_tensor(list(rows), dtype=torch.long, device=dev)
    local = []
    for r, s in zip(rows, seeds):
        g = torch.Generator().manual_seed(derive_seed(int(s), RIGL_BATCH, int(n), int(t)))
        local.append(torch.randint(int(data.sizes[r]), (int(batch),), generator=g))
    idx = torch.stack(local).to(dev) + data.offsets[ridx].view(-1, 1)
    x, y = data.normalize(data.x[idx], ridx), data.y[idx]
    Ws = [model.weights[l].detach()[ridx].requires_grad_(True) for l in range(model.num_layers)]
    bs = [model.biases[l].detach()[ridx] for l in range(model.num_layers)]
    h = x
    for l, (w, b) in enumerate(zip(Ws, bs)):
        h = torch.baddbmm(b.unsqueeze(1), h, w.transpose(1, 2))
        if l < len(Ws) - 1:
            h = torch.relu(h)
    loss = F.cross_entropy(h.flatten(0, 1), y.flatten(), reduction="none").view(len(local), -1).mean(1).sum()
    return [g.detach() for g in torch.autograd.grad(loss, Ws)]


class ReplicaDynamics:
    """The updates of the dynamic replicas of one training batch: ``rows`` (indices into the batch) with their
    run ``seeds``, ``Dynamics`` and ``kept`` counts per layer (the round's counts, constant through the round);
    ``__call__(t)`` updates those whose schedule holds t. Gradient regrowth needs ``data`` (the batch's
    :class:`impkit.train.ReplicaData`) and the minibatch size ``batch``."""

    def __init__(self, model, rows: Sequence[int], seeds: Sequence[int], dyns: Sequence[Dynamics],
                 kept: Sequence[Sequence[int]], n: int, t0: int, T: int, data=None, batch: int = 0):
        self.model, self.n, self.t0, self.T, self.data, self.batch = model, int(n), int(t0), int(T), data, int(batch)
        if any(d.regrow == "gradient" for d in dyns) and (data is None or self.batch <= 0):
            raise ValueError("gradient regrowth needs the batch's data and a minibatch size")
        self.groups = []  # (Dynamics, rows, seeds, steps, kept) of replicas sharing one Dynamics
        for dyn in dict.fromkeys(dyns):
            sel = [i for i, d in enumerate(dyns) if d == dyn]
            self.groups.append((dyn, [rows[i] for i in sel], [seeds[i] for i in sel], set(dyn.update_steps(t0, T)),
                                [list(kept[i]) for i in sel]))
        self.steps = sorted(set().union(*(g[3] for g in self.groups))) if self.groups else []

    def __call__(self, t: int) -> None:
        m = self.model
        dev = m.weights[0].device
        for dyn, rows, seeds, steps, kept in self.groups:
            if t not in steps:
                continue
            idx = torch.as_tensor(rows, dtype=torch.long, device=dev)
            zeta = dyn.zeta_at(t, self.t0, self.T)
            grads = (dense_gradients(m, self.data, rows, seeds, self.n, t, self.batch) if dyn.regrow == "gradient"
                     else None)  # every layer's, at the weights before this update
            for l in range(m.num_layers):
                total = m.mask(l)[0].numel()
                d = [dyn.drop_counts(k[l], total, zeta) for k in kept]
                if not any(d):
                    continue
                dt = torch.as_tensor(d, dtype=torch.long, device=dev)
                c = max(1, UPDATE_ELEMS // total)  # replicas per chunk: bounded workspace (sorts of c x total)
                for i in range(0, len(rows), c):
                    keys = (regrow_keys(seeds[i:i + c], self.n, t, l, total, dev) if grads is None
                            else -grads[l][i:i + c].flatten(1).abs())
                    drop_and_regrow(m.weights[l].data, m.mask(l), idx[i:i + c], dt[i:i + c], keys)


__all__ = ["Dynamics", "drop_and_regrow", "regrow_keys", "dense_gradients", "ReplicaDynamics", "MASK_UPDATE",
           "RIGL_BATCH", "REGROW", "DECAY"]
