"""Gaussian clones: same class-conditional means and covariances as a labelled dataset, nothing else.

For every class c with training rows X_c (n_c, D) -- in the *normalised* feature space of the base data --
the clone draws

    x = mu_c + A_c z,    A_c = (X_c - mu_c)^T / sqrt(n_c - 1),    z ~ N(0, I_{n_c}),

i.e. exactly N(mu_c, Sigma_c) with Sigma_c the empirical covariance, computed as ``z^T (X_c - mu_c)`` so no
D x D matrix is formed per class (ImageNet32: ~1,281 images per class vs D = 3,072, so Sigma_c is singular
and this factor is the natural exact one). With more rows than dimensions (n_c - 1 > D, the generated tasks) the
same distribution is sampled as mu_c + L_c z, z ~ N(0, I_D), with L_c L_c^T = Sigma_c from ``eigh``: the
(n_c, D) factor would need an (m, n_c) normal matrix, 57 GB for 120,000 rows per class.

Options (:func:`gaussian_clone`):

* ``shrinkage`` alpha in [0, 1]: covariance (1 - alpha) Sigma_c + alpha Sigma_pool, where Sigma_pool is the
  pooled within-class covariance sum_c (X_c - mu_c)^T (X_c - mu_c) / (N - K). Sampled as
  mu_c + sqrt(1 - alpha) A_c z1 + sqrt(alpha) L_pool z2 with independent z1, z2: the pooled part uses one
  D x D matrix for the whole dataset (accumulated class by class, factored once with ``eigh``, negative
  round-off eigenvalues clipped to 0), never one per class.
* ``per_channel``: the paper's variant -- each colour channel is fitted and sampled separately (independent
  z per channel), i.e. the covariance is block-diagonal over channels. Shrinkage then uses per-channel
  pooled blocks.
* ``n`` / ``labels``: how many samples and with which labels (default: the labels of ``ds``, so class
  frequencies are kept exactly; with only ``n``, labels are drawn from ``ds.y`` at random).
* ``device``: where to compute (default: the data's device). ``seed``: the torch generator seed.
* ``fit_per_class`` (clone option of :func:`load_clone`; None = every training row): fit each class on a seeded
  random subset of that many of its training rows, the paper's way (App. B.1 fits on about 100 images per
  class). With n_c rows the empirical covariance has rank <= n_c - 1 (99 for 100 rows), so each class of such a
  clone lies in its own affine subspace of dimension <= n_c - 1: a *global* cue (which subspace is a row in?)
  that needs no local filter. ``shrinkage`` > 0 then restores full rank (the pooled covariance is fitted on the
  same subset: K (n_c - 1) >= D rows for Fashion-MNIST's 10 x 100 vs D = 784).
* ``dtype``: storage dtype of the samples, ``"float32"`` (default) or ``"float16"``. Samples are computed in
  float32 and rounded once when stored; half precision (relative rounding error <= 2^-11, far below the
  sampling error of any moment a notebook measures) halves the memory of a large clone: an ImageNet32-sized
  clone takes 7.9 GB instead of 15.7 GB. Minibatches are converted back to float32 by
  :meth:`~impkit.data.base.Dataset.normalize`.

:func:`load_clone` (``impkit.data.load("<name>-clone", ...)``) fits on the base's *train* split and samples
as many rows as the requested split of the base, with its labels; seeds are derived from (seed, split).
:func:`clone_moment_check` compares a clone with the data it imitates.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch

from impkit.data._common import check_options, check_split, generator
from impkit.seeding import derive_seed
from impkit.data.base import Dataset

CLONE_OPTIONS = ("shrinkage", "per_channel", "clone_device", "clone_dtype", "fit_per_class")
# types of the clone options, added to the base dataset's (impkit.data.option_types)
CLONE_OPTION_TYPES = {"shrinkage": float, "per_channel": bool, "clone_device": str | None, "clone_dtype": str,
                      "fit_per_class": int | None}
GC_OPTIONS = ("n", "labels", "shrinkage", "per_channel", "device", "dtype")
DTYPES = {"float32": torch.float32, "float16": torch.float16}


def _channel_slices(ds: Dataset, per_channel: bool) -> list[slice]:
    c, h, w = ds.image_shape
    if not per_channel or c == 1:
        return [slice(0, ds.dim)]
    return [slice(i * h * w, (i + 1) * h * w) for i in range(c)]


def _pooled_factors(ds: Dataset, classes: list[int], blocks: list[slice], dev: torch.device) -> list[torch.Tensor]:
    """Per block, L with L L^T = pooled within-class covariance (one D_b x D_b matrix per block)."""
    covs = [torch.zeros(b.stop - b.start, b.stop - b.start, dtype=torch.float64, device=dev) for b in blocks]
    dof = 0
    for c in classes:
        xc = ds.features(torch.nonzero(ds.y == c).flatten()).to(dev)
        if xc.shape[0] < 2:
            continue
        xc = xc - xc.mean(0, keepdim=True)
        dof += xc.shape[0] - 1
        for cov, b in zip(covs, blocks):
            xb = xc[:, b].double()
            cov += xb.T @ xb
        del xc
    out = []
    for cov in covs:
        cov /= max(dof, 1)
        evals, evecs = torch.linalg.eigh(cov)
        out.append((evecs * evals.clamp_min(0).sqrt()).float())
    return out


def _cov_factor(xc: torch.Tensor, dof: int) -> torch.Tensor:
    """(d, d) A with A A^T = xc^T xc / dof (xc: (n, d) centred rows), from ``eigh`` in float64 (negative
    round-off eigenvalues clipped to 0), returned in xc's dtype: the exact factor of the empirical covariance."""
    cov = (xc.double().T @ xc.double()) / dof
    lam, vec = torch.linalg.eigh(cov)
    return (vec * lam.clamp_min(0).sqrt()).to(xc.dtype)


