"""Batched Poisson maximum-likelihood fit of the RF-width model to mask correlations (half plane, d != 0).

Model, for a unit with half-plane profile S(d), partner counts X(d) and full-mask pair counts N(d)
(:mod:`impkit.metrics.receptive_field` explains why):

    ``mu(d) = A g(d) + rho (2 X(d) - rho N(d))``,   ``g(d) = exp(-dx^2/2sx^2 - dy^2/2sy^2)``

with parameters p = (A, rho, log sx, log sy), bounds A >= 0, rho >= 0 (rho = 0 without a background) and
sigma in [sigma_min, sigma_max]. The log-likelihood ``sum_d S log mu - mu`` is maximised by Fisher scoring (the
Gauss-Newton matrix J^T diag(1/mu) J of the Poisson likelihood, i.e. iteratively reweighted least squares with
weights 1/mu) with Levenberg-Marquardt damping, projected on the bounds; a step is kept only if the likelihood
rises. mu is floored at eps = 1e-10 x the mean count (where the model predicts no pairs at all: far tails with
rho = 0, corners where 2 X < rho N); floored displacements contribute no gradient. Units that have converged
leave the working set. Every evaluation costs O(H x W) per unit.

Arrays: U units, profiles (U, H, 2W-1) on the half plane of :class:`~impkit.metrics.half_plane.HalfPlane`,
parameters (U, 4).
"""
from __future__ import annotations

import numpy as np
from scipy.special import xlogy

from impkit.metrics.detection import KernelScan
from impkit.metrics.half_plane import HalfPlane

__all__ = ["poisson_fit", "start_parameters"]


def start_parameters(scan: KernelScan, t1: np.ndarray, ss: np.ndarray, background: bool) -> np.ndarray:
    """Start (A, rho, log sx, log sy) (U, 4) of the fit from the kernel sums ``t1, ss = scan.sums(sh)``.

    The grid point whose least-squares fit of A g + c N (weights 1/N, A and c in closed form) explains most, i.e.
    the largest ``L / sqrt(Q)`` (the Poisson score); rho = sqrt(c), the background density of a mask whose floor is
    all scattered weights (c = 0, A refitted, if c would be negative or there is no background).
    """
    geo = scan.geo
    u = t1.shape[0]
    num = scan.excess(t1, ss)
    with np.errstate(divide="ignore", invalid="ignore"):
        score = num / np.sqrt(scan.q)[None]
    score = np.where(np.isfinite(score), score, -np.inf).reshape(u, -1)
    g = scan.sig.size
    kbest = score.argmax(axis=1)
    iy, ix = np.unravel_index(kbest, (g, g))
    ar = np.arange(u)
    t, a_, b_ = t1[ar, iy, ix], scan.sg[iy, ix], scan.sgg[iy, ix]
    sn = geo.sum_n
    with np.errstate(divide="ignore", invalid="ignore"):
        det = b_ * sn - a_ * a_
        amp = (sn * t - a_ * ss) / det
        c = (b_ * ss - a_ * t) / det
        amp0 = t / b_  # with c = 0
    if background:
        neg = ~(c > 0)
        amp = np.where(neg, amp0, amp)
        c = np.where(neg, 0.0, c)
    else:
        amp, c = amp0, np.zeros(u)
    floor_amp = 1e-3 * np.maximum(ss, 1e-12) / geo.n_disp  # no peak anywhere: start with a small one
    amp = np.where(amp > floor_amp, amp, floor_amp)
    return np.stack([amp, np.sqrt(np.maximum(c, 0.0)), np.log(scan.sig[ix]), np.log(scan.sig[iy])], axis=1)


# ---- the model and its likelihood ---------------------------------------------------------------------------------


def _model(p: np.ndarray, x2: np.ndarray, geo: HalfPlane):
    """The Gaussian g and the (unfloored) expected counts mu of parameters p (U, 4), with x2 = 2 X (U, H, 2W-1).

    Returns g, mu (U, H, 2W-1) and the squared scaled displacements qx = dx^2/sx^2 (U, 2W-1), qy = dy^2/sy^2 (U, H).
    """
    a, rho = p[:, 0], p[:, 1]
    sx, sy = np.exp(p[:, 2]), np.exp(p[:, 3])
    qx = geo.dx[None, :] ** 2 / sx[:, None] ** 2
    qy = geo.dy[None, :] ** 2 / sy[:, None] ** 2
    ex, ey = np.exp(-0.5 * qx), np.exp(-0.5 * qy)
    g = ey[:, :, None] * ex[:, None, :]
    mu = a[:, None, None] * g
    mu += rho[:, None, None] * x2
    mu -= (rho * rho)[:, None, None] * geo.n_pairs
    return g, mu, qx, qy


