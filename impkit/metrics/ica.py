"""ICA vs PCA filters of image patches (paper App. A, claim C1) and localisation scores for filters."""
from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from impkit.metrics.conventions import as_numpy
from impkit.metrics.kurtosis import kurtosis

__all__ = ["ica_pca", "ICAPCAResult", "localization", "best_window_energy", "inverse_participation_ratio",
           "gaussian_null", "window_ratio"]


def _energy(filters: np.ndarray, shape) -> np.ndarray:
    """(F, D) filters -> (F, H, W) energy fractions (squared weights summed over channels, normalised to 1)."""
    f = np.asarray(filters, dtype=np.float64)
    c, h, w = (1, *shape) if len(shape) == 2 else shape
    e = (f.reshape(f.shape[0], c, h, w) ** 2).sum(1)
    tot = e.sum(axis=(1, 2), keepdims=True)
    return e / np.where(tot > 0, tot, 1.0)


def best_window_energy(filters, image_shape, k: int = 4) -> np.ndarray:
    """Fraction of each filter's energy (squared weights) inside its best k x k window. (F,) in [k^2/HW, 1]."""
    e = _energy(as_numpy(filters), image_shape)
    cs = np.pad(e.cumsum(1).cumsum(2), ((0, 0), (1, 0), (1, 0)))
    win = cs[:, k:, k:] - cs[:, :-k, k:] - cs[:, k:, :-k] + cs[:, :-k, :-k]
    return win.reshape(win.shape[0], -1).max(1)


def inverse_participation_ratio(filters, image_shape) -> np.ndarray:
    """IPR = sum_z e_z^2 of the energy fractions e_z: 1/(HW) for a flat filter, 1 for a single pixel."""
    e = _energy(as_numpy(filters), image_shape)
    return (e ** 2).sum(axis=(1, 2))


def localization(filters, image_shape, k: int = 4) -> dict:
    """Both localisation scores with their medians: {"window": (F,), "ipr": (F,), "window_median", "ipr_median"}."""
    win = best_window_energy(filters, image_shape, k)
    ipr = inverse_participation_ratio(filters, image_shape)
    return {"window": win, "ipr": ipr, "window_median": float(np.median(win)), "ipr_median": float(np.median(ipr))}


@dataclass
class ICAPCAResult:
    """Filters (F, D) as rows (reshape with ``image_shape``), their localisation and projection kurtosis.

    ica_filters: FastICA unmixing rows (applied to data they give the sources); ica_basis: mixing columns (the
    features the sources multiply). pca_filters: principal axes, by decreasing variance.
    *_window / *_ipr: localisation scores (:func:`localization`) of ica_filters and pca_filters.
    *_kurtosis: kurtosis of the data projected on each filter (Gaussian = 3).
    """

    ica_filters: np.ndarray
    ica_basis: np.ndarray
    pca_filters: np.ndarray
    image_shape: tuple
    ica_window: np.ndarray
    pca_window: np.ndarray
    ica_ipr: np.ndarray
    pca_ipr: np.ndarray
    ica_kurtosis: np.ndarray
    pca_kurtosis: np.ndarray
    pca_explained_variance_ratio: np.ndarray
    k: int

    def summary(self) -> dict:
        med = np.median
        return {
            "ica_window_median": float(med(self.ica_window)), "pca_window_median": float(med(self.pca_window)),
            "ica_ipr_median": float(med(self.ica_ipr)), "pca_ipr_median": float(med(self.pca_ipr)),
            "ica_kurtosis_median": float(med(self.ica_kurtosis)), "pca_kurtosis_median": float(med(self.pca_kurtosis)),
            "window_k": self.k, "window_ratio": self.window_ratio,
        }

    @property
    def window_ratio(self) -> float:
        """C1's statistic: the median best-window energy of the ICA filters over that of the PCA filters."""
        return window_ratio(self.ica_window, self.pca_window)