def gaussian_clone(ds: Dataset, seed: int = 0, n: int | None = None, labels=None, shrinkage: float = 0.0,
                   per_channel: bool = False, device=None, dtype: str = "float32", **unknown) -> Dataset:
    """Gaussian clone of ``ds`` (see the module docstring): (n, D) normalised features stored as ``dtype``
    (float32 or float16), shift None, scale 1."""
    check_options("gaussian_clone", unknown, GC_OPTIONS)
    if not 0.0 <= float(shrinkage) <= 1.0:
        raise ValueError(f"gaussian_clone: shrinkage must be in [0, 1], got {shrinkage!r}")
    if str(dtype) not in DTYPES:
        raise ValueError(f"gaussian_clone: dtype (clone_dtype) must be one of {', '.join(DTYPES)}, got {dtype!r}")
    dev = torch.device(device) if device is not None else ds.device
    gen = generator(seed, dev)
    y_src = ds.y
    if labels is not None:
        y_new = torch.as_tensor(labels, dtype=torch.int64)
        if n is not None and int(n) != len(y_new):
            raise ValueError(f"gaussian_clone: n={n} but {len(y_new)} labels given")
    elif n is not None:
        idx = torch.randint(len(y_src), (int(n),), generator=generator(derive_seed(seed, "labels"), torch.device("cpu")))
        y_new = y_src.cpu()[idx]
    else:
        y_new = y_src.clone()
    y_new = y_new.to(dev)
    counts = torch.bincount(y_src.cpu(), minlength=ds.num_classes)
    present = torch.unique(y_new.cpu()).tolist()
    missing = [c for c in present if c < 0 or c >= ds.num_classes or counts[c] == 0]
    if missing:
        raise ValueError(f"gaussian_clone: no training rows of class(es) {missing} in {ds.name!r} to fit")

    blocks = _channel_slices(ds, per_channel)
    alpha = float(shrinkage)
    pooled = _pooled_factors(ds, list(range(ds.num_classes)), blocks, dev) if alpha > 0 else None
    out = torch.empty(len(y_new), ds.dim, dtype=DTYPES[str(dtype)], device=dev)
    for c in present:
        rows_out = torch.nonzero(y_new == c).flatten()
        m = len(rows_out)
        xc = ds.features(torch.nonzero(ds.y == c).flatten().to(ds.device)).to(dev)
        nc = xc.shape[0]
        mu = xc.mean(0)
        xc -= mu
        sample = mu.expand(m, -1).clone()
        if nc >= 2:
            for b in blocks:
                xb = xc[:, b]
                if nc - 1 <= xb.shape[1]:  # few rows (ImageNet32): the (n_c, d) factor itself, no d x d matrix
                    z = torch.randn(m, nc, generator=gen, device=dev)
                    sample[:, b] += math.sqrt((1 - alpha) / (nc - 1)) * (z @ xb)
                else:  # many rows (generated tasks): a (d, d) factor, so memory is m x d, not m x n_c
                    z = torch.randn(m, xb.shape[1], generator=gen, device=dev)
                    sample[:, b] += math.sqrt(1 - alpha) * (z @ _cov_factor(xb, nc - 1).T)
        if pooled is not None:
            for b, lp in zip(blocks, pooled):
                z = torch.randn(m, lp.shape[1], generator=gen, device=dev)
                sample[:, b] += math.sqrt(alpha) * (z @ lp.T)
        out[rows_out] = sample.to(out.dtype)
        del xc, sample
    info = dict(ds.info)
    info.update({
        "clone_of": ds.name,
        "normalisation": f"{dtype} features in the base data's normalised space (shift None, scale 1)",
        "clone": {"seed": seed, "shrinkage": alpha, "per_channel": bool(per_channel), "n": len(y_new),
                  "dtype": str(dtype),
                  "method": "empirical low-rank factor per class" + (" and channel" if per_channel else "")},
    })
    return Dataset(x=out, y=y_new, image_shape=ds.image_shape, num_classes=ds.num_classes,
                   name=f"{ds.name}-clone", shift=None, scale=1.0, info=info)


