"""Patches of real photographs that ship inside the scikit-image, scikit-learn and matplotlib wheels.

Provenance: the image files bundled with those packages (no download ever); :data:`ATTRIBUTION` gives the
source and licence of each one, for the book's data page. scikit-learn's ``china`` and ``flower`` are
CC BY 2.0 and must be attributed (photographers danielbuechele and vultilion on Flickr).

Loader options (``load("photos", split=..., **options)``):

* ``size`` patch side (default 16); ``scale`` integer downsampling factor applied to each image first
  (block mean, ``skimage.transform.downscale_local_mean``; default 1); ``color`` "grey" (luminance
  0.2125 R + 0.7154 G + 0.0721 B) or "rgb" (only the colour images are available then); default "grey".
* ``mode`` "random" (uniformly placed patches) or "grid" (non-overlapping tiles, a seeded subset if there
  are more than requested); ``n_train`` (default 20000) / ``n_test`` (default 4000), split evenly over
  the images (classes are balanced).
* ``task`` "scene" (label = index of the image the patch came from, in the order of ``images``) or "none"
  (every label 0). ``images``: names to use (default: all available in the chosen colour mode).
* ``holdout`` fraction of each image's width (its right-most columns) reserved for the test split
  (default 0.2): train and test patches never share a pixel.

Rows are uint8, CHW-flattened; normalisation ``(x - shift) / 255`` with ``shift`` the per-channel mean of
the training regions of the selected images (each image weighted equally, as patches are) (so features are roughly centred, in units of the full range).
``seed`` picks the patch positions (train and test streams are derived from (seed, split)).

:func:`patches` returns float32 patches for ICA/PCA (centred, optionally ZCA-whitened).
"""
from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
import torch

from impkit.data import register
from impkit.data._common import check_options, check_split
from impkit.seeding import derive_seed
from impkit.data.base import Dataset

OPTIONS = ("size", "scale", "color", "mode", "n_train", "n_test", "task", "images", "holdout")
# types of the options (impkit.data.check_option_types)
OPTION_TYPES = {"size": int, "scale": int, "color": str, "mode": str, "n_train": int, "n_test": int, "task": str,
                "images": list[str] | None, "holdout": float}
DEFAULTS = {"size": 16, "scale": 1, "color": "grey", "mode": "random", "n_train": 20000, "n_test": 4000,
            "task": "scene", "images": None, "holdout": 0.2}

_SK = "scikit-image (skimage.data)"
_CC0 = "CC0 1.0 (public domain dedication)"
ATTRIBUTION: dict[str, dict[str, str]] = {
    "astronaut": {"source": f"{_SK}: Eileen Collins, NASA Great Images database", "licence": "public domain (NASA)"},
    "camera": {"source": f"{_SK}: 'camera', photo by Lav Varshney", "licence": _CC0},
    "chelsea": {"source": f"{_SK}: Chelsea the cat, photo by Stefan van der Walt", "licence": _CC0},
    "coffee": {"source": f"{_SK}: coffee cup, photo by Rachel Michetti, courtesy of Pikolo Espresso Bar",
               "licence": _CC0},
    "rocket": {"source": f"{_SK}: DSCOVR launch on Falcon 9, SpaceX", "licence": "public domain (SpaceX)"},
    "clock": {"source": f"{_SK}: motion-blurred clock, photo by Stefan van der Walt", "licence": "public domain"},
    "coins": {"source": f"{_SK}: Greek coins from Pompeii, Brooklyn Museum Collection",
              "licence": "no known copyright restrictions"},
    "moon": {"source": f"{_SK}: surface of the moon", "licence": "distributed with scikit-image (BSD-3-Clause package); "
             "no further notice given"},
    "brick": {"source": f"{_SK}: brick wall, CC0Textures 'Bricks25'", "licence": _CC0},
    "grass": {"source": f"{_SK}: grass, DeviantArt user linolafett 'Grass-01'", "licence": _CC0},
    "gravel": {"source": f"{_SK}: gravel, CC0Textures 'Gravel04'", "licence": _CC0},
    "motorcycle": {"source": f"{_SK}: left view of the Middlebury 2014 stereo 'Motorcycle' pair "
                   "(Scharstein et al., GCPR 2014)", "licence": "Middlebury stereo datasets, free for research; "
                   "cite Scharstein et al. 2014"},
    "hubble_deep_field": {"source": f"{_SK}: Hubble eXtreme Deep Field, NASA/HubbleSite",
                          "licence": "public domain (NASA)"},
    "retina": {"source": f"{_SK}: fundus photograph, Mikael Haggstrom via Wikimedia Commons", "licence": _CC0},
    "immunohistochemistry": {"source": f"{_SK}: IHC staining, Center for Microscopy And Molecular Imaging",
                             "licence": "no known copyright restrictions"},
    "china": {"source": "scikit-learn (sklearn.datasets.load_sample_image('china.jpg')): Flickr user "
              "danielbuechele, https://www.flickr.com/photos/danielbuechele/6061409035",
              "licence": "CC BY 2.0 (https://creativecommons.org/licenses/by/2.0/); attribution required: "
              "'Some rights reserved by danielbuechele'"},
    "flower": {"source": "scikit-learn (sklearn.datasets.load_sample_image('flower.jpg')): Flickr user "
               "vultilion, https://www.flickr.com/photos/vultilion/6056698931",
               "licence": "CC BY 2.0 (https://creativecommons.org/licenses/by/2.0/); attribution required: "
               "'Some rights reserved by vultilion'"},
    "grace_hopper": {"source": "matplotlib (mpl-data/sample_data/grace_hopper.jpg): Rear Admiral Grace "
                     "Hopper, US Navy photograph", "licence": "public domain (US government work)"},
}