def window_ratio(ica_window, pca_window) -> float:
    """median(ICA best-window energies) / median(PCA best-window energies): 1 when ICA's filters are no more local
    than PCA's (the filters of the two methods are not paired, so the ratio is of the medians)."""
    return float(np.median(np.asarray(ica_window, dtype=float)) / np.median(np.asarray(pca_window, dtype=float)))


def gaussian_null(patches, seed: int = 0, n: int | None = None) -> np.ndarray:
    """C1's null: ``n`` rows (default: as many as ``patches``) from the Gaussian with the mean and covariance of
    ``patches`` (N, D) (or (N, ...) arrays, flattened; returned flat, float32 like the photo patches).

    ICA on such rows has no non-Gaussian direction to find, so whatever locality its filters show comes from the
    covariance alone. Drawn as mean + z · V √λ from the eigendecomposition of the sample covariance (V, λ; negative
    round-off eigenvalues set to 0, so a singular covariance, e.g. of patches with their mean removed, is fine)."""
    x = as_numpy(patches).astype(np.float64)
    x = x.reshape(x.shape[0], -1)
    n = x.shape[0] if n is None else int(n)
    mu = x.mean(0)
    cov = np.cov(x, rowvar=False, bias=False).reshape(x.shape[1], x.shape[1])
    lam, vec = np.linalg.eigh(cov)
    root = vec * np.sqrt(np.clip(lam, 0.0, None))  # cov = root @ root.T
    z = np.random.default_rng(seed).standard_normal((n, x.shape[1]))
    return (mu + z @ root.T).astype(np.float32)


def ica_pca(patches, n_components: int = 64, seed: int = 0, image_shape=None, k: int | None = None,
            remove_dc: bool = True, max_iter: int = 400, tol: float = 1e-4) -> ICAPCAResult:
    """FastICA and PCA on image patches.

    Args:
        patches: (N, D) rows (CHW-flattened) or (N, H, W) / (N, C, H, W) arrays or tensors.
        n_components: components of each method (64 as in the paper).
        seed: FastICA random state.
        image_shape: (H, W) or (C, H, W); inferred from ``patches`` when they are not flat, else a square.
        k: window side of the localisation score (default max(2, H // 4): 4 for 16x16 patches).
        remove_dc: subtract each patch's mean (standard for natural-image ICA).
    """
    from sklearn.decomposition import PCA, FastICA

    x = as_numpy(patches).astype(np.float64)
    if x.ndim > 2:
        shape = tuple(x.shape[1:])
        x = x.reshape(x.shape[0], -1)
    else:
        if image_shape is None:
            side = int(round(np.sqrt(x.shape[1])))
            if side * side != x.shape[1]:
                raise ValueError("flat patches need image_shape")
            shape = (side, side)
        else:
            shape = tuple(image_shape)
    if image_shape is not None:
        shape = tuple(image_shape)
    if remove_dc:
        x = x - x.mean(1, keepdims=True)
    x = x - x.mean(0, keepdims=True)
    h = shape[-2]
    k = max(2, h // 4) if k is None else k
    pca = PCA(n_components=n_components, random_state=seed).fit(x)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence warnings: we report what we get
        ica = FastICA(n_components=n_components, whiten="unit-variance", random_state=seed, max_iter=max_iter,
                      tol=tol).fit(x)
    ica_f = ica.components_
    basis = ica.mixing_.T
    pca_f = pca.components_
    return ICAPCAResult(
        ica_filters=ica_f, ica_basis=basis, pca_filters=pca_f, image_shape=shape,
        ica_window=best_window_energy(ica_f, shape, k), pca_window=best_window_energy(pca_f, shape, k),
        ica_ipr=inverse_participation_ratio(ica_f, shape), pca_ipr=inverse_participation_ratio(pca_f, shape),
        ica_kurtosis=kurtosis(x @ ica_f.T, dim=0), pca_kurtosis=kurtosis(x @ pca_f.T, dim=0),
        pca_explained_variance_ratio=pca.explained_variance_ratio_, k=k,
    )
