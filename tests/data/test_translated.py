"""fashion-mnist-translated and its stationary clone, on small synthetic IDX files (the Debian package is never
needed by the tests)."""
import gzip
from pathlib import Path

import numpy as np
import pytest
import torch

import impkit.data as data
from impkit.data import fashion_mnist as fm
from impkit.data import translated as tr

N_ITEMS = {"train": 200, "test": 50}


def _write_idx(path, arr):
    arr = np.asarray(arr, dtype=np.uint8)
    head = bytes([0, 0, 8, arr.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in arr.shape)
    with gzip.open(path, "wb") as f:
        f.write(head + arr.tobytes())


@pytest.fixture(scope="module")
def root(tmp_path_factory) -> Path:
    """Garment-like items: class c is a bright rectangle of class-specific size at the image centre, with noise."""
    d = tmp_path_factory.mktemp("fm")
    rng = np.random.default_rng(3)
    for s, (xi, yi) in fm.FILES.items():
        n = N_ITEMS[s]
        y = np.arange(n) % 10
        x = rng.integers(0, 40, (n, 28, 28))
        for i, c in enumerate(y):
            h, w = 4 + 2 * (c % 5), 4 + 2 * (c // 5) * 4
            x[i, 14 - h // 2: 14 + h // 2, 14 - w // 2: 14 + w // 2] += 180
        _write_idx(d / f"{xi}.gz", np.clip(x, 0, 255))
        _write_idx(d / f"{yi}.gz", y)
    return d


def _flatness_z(x, y, k=10):
    """Max over classes and pixels of |class mean at a pixel - the class's spatial mean| / its standard error."""
    x = np.asarray(x, np.float64)
    z = []
    for c in range(k):
        xc = x[y == c]
        m = xc.mean(0)
        se = xc.std(0, ddof=1) / np.sqrt(len(xc))
        z.append(np.abs(m - m.mean()) / np.maximum(se, 1e-12))
    return float(np.max(z))


FLAT_Z = 5.5  # two-sided Bonferroni bound at family-wise level ~3e-4 over 10 x 784 pixels


def test_class_means_are_flat_and_the_untranslated_ones_are_not(root):
    ds = data.load("fashion-mnist-translated", root=str(root), seed=0, n_train=6000)
    assert ds.x.shape == (6000, 784) and ds.x.dtype == torch.uint8 and ds.scale == 255.0
    z = _flatness_z(ds.features().numpy(), ds.y.numpy())
    assert z < FLAT_Z, z
    raw = data.load("fashion-mnist", root=str(root))
    rows = raw.x[torch.randint(len(raw), (6000,), generator=torch.Generator().manual_seed(0))]
    ys = raw.y[torch.randint(len(raw), (6000,), generator=torch.Generator().manual_seed(0))]
    assert _flatness_z(rows.double().numpy() / 255, ys.numpy()) > 10 * FLAT_Z  # the test can fail


def test_rows_are_cyclic_shifts_of_items():
    img = np.arange(2 * 6 * 6, dtype=np.uint8).reshape(2, 6, 6)
    x, y, draws = tr.translate(img, np.array([0, 1]), 20, seed=1, flip=True)
    for i in range(20):
        src = img[draws["item"][i]]
        src = src[:, ::-1] if draws["flip"][i] else src
        assert np.array_equal(x[i].reshape(6, 6), np.roll(src, (draws["dy"][i], draws["dx"][i]), (0, 1)))
        assert y[i] == draws["item"][i]


def test_deterministic_and_seeded(root):
    a = data.load("fashion-mnist-translated", root=str(root), seed=4, n_train=300)
    b = data.load("fashion-mnist-translated", root=str(root), seed=4, n_train=300)
    c = data.load("fashion-mnist-translated", root=str(root), seed=5, n_train=300)
    assert torch.equal(a.x, b.x) and torch.equal(a.y, b.y) and not torch.equal(a.x, c.x)
    t1 = data.load("fashion-mnist-translated", root=str(root), split="test", seed=4, n_test=100)
    assert len(t1) == 100 and not torch.equal(t1.x, a.x[:100])
    ca = data.load("fashion-mnist-translated-clone", root=str(root), seed=4, n_train=300)
    cb = data.load("fashion-mnist-translated-clone", root=str(root), seed=4, n_train=300)
    assert torch.equal(ca.x, cb.x) and torch.equal(ca.y, a.y)


def _spectrum_z(lam_data, lam_clone, m):
    """Per class and frequency, (clone / data power - 1) scaled to a unit-variance score: |X(k)|^2 of a Gaussian
    stationary field is lambda(k) Exp(1) (complex k) or lambda(k) chi2_1 (self-conjugate k), averaged over m rows."""
    side = lam_data.shape[-1]
    k = np.arange(side)
    selfconj = ((2 * k[:, None]) % side == 0) & ((2 * k[None, :]) % side == 0)
    sd = np.where(selfconj, np.sqrt(2 / m[:, None, None]), 1 / np.sqrt(m[:, None, None]))
    ok = lam_data > 1e-9 * lam_data.max()
    return np.where(ok, (lam_clone / np.where(ok, lam_data, 1) - 1) / sd, 0.0)


def test_clone_keeps_each_class_spectrum(root):
    base = data.load("fashion-mnist-translated", root=str(root), seed=0, n_train=3000)
    clone = data.load("fashion-mnist-translated-clone", root=str(root), seed=0, n_train=3000)
    assert clone.x.dtype == torch.float32 and clone.name == "fashion-mnist-translated-clone"
    mu_d, lam_d, n_d = tr.class_spectra(base.features().numpy(), base.y.numpy(), 10)
    mu_c, lam_c, n_c = tr.class_spectra(clone.x.numpy(), clone.y.numpy(), 10)
    assert np.array_equal(n_d, n_c)
    # the means: the clone's class mean is the data's spatially averaged class mean, up to sampling error
    se = np.sqrt(lam_d[:, 0, 0] / n_c) / 28
    assert np.all(np.abs(mu_c - mu_d) < 5 * se)
    z = np.abs(_spectrum_z(lam_d, lam_c, n_c)).max()
    assert z < 5.5, z  # Bonferroni over 10 x 784 frequencies
    # the same test rejects a clone whose spectrum is 1.5 times too large in one class
    lam_bad = lam_c.copy()
    lam_bad[3] *= 1.5
    assert np.abs(_spectrum_z(lam_d, lam_bad, n_c)).max() > 5.5
    # and the clone is Gaussian: the per-pixel excess kurtosis is ~0 while the data's is not
    for c in range(10):
        xc = clone.x.numpy().astype(np.float64)[clone.y.numpy() == c]
        xc = xc - xc.mean(0)
        assert abs(float(((xc**4).mean(0) / (xc**2).mean(0) ** 2 - 3).mean())) < 0.2


@pytest.mark.parametrize("opts, needle", [({"flip": "maybe"}, "flip"), ({"n_train": 0}, "n_train"),
                                          ({"size": 3}, "size")])
def test_bad_options_are_refused_by_name(root, opts, needle):
    with pytest.raises(ValueError, match=needle):
        data.load("fashion-mnist-translated", root=str(root), **opts)


def test_command_line(tmp_path, root, capsys):
    from impkit.cli import main

    def run(*args):
        try:
            rc = main(list(args))
        except SystemExit as e:
            rc = e.code
        return rc, capsys.readouterr()

    rc, out = run("run", "--help")
    assert rc == 0 and "fashion-mnist-translated: " in out.out and "flip:bool" in out.out
    rc, out = run("run", "--preset", "ci", "--dataset", "fashion-mnist-translated", "--set",
                  "data.options.flip=maybe", "--out", str(tmp_path))
    assert rc == 2 and out.err.startswith("impkit: error: ") and "data.options.flip" in out.err
    assert len(out.err.strip().splitlines()) == 1
    rc, out = run("run", "--preset", "ci", "--dataset", "fashion-mnist-translated", "--method", "imp", "--seed", "0",
                  "--quiet", "--set", f"data.root={root}", "--set", "data.options.n_train=400",
                  "--set", "data.options.n_test=100", "--set", "train.steps=20", "--set", "train.t_rewind=5",
                  "--set", "train.eval_every=10", "--set", "prune.rounds=1", "--out", str(tmp_path))
    assert rc == 0, out.err
    assert any(p.name.startswith("fashion-mnist-translated-imp-s0-") for p in tmp_path.iterdir())