_SKIMAGE_FILES = {"astronaut": "astronaut.png", "camera": "camera.png", "chelsea": "chelsea.png",
                  "coffee": "coffee.png", "rocket": "rocket.jpg", "clock": "clock_motion.png",
                  "coins": "coins.png", "moon": "moon.png", "brick": "brick.png", "grass": "grass.png",
                  "gravel": "gravel.png", "motorcycle": "motorcycle_left.png",
                  "hubble_deep_field": "hubble_deep_field.jpg", "retina": "retina.jpg",
                  "immunohistochemistry": "ihc.png"}


def _read(name: str) -> np.ndarray:
    """The image as uint8 (H, W) or (H, W, 3)."""
    if name in _SKIMAGE_FILES:
        import skimage.data
        import skimage.io

        im = skimage.io.imread(Path(skimage.data.__file__).parent / _SKIMAGE_FILES[name])
    elif name in ("china", "flower"):
        from sklearn.datasets import load_sample_image

        im = load_sample_image(f"{name}.jpg")
    elif name == "grace_hopper":
        import matplotlib.cbook
        import skimage.io

        im = skimage.io.imread(matplotlib.cbook.get_sample_data("grace_hopper.jpg", asfileobj=False))
    else:
        raise ValueError(f"photos: unknown image {name!r}; available: {', '.join(ATTRIBUTION)}")
    im = np.asarray(im)
    if im.ndim == 3 and im.shape[2] == 4:
        im = im[..., :3]
    if im.ndim == 3 and np.ptp(im.astype(np.int16)[..., :3] - im[..., :1], axis=None) == 0:
        im = im[..., 0]  # stored as RGB but grey
    return im.astype(np.uint8)


@functools.lru_cache(maxsize=None)
def _image(name: str, color: str, scale: int) -> np.ndarray:
    """uint8 (C, H, W) image after colour conversion and downsampling (cached)."""
    im = _read(name)
    if color == "rgb":
        if im.ndim != 3:
            raise ValueError(f"photos: image {name!r} is greyscale; use color='grey' or choose colour images "
                             f"({', '.join(available_images('rgb'))})")
        arr = im.transpose(2, 0, 1).astype(np.float64)
    else:
        arr = (im @ np.array([0.2125, 0.7154, 0.0721]) if im.ndim == 3 else im.astype(np.float64))[None]
    if scale > 1:
        from skimage.transform import downscale_local_mean

        h, w = arr.shape[1] // scale * scale, arr.shape[2] // scale * scale
        arr = downscale_local_mean(arr[:, :h, :w], (1, scale, scale))
    out = np.clip(np.rint(arr), 0, 255).astype(np.uint8)
    out.setflags(write=False)
    return out


@functools.lru_cache(maxsize=None)
def _is_colour(name: str) -> bool:
    return _read(name).ndim == 3


def available_images(color: str = "grey") -> list[str]:
    """Names usable in colour mode ``color`` ("grey": all of them; "rgb": the colour ones)."""
    if color not in ("grey", "rgb"):
        raise ValueError(f"photos: color must be 'grey' or 'rgb', got {color!r}")
    out = []
    for n in ATTRIBUTION:
        try:
            if color == "grey" or _is_colour(n):
                out.append(n)
        except (OSError, ImportError, ModuleNotFoundError):  # a package without its sample data
            pass
    return out


def _positions(h: int, w: int, size: int, n: int, mode: str, rng: np.random.Generator) -> np.ndarray:
    """(n', 2) top-left corners of patches in an h x w region (n' = n, or fewer in grid mode)."""
    if h < size or w < size:
        return np.zeros((0, 2), dtype=np.int64)
    if mode == "random":
        return np.stack([rng.integers(0, h - size + 1, n), rng.integers(0, w - size + 1, n)], 1)
    ys, xs = np.meshgrid(np.arange(0, h - size + 1, size), np.arange(0, w - size + 1, size), indexing="ij")
    grid = np.stack([ys.ravel(), xs.ravel()], 1)
    if len(grid) > n:
        grid = grid[np.sort(rng.choice(len(grid), n, replace=False))]
    return grid


def _extract(img: np.ndarray, pos: np.ndarray, size: int, x0: int = 0) -> np.ndarray:
    """uint8 (n, C*size*size) CHW rows of the patches at ``pos`` (columns offset by ``x0``)."""
    win = np.lib.stride_tricks.sliding_window_view(img, (size, size), axis=(1, 2))  # (C, H', W', s, s)
    p = win[:, pos[:, 0], pos[:, 1] + x0]  # (C, n, s, s)
    return np.ascontiguousarray(p.transpose(1, 0, 2, 3)).reshape(len(pos), -1)


