"""The book's own Sphinx extension (loaded through ``sphinx.local_extensions`` in ``_config.yml``).

* **Author-year bibliography labels.** The text cites author-year (``bibtex_reference_style: author_year``); the
  pybtex style ``impkit-author-year`` (``bibtex_default_style``) gives the bibliography the same labels,
  ``[Frankle and Carbin, 2019]``, ``[Redman et al., 2024]``, sorted by author, year and title.
* **Downloads.** Every notebook page (a page whose source is an executed ``.ipynb``) gets its jupytext source
  ``notebooks/NAME.py`` copied into the site as ``notebooks/NAME.py`` and a ``.py`` entry in the theme's
  download menu, next to the executed ``.ipynb`` that the theme already offers.
* **Execution statistics.** The directive ``{execution-statistics}`` renders one row per executed notebook
  (preset, device, seconds, impkit commit, date, downloads) from the metadata papermill and
  ``tools/run_notebooks.py`` record in each notebook; :func:`execution_rows` reads it.
"""
from __future__ import annotations

import glob
import json
import posixpath
import shutil
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

# the folder of the notebooks' jupytext sources, relative to the book's source folder (the repository root)
NOTEBOOK_SOURCES = "notebooks"
# where a notebook page's .py source is copied inside the built site
DOWNLOAD_DIR = "notebooks"
# papermill parameters that every notebook gets and that the statistics table shows in columns of their own
# (run_root is a path on the machine that executed the notebook: not shown)
STANDARD_PARAMETERS = ("preset", "device", "run_root")


# ------------------------------------------------------------------------------------------------------------------
# execution statistics (pure functions: unit-tested on synthetic executed notebooks)
# ------------------------------------------------------------------------------------------------------------------
@dataclass
class ExecutionRow:
    """What one executed notebook's metadata says about its execution."""

    name: str                   # file stem, e.g. "04_receptive_fields"
    path: Path
    preset: str = "?"
    device: str = "?"
    seconds: float | None = None
    commit: str = "unknown"
    dirty: bool = False         # the working tree differed from ``commit``
    started: datetime | None = None
    source: str | None = None   # the jupytext source, e.g. "notebooks/04_receptive_fields.py"
    parameters: dict = field(default_factory=dict)  # the other papermill parameters (seeds, methods, ...)
    smoke: bool = False

    @property
    def date(self) -> str:
        return self.started.strftime("%Y-%m-%d %H:%M") if self.started else "?"  # UTC

    @property
    def short_commit(self) -> str:
        return self.commit[:12] if self.commit != "unknown" else self.commit

    @property
    def duration(self) -> str:
        return format_seconds(self.seconds)


def format_seconds(seconds: float | None) -> str:
    """``12.3 s``, ``4 min 05 s``, ``1 h 02 min``; ``?`` when unknown."""
    if seconds is None:
        return "?"
    if seconds < 60:
        return f"{seconds:.1f} s"
    m, s = divmod(int(round(seconds)), 60)
    if m < 60:
        return f"{m} min {s:02d} s"
    h, m = divmod(m, 60)
    return f"{h} h {m:02d} min"


def _parse_time(text) -> datetime | None:
    if not text:
        return None
    try:
        t = datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    except ValueError:
        return None
    return (t if t.tzinfo else t.replace(tzinfo=timezone.utc)).astimezone(timezone.utc)


def execution_row(path: str | Path) -> ExecutionRow:
    """One notebook's row from ``metadata.papermill`` (parameters, duration, start time; written by papermill)
    and ``metadata.impkit`` (commit, device, source, preset; written by ``tools/run_notebooks.py``)."""
    path = Path(path)
    meta = json.loads(path.read_text(encoding="utf-8")).get("metadata", {})
    pm = meta.get("papermill", {}) or {}
    ik = meta.get("impkit", {}) or {}
    params = dict(pm.get("parameters", {}) or {})
    seconds = pm.get("duration")
    if seconds is None:  # papermill writes duration at the end; fall back on the two time stamps
        t0, t1 = _parse_time(pm.get("start_time")), _parse_time(pm.get("end_time"))
        seconds = (t1 - t0).total_seconds() if t0 and t1 else None
    return ExecutionRow(
        name=path.stem, path=path,
        preset=str(ik.get("preset", params.get("preset", "?"))),
        device=str(ik.get("device", params.get("device", "?"))),
        seconds=None if seconds is None else float(seconds),
        commit=str(ik.get("commit", "unknown")),
        dirty=bool(ik.get("dirty", False)),
        started=_parse_time(pm.get("start_time")),
        source=ik.get("source"),
        parameters={k: v for k, v in params.items() if k not in STANDARD_PARAMETERS},
        smoke=bool(ik.get("smoke", False)),
    )


