# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # C1 · Locality lives in the non-Gaussian statistics
#
# Claim C1 of {cite:p}`redman2024imp`: independent component analysis (ICA), which seeks maximally
# non-Gaussian projections, recovers *localised*, edge-like filters from natural images, while principal
# component analysis (PCA), which sees only the covariance, returns *global* oscillating filters.

# %% tags=["parameters"]
preset = "default"        # "ci" | "default" | "paper"
run_root = "../runs"      # unused here: this analysis trains nothing
device = "auto"
n_patches = None          # None: chosen by the preset
patch_size = 16
n_components = 64
seed = 0

# %%
import numpy as np
import matplotlib.pyplot as plt
from myst_nb import glue
from skimage import data as skdata
from sklearn.decomposition import PCA, FastICA

if n_patches is None:
    n_patches = {"ci": 5000, "default": 30000}.get(preset, 50000)
rng = np.random.default_rng(seed)
img = skdata.camera().astype(np.float32) / 255
ii = rng.integers(0, img.shape[0] - patch_size, n_patches)
jj = rng.integers(0, img.shape[1] - patch_size, n_patches)
X = np.stack([img[i:i + patch_size, j:j + patch_size].ravel() for i, j in zip(ii, jj)])
X -= X.mean(1, keepdims=True)
ica = FastICA(n_components, random_state=seed, max_iter=400, whiten="unit-variance").fit(X)
pca = PCA(n_components, random_state=seed).fit(X)


def best_window_energy(filters: np.ndarray, k: int = 4) -> np.ndarray:
    f = (filters.reshape(-1, patch_size, patch_size)) ** 2
    f = f / f.sum((1, 2), keepdims=True)
    c = f.cumsum(1).cumsum(2)
    c = np.pad(c, ((0, 0), (1, 0), (1, 0)))
    win = c[:, k:, k:] - c[:, :-k, k:] - c[:, k:, :-k] + c[:, :-k, :-k]
    return win.reshape(len(f), -1).max(1)


e_ica = np.median(best_window_energy(ica.mixing_.T))
e_pca = np.median(best_window_energy(pca.components_))
glue("c1_energy_ica", float(e_ica), display=False)
glue("c1_energy_pca", float(e_pca), display=False)

# %%
fig, axes = plt.subplots(1, 2, figsize=(9, 4.6))
for ax, (name, filt) in zip(axes, [("ICA", ica.mixing_.T), ("PCA", pca.components_)]):
    g = int(np.ceil(np.sqrt(n_components)))
    tile = np.ones((g * (patch_size + 1), g * (patch_size + 1))) * np.nan
    for k, f in enumerate(filt[: g * g]):
        r, c = divmod(k, g)
        f = f.reshape(patch_size, patch_size)
        tile[r * (patch_size + 1): r * (patch_size + 1) + patch_size,
             c * (patch_size + 1): c * (patch_size + 1) + patch_size] = f / np.abs(f).max()
    ax.imshow(tile, cmap="RdBu_r", vmin=-1, vmax=1)
    ax.set_title(f"{name} filters")
    ax.axis("off")
glue("c1_fig", fig, display=False)


# %% tags=["nbval-check"]
# NBVAL_CHECK_OUTPUT
print("ICA more localised than PCA:", bool(e_ica > e_pca))