def _regions(img: np.ndarray, holdout: float) -> dict[str, tuple[int, int]]:
    w = img.shape[2]
    cut = int(round(w * (1 - holdout)))
    return {"train": (0, cut), "test": (cut, w)}


@register("photos", options=OPTION_TYPES)
def load_photos(root=None, split: str = "train", seed: int = 0, **options) -> Dataset:
    """Patches of the bundled photographs (see the module docstring); ``root`` is ignored."""
    check_options("photos", options, OPTIONS)
    check_split(split)
    o = {**DEFAULTS, **options}
    size, scale, color, mode, task = int(o["size"]), int(o["scale"]), o["color"], o["mode"], o["task"]
    if mode not in ("random", "grid"):
        raise ValueError(f"photos: mode must be 'random' or 'grid', got {mode!r}")
    if task not in ("scene", "none", None):
        raise ValueError(f"photos: task must be 'scene' or 'none', got {task!r}")
    if size < 1 or scale < 1 or not 0 < float(o["holdout"]) < 1:
        raise ValueError("photos: need size >= 1, scale >= 1 and 0 < holdout < 1")
    names = list(o["images"]) if o["images"] is not None else available_images(color)
    if not names:
        raise ValueError("photos: no images selected")
    for n in names:
        if n not in ATTRIBUTION:
            raise ValueError(f"photos: unknown image {n!r}; available: {', '.join(available_images(color))}")
    imgs = [_image(n, color, scale) for n in names]
    n_total = int(o["n_train" if split == "train" else "n_test"])
    per = [n_total // len(names) + (i < n_total % len(names)) for i in range(len(names))]
    rng = np.random.default_rng(derive_seed(seed, "photos", split))
    xs, ys, shift_sum, shift_n = [], [], 0.0, 0
    for k, (name, img, n_k) in enumerate(zip(names, imgs, per)):
        reg = _regions(img, float(o["holdout"]))
        a, b = reg[split]
        pos = _positions(img.shape[1], b - a, size, n_k, mode, rng)
        if n_k and len(pos) == 0:
            raise ValueError(f"photos: image {name!r} at scale {scale} is {img.shape[1]}x{img.shape[2]}; its {split} "
                             f"region ({img.shape[1]}x{b - a}) is smaller than a {size}x{size} patch")
        xs.append(_extract(img, pos, size, a))
        ys.append(np.full(len(pos), k if task == "scene" else 0, dtype=np.int64))
        ta, tb = reg["train"]
        shift_sum = shift_sum + img[:, :, ta:tb].reshape(img.shape[0], -1).mean(1)
        shift_n += 1
    c = imgs[0].shape[0]
    mean_c = (shift_sum / shift_n).astype(np.float32)
    shift = torch.from_numpy(np.repeat(mean_c, size * size))
    return Dataset(
        x=torch.from_numpy(np.concatenate(xs)), y=torch.from_numpy(np.concatenate(ys)),
        image_shape=(c, size, size), num_classes=len(names) if task == "scene" else 1, name="photos",
        shift=shift, scale=255.0,
        info={"provenance": "photographs bundled with scikit-image, scikit-learn and matplotlib",
              "licence": "per image, see info['attribution']",
              "attribution": {n: ATTRIBUTION[n] for n in names},
              "normalisation": "(x - per-channel mean of the training regions) / 255",
              "options": {**{k: o[k] for k in OPTIONS}, "images": names}, "seed": seed, "split": split,
              "classes": names if task == "scene" else None},
    )


def patches(n: int, size: int = 16, color: str = "grey", seed: int = 0, whiten: bool = False, scale: int = 1,
            images=None, eps: float = 1e-5) -> np.ndarray:
    """(n, C*size*size) float32 random patches from the whole of each image, for ICA/PCA.

    Values are in units of the full range (/255) with the mean patch subtracted. ``whiten=True`` applies
    ZCA whitening (covariance -> I): eigenvalues below ``eps`` times the largest are floored to that value.
    """
    names = list(images) if images is not None else available_images(color)
    imgs = [_image(nm, color, int(scale)) for nm in names]
    rng = np.random.default_rng(derive_seed(seed, "patches"))
    which = rng.integers(0, len(imgs), n)
    out = np.empty((n, imgs[0].shape[0] * size * size), dtype=np.float32)
    for k, img in enumerate(imgs):
        rows = np.flatnonzero(which == k)
        pos = _positions(img.shape[1], img.shape[2], size, len(rows), "random", rng)
        if len(rows) and len(pos) == 0:
            raise ValueError(f"photos.patches: image {names[k]!r} is smaller than {size}x{size}")
        out[rows] = _extract(img, pos, size) / np.float32(255)
    out -= out.mean(0)
    if whiten:
        cov = np.cov(out, rowvar=False)
        lam, vec = np.linalg.eigh(cov)
        lam = np.maximum(lam, eps * lam.max())
        out = (out @ (vec / np.sqrt(lam)) @ vec.T).astype(np.float32)
    return out
