"""The registry routes names and clones; every loader documents provenance, licence and normalisation."""
import pytest

import impkit.data as data


def test_names_and_unknown():
    assert {"imagenet32", "nlgp", "photos", "fashion-mnist"} <= set(data.names())
    with pytest.raises(ValueError, match="unknown dataset 'mnist'"):
        data.load("mnist")
    with pytest.raises(ValueError, match="split must be"):
        data.load("nlgp", split="val")


@pytest.mark.parametrize("name,opts", [("nlgp", dict(n_train=20, device="cpu")), ("photos", dict(n_train=20)),
                                       ("nlgp-clone", dict(n_train=20, device="cpu"))])
def test_info(name, opts):
    ds = data.load(name, **opts)
    for k in ("provenance", "licence", "normalisation", "options"):
        assert k in ds.info, k
    assert ds.name == name
