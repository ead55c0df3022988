"""Cavity scores (paper Eq. 5-6), exactly and in closed form, and their grouping by "fate" (Fig 5B/C).

For unit i with preactivation lam_i = sum_j W_ij X_j + b_i and the cavity preactivation lam_i^(-j) = lam_i - W_ij X_j:

    cavity(W_ij) = sign(kurt[lam_i] - 3) * (kurt[lam_i^(-j)] - kurt[lam_i]) / kurt[lam_i]

which is Eq. 5 (positive: removing W_ij makes lam_i *less* Gaussian; a unit with kurt exactly 3 scores 0).

Closed form. With u = lam - E lam (H, P) and v_ij = W_ij (X_j - E X_j),

    E[(u - v)^2] = E u^2 - 2 W E[u Xc] + W^2 E[Xc^2]
    E[(u - v)^4] = E u^4 - 4 W E[u^3 Xc] + 6 W^2 E[u^2 Xc^2] - 4 W^3 E[u Xc^3] + W^4 E[Xc^4]

and the four cross moments are matrix products over samples (u @ Xc, u^3 @ Xc, u^2 @ Xc^2, u @ Xc^3), so all
H x D scores cost about four forward passes. Pruned weights (W_ij = 0) score exactly 0.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import torch

from impkit.metrics.conventions import as_numpy

__all__ = [
    "cavity_scores",
    "cavity_scores_bruteforce",
    "fate_round",
    "group_by_fate",
    "cavity_by_fate_over_rounds",
]


def _score(k: torch.Tensor, k_cav: torch.Tensor) -> torch.Tensor:
    """Eq. 5 from kurt[lam] (H,) and kurt[lam^(-j)] (H, D)."""
    sign = torch.sign(k - 3.0)[:, None]
    return sign * (k_cav - k[:, None]) / k[:, None]


def _kurt_in_dtype(v: torch.Tensor) -> torch.Tensor:
    """Plain kurtosis of the columns of v (P, n) -> (n,), computed in v's dtype (the public
    :func:`impkit.metrics.kurtosis` always works in float64)."""
    vc = v - v.mean(0, keepdim=True)
    m2 = (vc * vc).mean(0)
    return (vc ** 4).mean(0) / (m2 * m2)


@torch.no_grad()
def cavity_scores(weight, inputs, bias=None, dtype: torch.dtype = torch.float64, batch_size: int = 4096,
                  return_kurtosis: bool = False):
    """All cavity scores of a layer, exactly, in closed form.

    Args:
        weight: (H, D) weights (masked: theta(t_rewind) * m(n-1)). Torch or numpy; any device.
        inputs: (P, D) inputs the layer sees (already normalised / batch-normed).
        bias: (H,) or None. A bias shifts lam and cancels in every central moment; accepted for completeness.
        dtype: accumulation dtype (float64 default; float32 is faster but loses digits in the differences).
        batch_size: rows of ``inputs`` processed at a time.
        return_kurtosis: also return (kurt[lam] (H,), kurt[lam^(-j)] (H, D)).

    Returns:
        scores (H, D) torch tensor in ``dtype`` on the weight's device; 0 for pruned weights, NaN for the only
        surviving weight of a unit (without it the preactivation is constant and has no kurtosis).
    """
    w = torch.as_tensor(weight).detach()
    dev = w.device
    w = w.to(dtype)
    x = torch.as_tensor(inputs).detach().to(dev)
    p, d = x.shape
    h = w.shape[0]
    del bias  # cancels: only central moments enter
    mu = torch.zeros(d, dtype=dtype, device=dev)
    for i in range(0, p, batch_size):
        mu += x[i:i + batch_size].to(dtype).sum(0)
    mu /= p
    su2 = torch.zeros(h, dtype=dtype, device=dev)
    su4 = torch.zeros(h, dtype=dtype, device=dev)
    c1 = torch.zeros(h, d, dtype=dtype, device=dev)
    c3 = torch.zeros(h, d, dtype=dtype, device=dev)
    c22 = torch.zeros(h, d, dtype=dtype, device=dev)
    c13 = torch.zeros(h, d, dtype=dtype, device=dev)
    sx2 = torch.zeros(d, dtype=dtype, device=dev)
    sx4 = torch.zeros(d, dtype=dtype, device=dev)
    for i in range(0, p, batch_size):
        xc = x[i:i + batch_size].to(dtype) - mu
        u = xc @ w.T  # (B, H) centred preactivations
        u2 = u * u
        xc2 = xc * xc
        su2 += u2.sum(0)
        su4 += (u2 * u2).sum(0)
        both = torch.cat([u, u2 * u], dim=1).T @ xc  # one GEMM for E[u Xc] and E[u^3 Xc]
        c1 += both[:h]
        c3 += both[h:]
        c22 += u2.T @ xc2
        c13 += u.T @ (xc2 * xc)
        sx2 += xc2.sum(0)
        sx4 += (xc2 * xc2).sum(0)
    m2, m4 = su2 / p, su4 / p
    c1, c3, c22, c13, sx2, sx4 = c1 / p, c3 / p, c22 / p, c13 / p, sx2 / p, sx4 / p
    w2 = w * w
    m2c = m2[:, None] - 2 * w * c1 + w2 * sx2
    m4c = m4[:, None] - 4 * w * c3 + 6 * w2 * c22 - 4 * w2 * w * c13 + w2 * w2 * sx4
    k = m4 / (m2 * m2)
    k_cav = m4c / (m2c * m2c)
    s = _score(k, k_cav)
    # Removing the last weight of a unit leaves a constant preactivation: its kurtosis, and so the score, is
    # undefined (numerically 0/0, which would otherwise surface as an arbitrary huge number).
    s = torch.where(m2c <= 1e-9 * m2[:, None], torch.full_like(s, float("nan")), s)
    s = torch.where(w == 0, torch.zeros_like(s), s)
    if return_kurtosis:
        return s, k, k_cav
    return s


@torch.no_grad()
def cavity_scores_bruteforce(weight, inputs, bias=None, units: Sequence[int] | None = None,
                             dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """Reference: recompute the kurtosis with each weight removed (cost H x D x P). For tests and benchmarks.

    ``units`` restricts the computation to some rows (the others are NaN).
    """
    w = torch.as_tensor(weight).detach().to(dtype)
    x = torch.as_tensor(inputs).detach().to(device=w.device, dtype=dtype)
    h, d = w.shape
    lam = x @ w.T
    if bias is not None:
        lam = lam + torch.as_tensor(bias).to(device=w.device, dtype=dtype)
    out = torch.full((h, d), float("nan"), dtype=dtype, device=w.device)
    for i in (range(h) if units is None else units):
        k = _kurt_in_dtype(lam[:, i:i + 1])  # (1,)
        k_cav = _kurt_in_dtype(lam[:, i:i + 1] - x * w[i][None, :])  # (D,)
        out[i] = _score(k, k_cav[None, :])[0]
        out[i][w[i] == 0] = 0.0
    return out


def fate_round(masks_by_round, never: int | None = None) -> np.ndarray:
    """The IMP round at which each weight is pruned.

    Args:
        masks_by_round: sequence m(0), m(1), ..., m(N) of same-shape 0/1 masks of one layer; m(0) is the mask
            before any pruning (normally all ones), m(n) the mask after the n-th pruning.
        never: value for weights that survive m(N) (default N + 1).

    Returns:
        int64 array of the masks' shape: n if m(n-1) = 1 and m(n) = 0; 0 for weights already absent in m(0);
        ``never`` for survivors. Raises if a weight reappears (masks must be nested).
    """
    ms = [as_numpy(m) != 0 for m in masks_by_round]
    n = len(ms) - 1
    never = n + 1 if never is None else never
    fate = np.full(ms[0].shape, never, dtype=np.int64)
    fate[~ms[0]] = 0
    for r in range(1, n + 1):
        if np.any(ms[r] & ~ms[r - 1]):
            raise ValueError(f"mask of round {r} revives weights pruned earlier: masks must be nested")
        fate[ms[r - 1] & ~ms[r]] = r
    return fate


def group_by_fate(scores, fate, mask=None, fates: Sequence[int] | None = None) -> dict:
    """Group scores by fate round (Fig 5B): per group mean, std, sem, median, count.

    Args:
        scores: array of any shape (e.g. (H, D)).
        fate: same shape, from :func:`fate_round`.
        mask: optional same-shape bool: only these entries count (e.g. weights surviving at scoring time).
        fates: the groups to report (default: all values present, sorted).

    Returns:
        dict of 1-D arrays keyed "fate", "mean", "std", "sem", "median", "frac_pos" (share of positive scores: a
        sign-only summary that, unlike the mean, does not grow with the weights' magnitude), "count" (NaN for
        empty groups).
    """
    s = np.asarray(as_numpy(scores), dtype=np.float64).ravel()
    f = np.asarray(fate).ravel()
    keep = np.isfinite(s)
    if mask is not None:
        keep &= as_numpy(mask).ravel() != 0
    groups = np.unique(f[keep]) if fates is None else np.asarray(list(fates))
    out = {k: np.full(len(groups), np.nan) for k in ("mean", "std", "sem", "median", "frac_pos")}
    out["fate"] = groups.astype(np.int64)
    out["count"] = np.zeros(len(groups), dtype=np.int64)
    for i, g in enumerate(groups):
        v = s[keep & (f == g)]
        out["count"][i] = v.size
        if v.size:
            out["mean"][i] = v.mean()
            out["median"][i] = np.median(v)
            out["frac_pos"][i] = float((v > 0).mean())
            out["std"][i] = v.std(ddof=1) if v.size > 1 else 0.0
            out["sem"][i] = out["std"][i] / np.sqrt(v.size)
    return out


def cavity_by_fate_over_rounds(scores_by_round, masks_by_round, prune_fraction: float = 0.3,
                               n_weights: int | None = None, scale: str = "formula") -> dict:
    """Fig 5C: scores computed with mask m(n) for n = 0..R-1, surviving weights only, times N_W(n), by fate.

    Args:
        scores_by_round: list of (H, D) score arrays; entry n computed at theta(t_rewind) * m(n).
        masks_by_round: m(0..N) as for :func:`fate_round` (N >= len(scores_by_round) - 1).
        prune_fraction: s, for N_W(n) = N (1 - s)^n.
        n_weights: N (default: number of weights in m(0)).
        scale: "formula" (N(1-s)^n, as in the paper), "count" (actual survivors of m(n)) or "none".

    Returns:
        dict with "fate" (F,), "round" (R,), "mean" (R, F) (NaN where a fate group has no survivors, e.g. weights
        already pruned), "count" (R, F), "n_w" (R,).
    """
    fate = fate_round(masks_by_round)
    m0 = as_numpy(masks_by_round[0]) != 0
    n_total = int(m0.sum()) if n_weights is None else int(n_weights)
    fates = np.unique(fate[m0])
    r_count = len(scores_by_round)
    mean = np.full((r_count, len(fates)), np.nan)
    count = np.zeros((r_count, len(fates)), dtype=np.int64)
    n_w = np.zeros(r_count)
    for n, sc in enumerate(scores_by_round):
        mn = as_numpy(masks_by_round[n]) != 0
        if scale == "formula":
            n_w[n] = n_total * (1 - prune_fraction) ** n
        elif scale == "count":
            n_w[n] = mn.sum()
        elif scale == "none":
            n_w[n] = 1.0
        else:
            raise ValueError("scale must be 'formula', 'count' or 'none'")
        g = group_by_fate(sc, fate, mask=mn, fates=fates)
        mean[n] = g["mean"] * n_w[n]
        count[n] = g["count"]
    return {"fate": fates, "round": np.arange(r_count), "mean": mean, "count": count, "n_w": n_w}


def on_time_share(scores_by_round, masks_by_round, fate: np.ndarray | None = None) -> float:
    """C4's statistic: of the fate groups f (weights removed at round f, 1 <= f <= N) whose surviving members were
    scored at round f − 1, the share with a positive mean score then.

    Args:
        scores_by_round: list of (H, D) scores; entry n computed at θ(t_rewind) ⊙ m(n).
        masks_by_round: m(0..N) as for :func:`fate_round`.
        fate: (H, D) fate rounds to group by (default :func:`fate_round` of the masks; the shuffle null passes
            permuted fates). A group's members count at round f − 1 only where m(f − 1) keeps them.
    Returns:
        the share in [0, 1]; NaN if no group was scored.
    """
    ms = [as_numpy(m) != 0 for m in masks_by_round]
    f_all = fate_round(ms) if fate is None else np.asarray(fate)
    hits = total = 0
    for f in range(1, len(ms)):
        if f - 1 >= len(scores_by_round):
            break
        sel = (f_all == f) & ms[f - 1]
        if not sel.any():
            continue
        v = np.asarray(as_numpy(scores_by_round[f - 1]), dtype=np.float64)[sel]
        v = v[np.isfinite(v)]
        if v.size:
            total += 1
            hits += bool(v.mean() > 0)
    return hits / total if total else float("nan")


def shuffled_on_time_share(scores_by_round, masks_by_round, magnitude, n_bins: int = 10, n_shuffles: int = 20,
                           seed: int = 0) -> float:
    """C4's null: :func:`on_time_share` with the fates shuffled among the weights of m(0) within bins of
    ``magnitude`` (H, D) (|θ(t_rewind)|: ``n_bins`` equal-count bins), averaged over ``n_shuffles`` shuffles.

    The shuffle keeps how fate depends on magnitude (large weights survive longer) and breaks any link between a
    weight's cavity score and its own fate beyond that: the share it gives is what magnitude alone explains.
    """
    ms = [as_numpy(m) != 0 for m in masks_by_round]
    fate = fate_round(ms)
    alive = ms[0].ravel()
    mag = np.abs(np.asarray(as_numpy(magnitude), dtype=np.float64)).ravel()
    idx = np.flatnonzero(alive)
    order = idx[np.argsort(mag[idx], kind="stable")]
    bins = np.array_split(order, max(1, min(int(n_bins), order.size)))
    rng = np.random.default_rng(seed)
    shares = []
    for _ in range(int(n_shuffles)):
        f = fate.ravel().copy()
        for b in bins:
            f[b] = f[b][rng.permutation(b.size)]
        shares.append(on_time_share(scores_by_round, ms, f.reshape(fate.shape)))
    v = np.asarray(shares, dtype=float)
    return float(np.nanmean(v)) if np.isfinite(v).any() else float("nan")