def _fisher_and_score(s, x2, p, g, mu, live, qx, qy, geo: HalfPlane, background: bool):
    """Fisher matrix (U, 4, 4) and score (gradient of the log-likelihood, (U, 4)) in p = (A, rho, log sx, log sy).

    ``mu`` is floored and ``live`` (U, H, 2W-1) marks the displacements where it was not (the others contribute
    nothing). The Gaussian's sums over d factor into sums over dy and dx weighted by powers of qy and qx. Without a
    background, rho is frozen at 0 (its row and column of the Fisher matrix are those of the identity, its score 0).
    """
    a, rho = p[:, 0], p[:, 1]
    inv = live / mu
    e = s * inv - live  # S/mu - 1 where the model is live
    jr = x2 - (2.0 * rho)[:, None, None] * geo.n_pairs  # d mu / d rho
    px = np.stack([np.ones_like(qx), qx, qx * qx], axis=2)  # (U, Wd, 3)
    py = np.stack([np.ones_like(qy), qy, qy * qy], axis=2)  # (U, H, 3)
    pyt = py.transpose(0, 2, 1)
    m_e = np.matmul(pyt[:, :2], np.matmul(e * g, px[:, :, :2]))  # sum e g qy^i qx^j
    score = np.stack([m_e[:, 0, 0], (e * jr).sum(axis=(1, 2)), a * m_e[:, 0, 1], a * m_e[:, 1, 0]], axis=1)
    ig = inv * g
    m2 = np.matmul(pyt, np.matmul(ig * g, px))  # sum g^2/mu qy^i qx^j, i, j <= 2
    m1 = np.matmul(pyt[:, :2], np.matmul(ig * jr, px[:, :, :2]))  # sum g jr/mu qy^i qx^j
    f = np.empty((s.shape[0], 4, 4))
    f[:, 0, 0] = m2[:, 0, 0]
    f[:, 0, 1] = f[:, 1, 0] = m1[:, 0, 0]
    f[:, 0, 2] = f[:, 2, 0] = a * m2[:, 0, 1]
    f[:, 0, 3] = f[:, 3, 0] = a * m2[:, 1, 0]
    f[:, 1, 1] = (inv * jr * jr).sum(axis=(1, 2))
    f[:, 1, 2] = f[:, 2, 1] = a * m1[:, 0, 1]
    f[:, 1, 3] = f[:, 3, 1] = a * m1[:, 1, 0]
    f[:, 2, 2] = a * a * m2[:, 0, 2]
    f[:, 3, 3] = a * a * m2[:, 2, 0]
    f[:, 2, 3] = f[:, 3, 2] = a * a * m2[:, 1, 1]
    if not background:  # rho frozen at 0
        f[:, 1, :] = 0.0
        f[:, :, 1] = 0.0
        f[:, 1, 1] = 1.0
        score[:, 1] = 0.0
    return f, score


def _loglik_fisher_score(s, x2, eps, p, geo: HalfPlane, background: bool):
    """Poisson log-likelihood ``sum_d S log mu - mu`` (U,) (the term -log S! does not depend on p and is left out),
    Fisher matrix (U, 4, 4) and score (U, 4) of parameters p (U, 4) for profiles s and x2 = 2 X (U, H, 2W-1);
    mu floored at eps (U,)."""
    g, mu, qx, qy = _model(p, x2, geo)
    live = (mu > eps[:, None, None]) & (geo.half > 0)
    np.maximum(mu, eps[:, None, None], out=mu)
    ll = (s * np.log(mu)).sum(axis=(1, 2)) - (mu * geo.half).sum(axis=(1, 2))
    f, score = _fisher_and_score(s, x2, p, g, mu, live, qx, qy, geo, background)
    return ll, f, score


