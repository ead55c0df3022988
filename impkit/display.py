"""Notebook output that fits the book's page: verdicts as short prose, tables narrow enough to read.

The book shows a cell's printed text in a fixed-width block about 90 characters wide and a DataFrame as an HTML
table that scrolls sideways when it is wider than the page, so long ``print`` lines are cut and the right-hand
columns of a wide table are out of sight. Notebooks therefore show

* verdicts and other sentences with :func:`report`: Markdown paragraphs or bullets in the book (bold, wrapped like
  the prose around them), the same text wrapped at :data:`WIDTH` characters in a terminal or under nbval;
* tables with :func:`table`: the key columns first, at most ``max_columns`` columns per table (a wider frame is
  split into several tables, each repeating the row labels), every cell formatted by :func:`fmt` (integers as
  integers, floats to ``digits`` decimals, booleans as yes/no) and never shortened to ``...``;
* numbers over seeds with :func:`seed_ranges`: one cell per measurement, ``mean (min–max)``, instead of three
  columns per measurement.
"""
from __future__ import annotations

import html
import math
import textwrap
from numbers import Integral, Real
from typing import Any, Callable, Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

__all__ = ["WIDTH", "MAX_COLUMNS", "MAX_CHARS", "WRAP_AT", "fmt", "wrap", "Report", "report", "Table", "table",
           "seed_ranges"]

WIDTH = 88          # characters per line of plain text (the book's output blocks show about 90)
MAX_COLUMNS = 6     # data columns per table (besides the row labels) that fit the book's page ...
MAX_CHARS = 72      # ... and their estimated width in characters (the page's text column holds about 80)
WRAP_AT = 30        # a cell longer than this wraps in the book; shorter cells stay on one line
# Keeps short cells ("0.49 (0.48–0.50)") on one line; long text (licences) wraps as usual.
_STYLE = ("<style>table.impkit-nowrap td { white-space: nowrap; } "
          "table.impkit-table:not(.impkit-nowrap) td { text-align: left; } "
          "table.impkit-table { margin-bottom: 0.8em; }</style>")


def fmt(value: Any, digits: int = 3) -> str:
    """One cell as text: integers without decimals, floats with ``digits`` decimals (in scientific notation with
    ``digits`` significant digits where fixed notation would round a non-zero value to zero), NaN as ``nan``,
    booleans as ``yes``/``no``, ``None`` as an empty cell, anything else with ``str``."""
    if value is None:
        return ""
    if isinstance(value, (bool, np.bool_)):
        return "yes" if value else "no"
    if isinstance(value, Integral):
        return f"{int(value):d}"
    if isinstance(value, Real):
        v = float(value)
        if math.isnan(v):
            return "nan"
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        if v != 0 and abs(v) < 0.5 * 10.0 ** -digits:
            return f"{v:.{max(digits - 1, 0)}e}"
        return f"{v:.{digits}f}"
    return str(value)


def wrap(text: str, width: int = WIDTH) -> str:
    """Plain-text form of Markdown ``text``: ``**`` and backticks removed, each paragraph wrapped at ``width``;
    lines starting with ``- `` stay bullets (continuation lines indented)."""
    out = []
    for para in text.replace("**", "").replace("`", "").split("\n\n"):
        lines = para.splitlines() or [""]
        if all(line.lstrip().startswith("- ") for line in lines if line.strip()):
            out.append("\n".join(textwrap.fill(line.strip(), width, subsequent_indent="  ") for line in lines
                                 if line.strip()))
        else:
            out.append(textwrap.fill(" ".join(line.strip() for line in lines), width))
    return "\n\n".join(out)


