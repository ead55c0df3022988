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


def test_declared_option_types_match_the_loaders():
    from impkit.data import clone, fashion_mnist, imagenet32, nlgp, photos

    for mod, name in [(nlgp, "nlgp"), (photos, "photos"), (fashion_mnist, "fashion-mnist"),
                      (imagenet32, "imagenet32")]:
        # every dataset also takes the options load() handles around the loader (shuffle_labels)
        assert set(mod.OPTION_TYPES) == set(mod.OPTIONS), name
        assert data.option_types(name) == {**mod.OPTION_TYPES, **data.COMMON_OPTION_TYPES}, name
    assert set(clone.CLONE_OPTION_TYPES) == set(clone.CLONE_OPTIONS)
    assert data.option_types("nlgp-clone") == {**nlgp.OPTION_TYPES, **data.COMMON_OPTION_TYPES,
                                               **clone.CLONE_OPTION_TYPES}
    assert data.option_types("toy") is None  # declared by nobody: the loader checks its options itself


def test_load_names_a_mistyped_option():
    with pytest.raises(ValueError, match=r"nlgp option L: expected an integer, got 'abc'"):
        data.load("nlgp", L="abc", n_train=20, device="cpu")