def load_clone(base_name: str, root=None, split: str = "train", seed: int = 0, **options) -> Dataset:
    """``load("<base>-clone")``: fit on the base's train split, sample as many rows (and labels) as ``split``.

    Clone options ``shrinkage``, ``per_channel``, ``clone_device`` and ``clone_dtype`` (the ``dtype`` of
    :func:`gaussian_clone`) are taken out; everything else (and ``seed``) goes to the base loader.
    """
    from impkit.data import load

    check_split(split)
    copts = {k: options.pop(k) for k in CLONE_OPTIONS if k in options}
    base_train = load(base_name, root=root, split="train", seed=seed, **options)
    labels = base_train.y if split == "train" else load(base_name, root=root, split="test", seed=seed, **options).y
    fit = base_train
    per = copts.get("fit_per_class")
    if per is not None:
        fit = fit_subset(base_train, int(per), derive_seed(seed, "clone-fit", base_name))
    ds = gaussian_clone(fit, seed=derive_seed(seed, "clone", base_name, split), labels=labels,
                        shrinkage=copts.get("shrinkage", 0.0), per_channel=copts.get("per_channel", False),
                        device=copts.get("clone_device"), dtype=copts.get("clone_dtype", "float32"))
    ds.info["split"] = split
    ds.info["clone"]["base_options"] = dict(options)
    ds.info["clone"]["fit_per_class"] = per
    return ds


def fit_subset(ds: Dataset, per_class: int, seed: int) -> Dataset:
    """``ds`` restricted to ``per_class`` rows of every class, drawn without replacement by a generator seeded with
    ``seed`` (the same rows for every split of one run: the clone's train and test splits share one fit).
    ValueError naming ``data.options.fit_per_class`` if it is below 2 or a class has fewer rows."""
    import dataclasses

    if per_class < 2:
        raise ValueError(f"data.options.fit_per_class: must be at least 2 (a covariance needs two rows), "
                         f"got {per_class}")
    g = torch.Generator().manual_seed(int(seed))
    y = ds.y.cpu()
    take = []
    for c in range(ds.num_classes):
        rows = torch.nonzero(y == c).flatten()
        if len(rows) == 0:
            continue
        if len(rows) < per_class:
            raise ValueError(f"data.options.fit_per_class: class {c} of {ds.name!r} has only {len(rows)} training "
                             f"rows, fewer than {per_class}; lower fit_per_class or use more rows (n_train)")
        take.append(rows[torch.randperm(len(rows), generator=g)[:per_class]])
    idx = torch.sort(torch.cat(take)).values
    return dataclasses.replace(ds, x=ds.x[idx.to(ds.x.device)], y=ds.y[idx.to(ds.y.device)],
                               info={**ds.info, "fit_per_class": per_class})


# ----------------------------------------------------------------------------------------------- checks
def _excess_kurtosis(v: torch.Tensor) -> torch.Tensor:
    """Excess kurtosis m4/m2^2 - 3 along dim 0 (0 for a Gaussian)."""
    v = v.double() - v.double().mean(0)
    m2 = (v**2).mean(0)
    return (v**4).mean(0) / m2.clamp_min(1e-300) ** 2 - 3.0