class Report:
    """Sentences for the reader: Markdown in the book and in Jupyter, wrapped plain text elsewhere.

    ``str(report)`` and ``repr(report)`` are the wrapped text (what nbval compares besides the Markdown)."""

    def __init__(self, paragraphs: Sequence[str], width: int = WIDTH):
        self.paragraphs = [p.strip() for p in paragraphs if p and p.strip()]
        self.width = width

    @property
    def markdown(self) -> str:
        return "\n\n".join(self.paragraphs)

    def _repr_markdown_(self) -> str:
        return self.markdown

    def __str__(self) -> str:
        return wrap(self.markdown, self.width)

    __repr__ = __str__

    def _repr_pretty_(self, p, cycle: bool) -> None:  # IPython's text/plain
        p.text(str(self))


def report(*paragraphs: str | Iterable[str], width: int = WIDTH) -> Report:
    """A :class:`Report` of ``paragraphs``; a paragraph given as a list of strings becomes a bullet list."""
    parts = []
    for p in paragraphs:
        if isinstance(p, str):
            parts.append(p)
        else:
            parts.append("\n".join(f"- {item}" for item in p))
    return Report(parts, width)


def _label(key: Any) -> str:
    return " · ".join(map(str, key)) if isinstance(key, tuple) else str(key)


def _format_frame(frame: pd.DataFrame, digits: int | Mapping[str, int], integer: Iterable[str]) -> pd.DataFrame:
    ints = set(integer)
    out = {}
    for col in frame.columns:
        d = digits.get(col, 3) if isinstance(digits, Mapping) else digits
        values = frame[col].tolist()
        if col in ints or pd.api.types.is_integer_dtype(frame[col]):
            values = [int(round(v)) if isinstance(v, Real) and not isinstance(v, bool) and math.isfinite(v) else v
                      for v in values]
        out[col] = [fmt(v, d) for v in values]
    return pd.DataFrame(out, index=frame.index, columns=frame.columns)


def _header_width(col: Any) -> int:
    """Characters a column heading needs: its longest word (headings wrap between words)."""
    words = " ".join(map(str, col if isinstance(col, tuple) else (col,))).split()
    return max((len(w) for w in words), default=0)


def _column_width(frame: pd.DataFrame, col: Any) -> int:
    """Estimated characters a column takes on the page: its widest cell (a cell longer than :data:`WRAP_AT` wraps
    at that width) or its heading's longest word, plus padding."""
    cells = max((len(v) for v in frame[col]), default=0)
    return max(min(cells, WRAP_AT), _header_width(col)) + 2


class Table:
    """A DataFrame shown as one or more tables that fit the page, nothing truncated.

    Columns are taken in order into a table until the next one would exceed ``max_columns`` columns or
    ``max_chars`` characters of estimated width (:func:`_column_width`); the rest go into the next table, each
    table repeating the row labels. Columns under one top-level heading (MultiIndex) stay together where they fit.
    ``parts`` are the formatted frames (strings). HTML for the book and Jupyter (cells of at most
    :data:`WRAP_AT` characters are kept on one line, longer text wraps), aligned text otherwise."""

    def __init__(self, frame: pd.DataFrame, digits: int | Mapping[str, int] = 3, max_columns: int = MAX_COLUMNS,
                 integer: Iterable[str] = (), title: str | None = None, transpose: bool = False,
                 max_chars: int = MAX_CHARS):
        if max_columns < 1:
            raise ValueError("max_columns must be at least 1")
        f = _format_frame(frame.copy(), digits, integer)
        if transpose:
            f = f.T
        if f.index.nlevels == 1:  # a single index name would take a header row of its own
            f.index.name = None
        groups: list[list] = []
        for col in f.columns:  # columns under one top-level heading (MultiIndex) form a group
            if groups and isinstance(col, tuple) and isinstance(groups[-1][0], tuple) and groups[-1][0][0] == col[0]:
                groups[-1].append(col)
            else:
                groups.append([col])

        def fits(cols: list) -> bool:
            return len(cols) <= max_columns and sum(_column_width(f, c) for c in cols) <= max_chars

        parts: list[list] = [[]]
        for g in groups:
            if fits(parts[-1] + g):
                parts[-1] += g
            elif fits(g):  # the group fits a table of its own: start one rather than split it
                parts.append(list(g))
            else:
                for col in g:
                    if parts[-1] and not fits(parts[-1] + [col]):
                        parts.append([])
                    parts[-1].append(col)
        parts = [p for p in parts if p] or [[]]
        self.parts: list[pd.DataFrame] = [f[c] for c in parts]
        self.title = title

    def _repr_html_(self) -> str:
        tables = []
        with pd.option_context("display.max_colwidth", None, "display.max_columns", None, "display.max_rows", None):
            for p in self.parts:
                short = all(len(v) <= WRAP_AT for col in p.columns for v in p[col])
                classes = ["impkit-table"] + (["impkit-nowrap"] if short else [])
                tables.append(p.to_html(escape=True, notebook=False, border=0, max_rows=None, max_cols=None,
                                        classes=classes))
        head = f"<p><strong>{html.escape(self.title)}</strong></p>" if self.title else ""
        return _STYLE + head + "\n".join(tables)

    def __str__(self) -> str:
        with pd.option_context("display.max_colwidth", None, "display.max_columns", None, "display.max_rows", None,
                               "display.width", 10_000):
            text = "\n\n".join(p.to_string() for p in self.parts)
        return f"{self.title}\n{text}" if self.title else text

    __repr__ = __str__

    def _repr_pretty_(self, p, cycle: bool) -> None:
        p.text(str(self))