def _flat_deviance(sh: np.ndarray, ss: np.ndarray, slogs: np.ndarray, geo: HalfPlane) -> np.ndarray:
    """(U,) Poisson deviance of the uniform-floor model c N(d) with its maximum-likelihood c = sum S / sum N."""
    with np.errstate(divide="ignore"):
        ll_flat = (sh * geo.log_n).sum(axis=(1, 2)) + xlogy(ss, ss / geo.sum_n) - ss
    return 2.0 * (slogs - ss - ll_flat)


# ---- projected Levenberg-Marquardt ----------------------------------------------------------------------------


def _project(p: np.ndarray, background: bool, lo: float, hi: float) -> np.ndarray:
    """Clip parameters (U, 4) onto the bounds, in place: A >= 0, rho >= 0 (0 without background), log sigma in
    [lo, hi]."""
    p[:, 0] = np.maximum(p[:, 0], 0.0)
    p[:, 1] = np.maximum(p[:, 1], 0.0) if background else 0.0
    p[:, 2:] = np.clip(p[:, 2:], lo, hi)
    return p


def _frozen(p: np.ndarray, score: np.ndarray, background: bool, lo: float, hi: float) -> np.ndarray:
    """(U, 4) bool: parameters at a bound whose gradient points outward (and rho without background, and the widths
    where A = 0, which have no effect then); they do not move in this step."""
    frozen = np.zeros_like(score, dtype=bool)
    frozen[:, 0] = (p[:, 0] <= 0.0) & (score[:, 0] <= 0.0)
    frozen[:, 1] = ((p[:, 1] <= 0.0) & (score[:, 1] <= 0.0)) if background else True
    frozen[:, 2:] = ((p[:, 2:] >= hi - 1e-12) & (score[:, 2:] >= 0.0)) | (
        (p[:, 2:] <= lo + 1e-12) & (score[:, 2:] <= 0.0)) | frozen[:, :1]  # A = 0: sigma has no effect
    return frozen


def _damped_step(f: np.ndarray, score: np.ndarray, frozen: np.ndarray, lam: np.ndarray) -> np.ndarray:
    """Levenberg-Marquardt step (U, 4): solve (F + lam diag(F)) step = score over the free parameters (frozen ones
    get a zero step; NaN steps of singular systems become 0)."""
    eye = np.eye(4)
    keepf = (~frozen).astype(np.float64)
    f_f = f * keepf[:, :, None] * keepf[:, None, :] + frozen[:, :, None] * eye
    g_f = score * keepf
    diag = np.diagonal(f_f, axis1=1, axis2=2)
    tiny = 1e-12 * np.abs(diag).max(axis=1, keepdims=True) + 1e-300
    a_sys = f_f + (lam[:, None] * np.maximum(diag, tiny) + tiny)[:, :, None] * eye
    return np.nan_to_num(np.linalg.solve(a_sys, g_f[..., None])[..., 0])


class _WorkingSet:
    """The units still being fitted: their data, current parameters, log-likelihood, Fisher matrix, score and
    damping. ``ids`` maps rows back to the full batch."""

    def __init__(self, s, x2, eps, ss, p, geo: HalfPlane, background: bool):
        u = s.shape[0]
        self.ids = np.arange(u)
        self.s, self.x2, self.eps, self.ss, self.p = s, x2, eps, ss, p.copy()
        self.ll, self.f, self.score = _loglik_fisher_score(s, x2, eps, self.p, geo, background)
        self.lam = np.full(u, 1e-3)
        self.active = np.ones(u, dtype=bool)
        self.conv = np.zeros(u, dtype=bool)

    def write_back(self, p: np.ndarray, ll: np.ndarray, converged: np.ndarray) -> None:
        """Copy parameters, log-likelihood and convergence into the full-batch arrays."""
        p[self.ids], ll[self.ids], converged[self.ids] = self.p, self.ll, self.conv

    def compact(self) -> None:
        """Drop the inactive (converged) rows."""
        keep = np.nonzero(self.active)[0]
        self.ids, self.s, self.x2, self.eps, self.ss = (self.ids[keep], self.s[keep], self.x2[keep], self.eps[keep],
                                                        self.ss[keep])
        self.p, self.ll, self.f, self.score, self.lam, self.active, self.conv = (
            self.p[keep], self.ll[keep], self.f[keep], self.score[keep], self.lam[keep], self.active[keep],
            self.conv[keep])


