"""impkit.params: list and dict notebook parameters in both the forms papermill delivers (value or string)."""
from __future__ import annotations

import pytest

from impkit.params import ParameterError, as_dict, as_list


@pytest.mark.parametrize("given", [[0, 1], (0, 1), "[0, 1]", "(0, 1)", "0, 1", "0 1", "0,1", " [0,1] ", range(2)])
def test_seeds_in_every_spelling(given):
    assert as_list(given, "seeds", item=int) == [0, 1]


def test_single_values_and_defaults():
    assert as_list(3, "seeds", item=int) == [3]
    assert as_list("3", "seeds", item=int) == [3]
    assert as_list("[2.0]", "seeds", item=int) == [2]
    assert as_list(None, "seeds") is None and as_list("", "seeds") is None and as_list("  ", "seeds") is None
    assert as_list("imp", "methods") == ["imp"]


def test_names_lists():
    want = ["imp", "oneshot", "random"]
    for given in (want, '["imp", "oneshot", "random"]', "['imp', 'oneshot', 'random']", "imp, oneshot, random",
                  "imp oneshot random"):
        assert as_list(given, "methods", item=str) == want
    assert as_list('["fashion-mnist"]', "extra_datasets") == ["fashion-mnist"]
    assert as_list("fashion-mnist", "extra_datasets") == ["fashion-mnist"]
    # a list of lists (the appendix's candidates) keeps its structure
    assert as_list('[["a", "nlgp", {"data.options.g": 1.0}]]', "candidates") == [["a", "nlgp", {"data.options.g": 1.0}]]


@pytest.mark.parametrize("bad", ["[0, 1", "[0.5]", "a", "[true]", {"a": 1}, "{'a': 1}"])
def test_bad_seeds_name_the_parameter(bad):
    with pytest.raises(ParameterError, match="seeds"):
        as_list(bad, "seeds", item=int)


def test_dicts():
    assert as_dict(None, "overrides") == {} and as_dict("", "overrides") == {} and as_dict("{}", "overrides") == {}
    assert as_dict('{"train.steps": 2000}', "overrides") == {"train.steps": 2000}
    assert as_dict("{'model.input_bn': True}", "overrides") == {"model.input_bn": True}
    assert as_dict('{"model.input_bn": true}', "overrides") == {"model.input_bn": True}  # JSON spelling
    d = {"train.steps": 30}
    assert as_dict(d, "overrides") == d and as_dict(d, "overrides") is not d
    for bad in ("[1]", "train.steps=30", 3):
        with pytest.raises(ParameterError, match="overrides"):
            as_dict(bad, "overrides")


def test_every_notebook_reads_its_list_parameters_through_the_helper():
    """A notebook that declares seeds/methods/... must pass them through impkit.params (papermill -p gives str)."""
    import ast
    from pathlib import Path

    import jupytext

    root = Path(__file__).resolve().parents[1]
    list_params = {"seeds", "methods", "extra_datasets", "candidates", "datasets"}
    dict_params = {"overrides"}
    for src in sorted((root / "notebooks").glob("*.py")):
        nb = jupytext.read(src)
        cell = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
        declared = {t.id for node in ast.parse(cell.source).body if isinstance(node, ast.Assign)
                    for t in node.targets if isinstance(t, ast.Name)}
        code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
        for name in declared & list_params:
            assert f"as_list({name}, " in code, f"{src.name}: {name} is not read with impkit.params.as_list"
        for name in declared & dict_params:
            assert f"as_dict({name}, " in code, f"{src.name}: {name} is not read with impkit.params.as_dict"
