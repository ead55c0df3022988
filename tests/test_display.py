"""impkit.display: verdict prose and tables that fit the book's page (nothing cut, integers as integers)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from impkit import display


def test_fmt():
    assert display.fmt(22118) == "22118" and display.fmt(np.int64(7)) == "7"
    assert display.fmt(0.123456) == "0.123" and display.fmt(2.0, 1) == "2.0"
    assert display.fmt(float("nan")) == "nan" and display.fmt(True) == "yes" and display.fmt(np.bool_(False)) == "no"
    assert display.fmt(None) == "" and display.fmt("x") == "x"
    assert display.fmt(-3.7e-05) == "-3.70e-05" and display.fmt(0.0) == "0.000"  # never a non-zero "-0.000"


def test_report_is_markdown_in_the_book_and_wrapped_text_elsewhere():
    long = "C3 " + " ".join(["partly reproduced because the locality index and the detection rate disagree"] * 4)
    r = display.report(f"**{long}**", ["RF width: mean", "detection rate: yes"])
    md = r._repr_markdown_()
    assert md.startswith("**C3 ") and "\n\n- RF width: mean\n- detection rate: yes" in md
    text = str(r)
    assert max(len(line) for line in text.splitlines()) <= display.WIDTH
    assert "**" not in text and "partly reproduced" in text
    assert text.splitlines()[-2:] == ["- RF width: mean", "- detection rate: yes"]
    assert repr(r) == text


def test_wrap_keeps_bullets_and_indents_their_continuation():
    text = display.wrap("- " + "word " * 40, width=40)
    lines = text.splitlines()
    assert lines[0].startswith("- ") and all(line.startswith("  ") for line in lines[1:])
    assert max(map(len, lines)) <= 40


def _wide(n_cols: int = 17) -> pd.DataFrame:
    cols = {f"column {i}": np.linspace(0, 1, 3) + i for i in range(n_cols)}
    cols["count"] = [22118.0, 5.0, 0.0]  # counts that a transposition or a mean turned into floats
    return pd.DataFrame(cols, index=["a rather long candidate name " * 3, "b", "c"])


def test_a_wide_table_is_split_with_the_row_labels_in_every_part():
    t = display.table(_wide(), max_columns=6, integer=["count"])
    assert [p.shape[1] for p in t.parts] == [6, 6, 6]
    for p in t.parts:
        assert list(p.index) == list(_wide().index)
    html = t._repr_html_()
    assert html.count("<table") == 3
    assert ("a rather long candidate name " * 3).strip() in html  # never shortened to "..."
    assert "..." not in html and "..." not in str(t)
    assert "22118" in html and "22118.0" not in html
    assert "column 16" in html and "16.500" in html


def test_long_text_is_never_truncated():
    licence = "Middlebury stereo datasets, free for research; cite Scharstein et al. 2014 " * 2
    t = display.table(pd.DataFrame({"licence": [licence]}, index=["motorcycle"]))
    assert licence.strip() in str(t) and licence.strip() in t._repr_html_()


def test_series_and_transpose():
    s = pd.Series({"dataset": "nlgp {'L': 24, 'dim': 2, 'g': 10.0, 'n_test': 2000, 'n_train': 20000}",
                   "seeds": "0, 1, 2"}, name="value")
    t = display.table(s)
    assert "'n_train': 20000}" in str(t) and len(t.parts) == 1
    fates = pd.DataFrame({"mean score": [-1e-4, 2e-4], "weights": [4915, 463]}, index=[1, "never"])
    tt = display.table(fates, transpose=True, digits={"mean score": 5})
    assert tt.parts[0].loc["weights", 1] == "4915" and tt.parts[0].loc["mean score", "never"] == "0.00020"


def test_multiindex_columns_keep_their_groups_together():
    cols = pd.MultiIndex.from_product([["detection rate", "locality index", "RF width"], ["IMP", "random", "clone"]])
    t = display.table(pd.DataFrame(np.ones((2, 9)), columns=cols), max_columns=6)
    assert [list(dict.fromkeys(c[0] for c in p.columns)) for p in t.parts] == [
        ["detection rate", "locality index"], ["RF width"]]


def test_seed_ranges():
    rows = [{"dataset": "nlgp", "method": "imp", "seed": s, "det": d, "n": n, "w": w}
            for s, d, n, w in [(0, 0.48, 10, np.nan), (1, 0.50, 11, 5.0)]]
    rows += [{"dataset": "nlgp", "method": "random", "seed": s, "det": 0.03, "n": 1, "w": np.nan} for s in (0, 1)]
    t = display.seed_ranges(rows, {"det": "detection rate", "n": "units", "w": "width"}, digits=2,
                            label=lambda k: f"{k[1]} on {k[0]}", integer=["n"])
    assert list(t.columns) == ["detection rate", "units", "width"]
    assert t.loc["imp on nlgp"].tolist() == ["0.49 (0.48–0.50)", "10.5 (10–11)", "5.00"]
    assert t.loc["random on nlgp"].tolist() == ["0.03", "1", "nan"]


def test_bad_max_columns():
    with pytest.raises(ValueError):
        display.table(_wide(), max_columns=0)


def test_tables_split_by_their_width_on_the_page():
    ranges = pd.DataFrame({f"measure {i}": ["0.49 (0.48–0.50)"] * 2 for i in range(6)}, index=["IMP", "random"])
    t = display.table(ranges)  # 6 columns of 16-character cells do not fit in display.MAX_CHARS
    assert [p.shape[1] for p in t.parts] == [4, 2]
    # short cells stay on one line (no break after "0.49 (0.48–")
    assert t._repr_html_().count("impkit-table impkit-nowrap") == 2
    licence = pd.DataFrame({"source": ["scikit-image (skimage.data): Eileen Collins, NASA Great Images database"],
                            "licence": ["public domain (NASA)"]}, index=["astronaut"])
    lt = display.table(licence)
    assert len(lt.parts) == 1  # long text wraps within its column instead of pushing the table apart
    assert 'class="dataframe impkit-table"' in lt._repr_html_()  # and is allowed to wrap