def _lm_iteration(ws: _WorkingSet, geo: HalfPlane, background: bool, lo: float, hi: float) -> None:
    """One damped Fisher-scoring step for the active units of ``ws``: keep it where the likelihood rises (and relax
    the damping), else raise the damping; mark units converged when the gain or the step is negligible, or when no
    step raises the likelihood any more."""
    step = _damped_step(ws.f, ws.score, _frozen(ws.p, ws.score, background, lo, hi), ws.lam)
    cand = _project(ws.p + step, background, lo, hi)
    sel = np.nonzero(ws.active)[0]
    ll_new = np.full(ws.p.shape[0], -np.inf)
    full = sel.size == ws.p.shape[0]
    l_s, f_s, g_s = _loglik_fisher_score(ws.s if full else ws.s[sel], ws.x2 if full else ws.x2[sel], ws.eps[sel],
                                         cand[sel], geo, background)
    ll_new[sel] = l_s
    better = (ll_new > ws.ll) & ws.active
    gain = np.where(better, ll_new - ws.ll, 0.0)
    b_in_sel = better[sel]
    bi = sel[b_in_sel]
    ws.p[bi], ws.ll[bi], ws.f[bi], ws.score[bi] = cand[bi], l_s[b_in_sel], f_s[b_in_sel], g_s[b_in_sel]
    ws.lam = np.clip(np.where(better, ws.lam / 3.0, ws.lam * 4.0), 1e-9, 1e9)
    n = len(ws.p)
    scale = np.stack([np.maximum(ws.p[:, 0], 1e-8 * ws.ss / geo.n_disp + 1e-300), np.maximum(ws.p[:, 1], 1e-8),
                      np.ones(n), np.ones(n)], axis=1)
    small_step = (np.abs(step) / scale).max(axis=1) < 1e-7
    done_ok = better & ((gain <= 1e-10 * np.maximum(ws.ss, 1.0)) | small_step)
    done_ok |= ws.active & ~better & (ws.lam >= 1e5)  # no step raises the likelihood: at the optimum
    ws.conv |= done_ok
    ws.active &= ~done_ok


def poisson_fit(sh: np.ndarray, xh: np.ndarray, geo: HalfPlane, p: np.ndarray, background: bool,
                sigma_min: float, sigma_max: float, n_iter: int):
    """Batched Poisson maximum-likelihood fit of ``mu(d) = A g(d) + rho (2 X(d) - rho N(d))`` (module docstring).

    Args:
        sh: (U, H, 2W-1) half-plane profiles S; xh: half-plane partner counts X (same shape).
        geo: their :class:`HalfPlane`; p: (U, 4) start (A, rho, log sx, log sy), projected on the bounds first.
        background: fit rho, or fix it at 0. sigma_min, sigma_max: bounds on the widths (pixels).
        n_iter: at most this many Levenberg-Marquardt iterations.

    Returns:
        params (U, 4), deviance (U,), deviance of the uniform-floor model c N(d) (U,), converged (U,) bool.
    """
    u = sh.shape[0]
    lo, hi = np.log(sigma_min), np.log(sigma_max)
    ss = sh.sum(axis=(1, 2))
    eps = 1e-10 * np.maximum(ss, 1e-300) / geo.n_disp
    slogs = xlogy(sh, sh).sum(axis=(1, 2))
    dev_flat = _flat_deviance(sh, ss, slogs, geo)
    p = _project(p.astype(np.float64, copy=True), background, lo, hi)
    ll_out = np.empty(u)
    converged = np.zeros(u, dtype=bool)
    ws = _WorkingSet(sh, 2.0 * xh, eps, ss, p, geo, background)
    for _ in range(n_iter):
        if not ws.active.any():
            break
        if ws.active.mean() < 0.6:
            ws.write_back(p, ll_out, converged)
            ws.compact()
        _lm_iteration(ws, geo, background, lo, hi)
    ws.write_back(p, ll_out, converged)
    dev = 2.0 * (slogs - ss - ll_out)
    return p, dev, dev_flat, converged