def table(frame: pd.DataFrame | pd.Series, digits: int | Mapping[str, int] = 3, max_columns: int = MAX_COLUMNS,
          integer: Iterable[str] = (), title: str | None = None, transpose: bool = False,
          max_chars: int = MAX_CHARS) -> Table:
    """``frame`` as a :class:`Table`: put the decisive columns first in ``frame``; ``integer`` names columns of
    counts (printed without decimals even if a mean made them floats); ``transpose`` shows rows as columns
    (for a frame with few rows and many columns). A Series is shown as one column."""
    if isinstance(frame, pd.Series):
        frame = frame.to_frame()
    return Table(frame, digits=digits, max_columns=max_columns, integer=integer, title=title, transpose=transpose,
                 max_chars=max_chars)


def seed_ranges(rows: pd.DataFrame | Sequence[Mapping], columns: Mapping[str, str],
                by: Sequence[str] = ("dataset", "method"), digits: int | Mapping[str, int] = 2,
                label: Callable[[Any], str] | None = None, integer: Iterable[str] = ()) -> pd.DataFrame:
    """One row per group of ``by`` (first-seen order), one column per measurement: ``"mean (min–max)"`` over the
    rows of the group (one per seed), NaN values left out; only the mean where all values are equal, ``nan`` where
    none is finite. ``columns`` maps a column of ``rows`` to its heading (in the order shown); ``label`` turns a
    group key into the row label; ``integer`` names columns of counts (min and max without decimals)."""
    df = pd.DataFrame(rows)
    ints = set(integer)
    out: dict[str, list[str]] = {heading: [] for heading in columns.values()}
    keys = []
    for key, g in df.groupby(list(by), sort=False):
        keys.append(label(key) if label else _label(key))
        for col, heading in columns.items():
            d = digits.get(col, 2) if isinstance(digits, Mapping) else digits
            v = np.asarray(g[col], float)
            v = v[np.isfinite(v)]
            if not v.size:
                out[heading].append("nan")
                continue
            m = float(v.mean())
            mean = (fmt(int(m)) if m.is_integer() else f"{m:.1f}") if col in ints else fmt(m, d)
            lo, hi = (fmt(int(x), 0) if col in ints else fmt(float(x), d) for x in (v.min(), v.max()))
            out[heading].append(mean if v.min() == v.max() else f"{mean} ({lo}–{hi})")
    return pd.DataFrame(out, index=pd.Index(keys, name=None))