def execution_rows(paths) -> list[ExecutionRow]:
    """Rows for ``paths`` (notebook files), sorted by file name."""
    return [execution_row(p) for p in sorted(map(Path, paths), key=lambda p: p.name)]


def total_seconds(rows: list[ExecutionRow]) -> float | None:
    known = [r.seconds for r in rows if r.seconds is not None]
    return sum(known) if known else None


def source_of(notebook: str | Path, srcdir: str | Path) -> Path | None:
    """The jupytext source of an executed notebook: ``metadata.impkit.source`` when recorded, else
    ``notebooks/<stem>.py``; None when neither exists under ``srcdir``."""
    notebook, srcdir = Path(notebook), Path(srcdir)
    try:
        recorded = json.loads(notebook.read_text(encoding="utf-8")).get("metadata", {}).get("impkit", {}).get("source")
    except (OSError, ValueError):
        recorded = None
    for candidate in ([recorded] if recorded else []) + [f"{NOTEBOOK_SOURCES}/{notebook.stem}.py"]:
        p = srcdir / candidate
        if p.is_file():
            return p
    return None


# ------------------------------------------------------------------------------------------------------------------
# author-year labels for the bibliography
# ------------------------------------------------------------------------------------------------------------------
def author_year_label(last_names: list[str], year: str) -> str:
    """``Xiao``, ``Frankle and Carbin``, ``Redman et al.`` (as sphinxcontrib-bibtex's author_year citations), year."""
    if not last_names:
        who = "Anonymous"
    elif len(last_names) == 1:
        who = last_names[0]
    elif len(last_names) == 2:
        who = f"{last_names[0]} and {last_names[1]}"
    else:
        who = f"{last_names[0]} et al."
    return f"{who}, {year}" if year else who


def _pybtex_plugins():
    """Register the ``impkit-author-year`` pybtex formatting style (idempotent)."""
    from pybtex.plugin import find_plugin, register_plugin
    from pybtex.style.formatting.unsrt import Style as Unsrt
    from pybtex.style.labels import BaseLabelStyle

    class AuthorYearLabels(BaseLabelStyle):
        def format_labels(self, sorted_entries):
            labels = []
            for entry in sorted_entries:
                persons = entry.persons.get("author") or entry.persons.get("editor") or []
                names = [" ".join(str(part.render_as("text")) for part in p.rich_prelast_names + p.rich_last_names)
                         for p in persons]
                labels.append(author_year_label(names, entry.fields.get("year", "")))
            # the same authors in the same year: 2019a, 2019b, ... in bibliography order
            for label in set(labels):
                idx = [i for i, lab in enumerate(labels) if lab == label]
                if len(idx) > 1:
                    for k, i in enumerate(idx):
                        labels[i] = f"{label}{chr(ord('a') + k)}"
            yield from labels

    class AuthorYearStyle(Unsrt):
        default_label_style = "impkit-author-year"
        default_sorting_style = "author_year_title"

    try:
        find_plugin("pybtex.style.labels", "impkit-author-year")
    except Exception:  # pybtex raises PluginNotFound
        register_plugin("pybtex.style.labels", "impkit-author-year", AuthorYearLabels)
    try:
        find_plugin("pybtex.style.formatting", "impkit-author-year")
    except Exception:
        register_plugin("pybtex.style.formatting", "impkit-author-year", AuthorYearStyle)


# ------------------------------------------------------------------------------------------------------------------
# Sphinx glue
# ------------------------------------------------------------------------------------------------------------------
def _is_notebook_page(app, docname: str) -> Path | None:
    try:
        path = Path(app.env.doc2path(docname))
    except Exception:
        return None
    return path if path.suffix == ".ipynb" else None


