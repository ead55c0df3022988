"""The ImageNet32 stand-in (impkit.data.standin): both official layouts load, deterministic, balanced, image-like."""
import numpy as np
import pytest
import torch

import impkit.data as data
from impkit.data import standin

PER_TRAIN, PER_VAL = 3, 2


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    out = tmp_path_factory.mktemp("standin")
    standin.main(["--out", str(out), "--per-class-train", str(PER_TRAIN), "--per-class-val", str(PER_VAL),
                  "--format", "both"])
    return out


@pytest.mark.parametrize("fmt", ["npz", "pickle"])
def test_both_layouts_load_as_imagenet32(root, fmt):
    for sub in ("Imagenet32_train_npz", "Imagenet32_val_npz") if fmt == "npz" else ("Imagenet32_train", "Imagenet32_val"):
        assert (root / sub).is_dir()
    tr = data.load("imagenet32", root=root, format=fmt)
    te = data.load("imagenet32", root=root, split="test", format=fmt)
    assert tr.x.shape == (1000 * PER_TRAIN, 3072) and tr.x.dtype == torch.uint8
    assert te.x.shape == (1000 * PER_VAL, 3072)
    assert tr.image_shape == (3, 32, 32) and tr.num_classes == te.num_classes == 1000
    for ds in (tr, te):
        assert int(ds.y.min()) == 0 and int(ds.y.max()) == 999
        assert ds.info["standin"] is True and "NOT ImageNet32" in ds.info["provenance"]
    # the stored mean is the mean image of the whole training set
    assert torch.allclose(tr.shift, tr.x.double().mean(0).float(), atol=1e-3)
    assert "NOT ImageNet32" in (root / "STANDIN.txt").read_text()


def test_pickle_and_npz_hold_identical_arrays(root):
    for split in ("train", "test"):
        a = data.load("imagenet32", root=root, split=split, format="npz")
        b = data.load("imagenet32", root=root, split=split, format="pickle")
        assert torch.equal(a.x, b.x) and torch.equal(a.y, b.y) and torch.equal(a.shift, b.shift)


def test_deterministic_and_chunk_independent():
    x1, y1 = standin.standin_images(per_class=1, split="val", seed=3)
    x2, y2 = standin.standin_images(per_class=1, split="val", seed=3, chunk=97)
    assert torch.equal(x1, x2) and torch.equal(y1, y2)
    x3, _ = standin.standin_images(per_class=1, split="val", seed=4)
    assert not torch.equal(x1, x3)
    xt, _ = standin.standin_images(per_class=1, split="train", seed=3)
    assert not torch.equal(x1, xt)  # splits draw their own jitter


def test_classes_are_balanced(root):
    y = data.load("imagenet32", root=root).y
    assert torch.bincount(y, minlength=1000).unique().tolist() == [PER_TRAIN]
    counts = standin.class_counts(1000, total=2500)
    assert counts.sum() == 2500 and counts.max() - counts.min() == 1
    _, y = standin.standin_images(total=1234, num_classes=10)
    assert torch.bincount(y).tolist() == [124] * 4 + [123] * 6


def test_images_are_photographs_and_classes_learnable(root):
    tr = data.load("imagenet32", root=root)
    te = data.load("imagenet32", root=root, split="test")
    x = tr.x.numpy().reshape(-1, 3, 32, 32).astype(np.float64)
    r = np.corrcoef(x[..., :-1].ravel(), x[..., 1:].ravel())[0, 1]  # horizontal neighbours
    assert r > 0.5  # white noise would give 0
    # nearest class mean on the validation split: far above chance (0.1 %)
    f = tr.features()
    centroids = torch.zeros(1000, 3072).index_add_(0, tr.y, f) / PER_TRAIN
    v = te.features()
    d2 = (v**2).sum(1, keepdim=True) - 2 * v @ centroids.T + (centroids**2).sum(1)
    assert (d2.argmin(1) == te.y).float().mean() > 0.3


def test_rejects_bad_sizes():
    with pytest.raises(ValueError, match="exactly one"):
        standin.class_counts(1000)
    with pytest.raises(ValueError, match="split"):
        standin.standin_images(per_class=1, split="test")