def clone_moment_check(real: Dataset, clone: Dataset, n_proj: int = 32, seed: int = 0,
                       classes=None, alpha: float = 1e-3) -> dict[str, Any]:
    """Compare a clone with the data it was fitted on, class by class, in normalised feature space.

    For each class c (real rows X_c, n_c; clone rows m_c) and each of ``n_proj`` random unit directions u
    (the same for both):

    * ``mean_z`` (K, n_proj): (mean of u.x_clone - mean of u.x_real) / sqrt(u^T Sigma_c u / m_c) -- N(0,1)
      if the clone samples N(mu_c, Sigma_c) exactly (Sigma_c the real class's empirical covariance).
    * ``var_z`` (K, n_proj): Wilson-Hilferty normal score of (m_c - 1) s^2 / (u^T Sigma_c u) ~ chi2(m_c - 1),
      s^2 the clone's sample variance along u -- also ~N(0,1) under the hypothesis.
    * ``mean_ratio`` (K,): ||mu_clone - mu_c||^2 / (tr Sigma_c / m_c), expectation 1, sd ``mean_ratio_sd``
      = sqrt(2 tr Sigma_c^2) / tr Sigma_c.
    * ``cov_ratio`` (K,): ||Sigma_clone - Sigma_c||_F^2 / ((tr Sigma_c)^2 + ||Sigma_c||_F^2) * (m_c - 1),
      expectation ~1 for Gaussian sampling (Var of a sample covariance entry: (S_ii S_jj + S_ij^2)/(m-1));
      computed from Gram matrices, no D x D matrix.
    * ``mean_ratio_lo/hi``, ``cov_ratio_lo/hi`` (K,): Laurent-Massart bounds that each ratio leaves with
      probability <= ``alpha`` on either side: ||Delta mu||^2 is exactly sum_i (lambda_i/m) chi2_1 (lambda the
      eigenvalues of Sigma_c); ||Sigma_clone - Sigma_c||_F^2 is, to leading order in 1/m, sum w chi2_1 with
      weights 2 lambda_i^2/(m-1) (diagonal) and 2 lambda_i lambda_j/(m-1) (i < j).
    * ``ok``: dict of booleans -- all ``mean_z``/``var_z`` inside the two-sided Bonferroni bound for
      family-wise level ``alpha``, the ratios inside their bounds (Bonferroni over classes), and the clone's
      per-pixel excess kurtosis within ``z * kurtosis_se`` of its small-sample bias -6/(m+1).
    * ``proj_kurtosis_real`` / ``proj_kurtosis_clone`` (K, n_proj): excess kurtosis along u.
    * ``pixel_kurtosis_real`` / ``pixel_kurtosis_clone`` (K,): mean over pixels of the per-pixel excess kurtosis.
    * ``kurtosis_se`` (K,): sqrt(24 / m_c), the standard error of one excess-kurtosis estimate of a Gaussian
      sample (for the clone; an average over many pixels/directions has a smaller one).

    Kurtosis here is *excess* kurtosis (Gaussian = 0), unlike ``impkit.metrics.kurtosis`` (Gaussian = 3).
    """
    g = torch.Generator().manual_seed(int(seed))
    ks = classes if classes is not None else sorted(set(real.y.tolist()) & set(clone.y.tolist()))
    D = real.dim
    u = torch.randn(D, n_proj, generator=g, dtype=torch.float64)
    u /= u.norm(dim=0, keepdim=True)
    res: dict[str, list] = {k: [] for k in ("mean_z", "var_z", "mean_ratio", "mean_ratio_sd", "cov_ratio",
                                            "proj_kurtosis_real", "proj_kurtosis_clone", "pixel_kurtosis_real",
                                            "pixel_kurtosis_clone", "kurtosis_se", "n_real", "n_clone",
                                            "mean_ratio_lo", "mean_ratio_hi", "cov_ratio_lo", "cov_ratio_hi")}
    for c in ks:
        xr = real.features(torch.nonzero(real.y == c).flatten().to(real.device)).double().cpu()
        xq = clone.features(torch.nonzero(clone.y == c).flatten().to(clone.device)).double().cpu()
        n, m = xr.shape[0], xq.shape[0]
        mu_r, mu_q = xr.mean(0), xq.mean(0)
        ar = (xr - mu_r) / math.sqrt(n - 1)  # Sigma_r = ar^T ar
        aq = (xq - mu_q) / math.sqrt(m - 1)
        pr, pq = xr @ u, xq @ u
        var_u = ((ar @ u) ** 2).sum(0)
        res["mean_z"].append(((pq.mean(0) - pr.mean(0)) / (var_u / m).sqrt()).numpy())
        k = m - 1
        ratio = (pq.var(0) / var_u) ** (1 / 3)
        res["var_z"].append(((ratio - (1 - 2 / (9 * k))) / math.sqrt(2 / (9 * k))).numpy())
        if D <= max(n, m):  # D x D is the smaller computation
            gr = ar.T @ ar
            fro = float(((aq.T @ aq - gr) ** 2).sum())
        else:  # low rank: Gram matrices only, ||B^T B - A^T A||^2 = ||BB^T||^2 + ||AA^T||^2 - 2||AB^T||^2
            gr = ar @ ar.T
            fro = float(((aq @ aq.T) ** 2).sum()) + float((gr**2).sum()) - 2 * float(((ar @ aq.T) ** 2).sum())
        tr, tr2 = float(gr.trace()), float((gr**2).sum())
        res["mean_ratio"].append(float(((mu_q - mu_r) ** 2).sum()) / (tr / m))
        res["mean_ratio_sd"].append(math.sqrt(2 * tr2) / tr)
        big = tr**2 + tr2
        res["cov_ratio"].append(fro * (m - 1) / big)
        lam = torch.linalg.eigvalsh(gr).clamp_min(0)
        x_lm = math.log(2 * len(ks) / alpha)
        lmax, s2, s4 = float(lam.max()), float((lam**2).sum()), float((lam**4).sum())
        res["mean_ratio_lo"].append(1 - 2 * math.sqrt(s2 * x_lm) / tr)
        res["mean_ratio_hi"].append(1 + (2 * math.sqrt(s2 * x_lm) + 2 * lmax * x_lm) / tr)
        sw2 = 2 * s4 + 2 * s2**2  # sum of squared weights, times (m-1)^2
        res["cov_ratio_lo"].append(1 - 2 * math.sqrt(sw2 * x_lm) / big)
        res["cov_ratio_hi"].append(1 + (2 * math.sqrt(sw2 * x_lm) + 4 * lmax**2 * x_lm) / big)
        res["proj_kurtosis_real"].append(_excess_kurtosis(pr).numpy())
        res["proj_kurtosis_clone"].append(_excess_kurtosis(pq).numpy())
        res["pixel_kurtosis_real"].append(float(_excess_kurtosis(xr).nanmean()))
        res["pixel_kurtosis_clone"].append(float(_excess_kurtosis(xq).nanmean()))
        res["kurtosis_se"].append(math.sqrt(24 / m))
        res["n_real"].append(n)
        res["n_clone"].append(m)
    out: dict[str, Any] = {k: np.asarray(v) for k, v in res.items()}
    out["classes"] = list(ks)
    zb = float(_norm_isf(alpha / (2 * max(out["mean_z"].size, 1))))
    zk = float(_norm_isf(alpha / (2 * max(len(ks), 1))))
    bias = -6 / (out["n_clone"] + 1)
    out["ok"] = {
        "mean_z": bool(np.abs(out["mean_z"]).max() < zb),
        "var_z": bool(np.abs(out["var_z"]).max() < zb),
        "mean_ratio": bool(((out["mean_ratio"] > out["mean_ratio_lo"]) & (out["mean_ratio"] < out["mean_ratio_hi"])).all()),
        "cov_ratio": bool(((out["cov_ratio"] > out["cov_ratio_lo"]) & (out["cov_ratio"] < out["cov_ratio_hi"])).all()),
        "clone_kurtosis": bool((np.abs(out["pixel_kurtosis_clone"] - bias) < zk * out["kurtosis_se"]).all()),
    }
    out["z_bound"] = zb
    return out


def _norm_isf(p: float) -> float:
    """Upper-tail normal quantile (scipy-free)."""
    from statistics import NormalDist

    return NormalDist().inv_cdf(1 - p)