def _add_py_download(app, pagename, templatename, context, doctree):
    """A ``.py`` entry in the theme's download menu of every notebook page; copies the source into the site."""
    from sphinx.util import logging

    nb = _is_notebook_page(app, pagename)
    if nb is None or doctree is None:
        return
    log = logging.getLogger(__name__)
    src = source_of(nb, app.srcdir)
    if src is None:
        log.warning(f"impkit_book: no jupytext source for {pagename} (looked for metadata.impkit.source and "
                    f"{NOTEBOOK_SOURCES}/{nb.stem}.py)", location=pagename)
        return
    target = f"{DOWNLOAD_DIR}/{src.name}"
    dest = Path(app.outdir) / target
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(src, dest)
    groups = [b for b in context.get("header_buttons", []) if b.get("label") == "download-buttons"]
    if not groups:
        log.warning("impkit_book: the theme's download menu is missing; cannot offer the .py source",
                    location=pagename)
        return
    buttons = groups[0]["buttons"]
    at = next((i + 1 for i, b in enumerate(buttons) if b.get("label") == "download-source-button"), len(buttons))
    buttons.insert(at, {
        "type": "link",
        "url": context["pathto"](target, 1),
        "text": ".py",
        "tooltip": f"Download the jupytext source ({NOTEBOOK_SOURCES}/{src.name})",
        "icon": "fas fa-code",
        "label": "download-py-button",
    })


def _statistics_directive():
    from docutils import nodes
    from sphinx import addnodes
    from sphinx.util import logging
    from sphinx.util.docutils import SphinxDirective

    log = logging.getLogger(__name__)

    def para(*children):
        p = nodes.paragraph()
        p.extend(children)
        return p

    class ExecutionStatistics(SphinxDirective):
        """``{execution-statistics} GLOB``: a table of the executed notebooks matching GLOB (relative to the
        book's source folder), one row each, from their metadata."""

        required_arguments = 1
        has_content = False

        def run(self):
            env = self.env
            pattern = self.arguments[0]
            paths = sorted(glob.glob(str(Path(env.srcdir) / pattern)))
            if not paths:
                log.warning(f"execution-statistics: no notebook matches {pattern!r}", location=self.get_location())
                return []
            rows = execution_rows(paths)
            here = posixpath.dirname(env.docname)
            with_other = any(r.parameters for r in rows)  # e.g. the seeds of a smoke pass
            heads = [("notebook and downloads", 30), ("preset", 8), ("device", 14), ("seconds", 9),
                     ("impkit commit", 15), ("executed (UTC)", 14)] + ([("other parameters", 14)] if with_other else [])
            table = nodes.table(classes=["execution-statistics", "colwidths-given"])
            group = nodes.tgroup(cols=len(heads))
            table += group
            group.extend(nodes.colspec(colwidth=w) for _, w in heads)
            thead = nodes.thead()
            group += thead
            thead += nodes.row("", *[nodes.entry("", para(nodes.Text(h))) for h, _ in heads])
            tbody = nodes.tbody()
            group += tbody
            for r in rows:
                env.note_dependency(str(r.path))
                docname = env.path2doc(str(r.path))
                if docname is not None:
                    link = addnodes.pending_xref("", nodes.inline(text=r.name), refdomain="std", reftype="doc",
                                                 reftarget="/" + docname, refexplicit=False, refdoc=env.docname,
                                                 refwarn=True)
                else:
                    link = nodes.literal(text=r.name)
                downloads = para()
                if docname is not None:
                    ipynb = posixpath.relpath(f"_sources/{docname}.ipynb", here)
                    downloads += nodes.reference("", ".ipynb", refuri=ipynb, classes=["download-ipynb"])
                src = source_of(r.path, env.srcdir)
                if src is not None:
                    env.note_dependency(str(src))
                    downloads += nodes.Text(" · ")
                    downloads += nodes.reference("", ".py", refuri=posixpath.relpath(f"{DOWNLOAD_DIR}/{src.name}", here),
                                                 classes=["download-py"])
                first = nodes.entry("", para(link), downloads)
                commit = para(nodes.literal(text=r.short_commit))
                if r.dirty:
                    commit += nodes.Text(" (modified)")
                cells = [para(nodes.Text(r.preset + (" (smoke)" if r.smoke else ""))), para(nodes.Text(r.device)),
                         para(nodes.Text("?" if r.seconds is None else f"{r.seconds:.1f}")), commit,
                         para(nodes.Text(r.date))]
                if with_other:
                    cells.append(para(nodes.Text(", ".join(f"{k}={v}" for k, v in sorted(r.parameters.items()))
                                                 or "–")))
                tbody += nodes.row("", first, *[nodes.entry("", c) for c in cells])
            total = total_seconds(rows)
            summary = para(nodes.Text(f"{len(rows)} notebooks, {format_seconds(total)} of execution in all."))
            return [table, summary]

    return ExecutionStatistics


def setup(app):
    _pybtex_plugins()
    app.add_directive("execution-statistics", _statistics_directive())
    # after sphinx-book-theme's add_header_buttons (priority 501), which builds the download menu
    app.connect("html-page-context", _add_py_download, priority=510)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
