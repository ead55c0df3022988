"""Bundled photographs: shapes, labels, disjoint train/test regions, attribution, ICA/PCA patches."""
import numpy as np
import pytest
import torch

import impkit.data as data
from impkit.data import photos


def test_available_and_attribution():
    grey, rgb = photos.available_images("grey"), photos.available_images("rgb")
    assert len(grey) >= 15 and set(rgb) < set(grey) and {"china", "flower", "grace_hopper"} <= set(rgb)
    for n in grey:
        a = photos.ATTRIBUTION[n]
        assert a["source"] and a["licence"]
    for n in ("china", "flower"):
        assert "CC BY 2.0" in photos.ATTRIBUTION[n]["licence"]


@pytest.mark.parametrize("color,size,scale,mode", [("grey", 16, 1, "random"), ("rgb", 8, 2, "grid")])
def test_shapes_and_labels(color, size, scale, mode):
    names = ["astronaut", "coffee", "china"]
    ds = data.load("photos", color=color, size=size, scale=scale, mode=mode, n_train=300, images=names, seed=1)
    c = 3 if color == "rgb" else 1
    assert ds.image_shape == (c, size, size) and ds.x.dtype == torch.uint8 and ds.x.shape == (300, c * size * size)
    assert ds.num_classes == 3 and (torch.bincount(ds.y) == 100).all()
    assert ds.scale == 255.0 and ds.shift.shape == (c * size * size,)
    assert set(ds.info["attribution"]) == set(names)
    f = ds.features()
    assert f.dtype == torch.float32 and f.abs().max() <= 1


def test_patch_content_and_holdout():
    # a patch row equals the image block it claims to be (CHW order), and test patches come from the
    # held-out right-most columns only
    img = photos._image("coffee", "rgb", 1)
    pos = np.array([[5, 7], [100, 200]])
    rows = photos._extract(img, pos, 8)
    np.testing.assert_array_equal(rows[1].reshape(3, 8, 8), img[:, 100:108, 200:208])
    kw = dict(images=["camera"], size=8, mode="grid", n_train=10**6, n_test=10**6)
    tr, te = data.load("photos", **kw), data.load("photos", split="test", **kw)
    cut = int(round(512 * 0.8))
    assert len(tr) == (512 // 8) * (cut // 8) and len(te) == (512 // 8) * ((512 - cut) // 8)
    cam = photos._image("camera", "grey", 1)[0]
    left = {cam[i:i + 8, j:j + 8].tobytes() for i in range(0, 505, 8) for j in range(0, cut - 7, 8)}
    assert all(r.numpy().tobytes() in left for r in tr.x)
    assert not any(r.numpy().tobytes() in left for r in te.x[:50])


def test_seeds_splits_task():
    a = data.load("photos", n_train=60, seed=0)
    assert torch.equal(a.x, data.load("photos", n_train=60, seed=0).x)
    assert not torch.equal(a.x, data.load("photos", n_train=60, seed=1).x)
    t = data.load("photos", n_train=60, task="none")
    assert t.num_classes == 1 and (t.y == 0).all()


def test_errors():
    with pytest.raises(ValueError, match=r"unknown option\(s\) 'colour'.*valid options:.*color"):
        data.load("photos", colour="rgb")
    with pytest.raises(ValueError, match="'camera' is greyscale"):
        data.load("photos", color="rgb", images=["camera"])
    with pytest.raises(ValueError, match="unknown image 'lena'"):
        data.load("photos", images=["lena"])
    with pytest.raises(ValueError, match="smaller than a 64x64 patch"):
        data.load("photos", images=["clock"], size=64, scale=4, split="test")


def test_patches_for_ica():
    p = photos.patches(3000, size=8, seed=0)
    assert p.shape == (3000, 64) and p.dtype == np.float32
    assert np.abs(p.mean(0)).max() < 1e-5
    w = photos.patches(3000, size=8, seed=0, whiten=True)
    np.testing.assert_allclose(np.cov(w, rowvar=False), np.eye(64), atol=2e-2)
    rgb = photos.patches(500, size=4, color="rgb", seed=1)
    assert rgb.shape == (500, 48)
