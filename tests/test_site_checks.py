"""tools/site_checks.py (the remote-asset scan of the built book) and book/_ext/impkit_book.py (execution
statistics, author-year labels), on synthetic pages and notebooks. The built book itself: tests/site."""
from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from conftest import load_script

sc = load_script("tools/site_checks.py", "site_checks")
ext = load_script("book/_ext/impkit_book.py", "impkit_book")


# ------------------------------------------------------------------------------------------------------------------
# remote assets
# ------------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("snippet, url", [
    ('<script defer src="https://cdn.jsdelivr.net/npm/mathjax@3/es5/tex-mml-chtml.js"></script>',
     "https://cdn.jsdelivr.net/npm/mathjax@3/es5/tex-mml-chtml.js"),
    ('<script src="//cdnjs.cloudflare.com/ajax/libs/require.js/2.3.4/require.min.js"></script>',
     "//cdnjs.cloudflare.com/ajax/libs/require.js/2.3.4/require.min.js"),
    ('<link rel="stylesheet" href="https://fonts.googleapis.com/css?family=Lato">',
     "https://fonts.googleapis.com/css?family=Lato"),
    ('<link rel="preload" as="font" crossorigin href="HTTPS://example.org/f.woff2" />', "HTTPS://example.org/f.woff2"),
    ('<img src="http://example.org/a.png">', "http://example.org/a.png"),
    ('<img srcset="a.png 1x, https://example.org/b.png 2x">', "https://example.org/b.png"),
    ('<iframe src="https://www.youtube.com/embed/x"></iframe>', "https://www.youtube.com/embed/x"),
    ('<style>@import url("https://fonts.googleapis.com/css2?family=Inter");</style>',
     "https://fonts.googleapis.com/css2?family=Inter"),
    ('<div style="background: url(//example.org/bg.png)"></div>', "//example.org/bg.png"),
    ('<script>const THEBE_JS_URL = "https://unpkg.com/thebe@0.8.2/lib/index.js"; const x = 1</script>',
     "https://unpkg.com/thebe@0.8.2/lib/index.js"),
    ('<script type="text/javascript">require.config({paths: {plotly: "https://cdn.plot.ly/plotly-2.35.2.min"}});'
     'load("https://cdn.plot.ly/plotly-2.35.2.min.js")</script>', "https://cdn.plot.ly/plotly-2.35.2.min.js"),
    ('<script src="file:///home/me/book/_static/x.js"></script>', "file:///home/me/book/_static/x.js"),
])
def test_remote_assets_in_html_are_found(snippet, url):
    page = f"<html><head></head><body><p>text</p>{snippet}</body></html>"
    assert url in [u for _, u in sc.remote_in_html(page)]


@pytest.mark.parametrize("snippet", [
    '<a href="https://arxiv.org/abs/2412.06545">the paper</a>',
    '<a class="reference external" href="//doi.org/10.1073/pnas.2201854119">doi</a>',
    '<script defer src="../_static/mathjax/tex-chtml.js"></script>',
    '<link rel="stylesheet" href="_static/pygments.css?v=1" />',
    '<img src="data:image/png;base64,iVBORw0KGgo=">',
    '<div style="background: url(\'data:image/svg+xml;charset=utf-8,%3Csvg xmlns=%27http://www.w3.org/2000/svg%27\')">',
    '<script>window.MathJax = {"options": {"processHtmlClass": "math"}}</script>',
    '<script>// see https://example.org/docs for the API\nvar a = 1;</script>',
    '<pre>&lt;script src="https://cdn.example.org/x.js"&gt;</pre>',
])
def test_local_assets_and_plain_links_are_not_flagged(snippet):
    assert sc.remote_in_html(f"<html><body>{snippet}</body></html>") == []


def test_css_imports_and_urls():
    css = """@import "https://fonts.googleapis.com/css?family=Roboto";
    @import url(local.css);
    @font-face { font-family: X; src: url("//fonts.gstatic.com/x.woff2") format("woff2"), url(fonts/x.woff); }
    .a { background: url('data:image/svg+xml;utf8,<svg xmlns="http://www.w3.org/2000/svg"/>'); }"""
    assert sorted(u for _, u in sc.remote_in_css(css)) == ["//fonts.gstatic.com/x.woff2",
                                                           "https://fonts.googleapis.com/css?family=Roboto"]


def test_scan_site_reports_each_file(tmp_path):
    (tmp_path / "book").mkdir()
    (tmp_path / "_static").mkdir()
    (tmp_path / "index.html").write_text('<a href="https://example.org">ok</a><link href="_static/a.css">')
    (tmp_path / "book" / "p.html").write_text('<script src="https://cdn.example.org/m.js"></script>')
    (tmp_path / "_static" / "a.css").write_text('@import url("https://cdn.example.org/f.css");')
    (tmp_path / "_static" / "b.js").write_text('fetch("https://cdn.example.org/x.js")')  # not scanned: JS files
    assert sc.scan_site(tmp_path) == {"_static/a.css": [("@import", "https://cdn.example.org/f.css")],
                                      "book/p.html": [("<script src>", "https://cdn.example.org/m.js")]}


def test_broken_local_links(tmp_path):
    (tmp_path / "book").mkdir()
    (tmp_path / "notebooks").mkdir()
    (tmp_path / "notebooks" / "a.py").write_text("x = 1\n")
    page = tmp_path / "book" / "p.html"
    page.write_text('<a href="../notebooks/a.py">a</a> <a href="../notebooks/b.py">b</a> <a href="#top">t</a> '
                    '<img src="../_images/missing.png?v=2"> <a href="https://example.org/x">x</a>'
                    '<a href="../../outside.html">o</a>')
    (tmp_path.parent / "outside.html").write_text("")
    assert sc.broken_local_links(page, tmp_path) == [("<a href>", "../notebooks/b.py"),
                                                     ("<img src>", "../_images/missing.png?v=2"),
                                                     ("<a href>", "../../outside.html")]


# ------------------------------------------------------------------------------------------------------------------
# execution statistics: read from papermill's and run_notebooks' metadata
# ------------------------------------------------------------------------------------------------------------------
def _executed(path: Path, papermill: dict, impkit: dict | None = None) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("x = 1", outputs=[nbformat.v4.new_output("stream", text="hi\n")])]
    nb.metadata["papermill"] = papermill
    if impkit is not None:
        nb.metadata["impkit"] = impkit
    nbformat.write(nb, path)
    return path


def test_execution_rows_come_from_the_notebook_metadata(tmp_path):
    a = _executed(tmp_path / "02_b.ipynb",
                  {"parameters": {"preset": "paper", "device": "auto", "run_root": "/x/runs", "seeds": [0, 1]},
                   "start_time": "2026-11-24T19:47:03.5+00:00", "end_time": "2026-11-24T19:49:05.5+00:00",
                   "duration": 122.0},
                  {"commit": "0123456789abcdef0123456789abcdef01234567", "dirty": True, "device": "cuda (NVIDIA H100)",
                   "preset": "paper", "smoke": True, "source": "notebooks/02_b.py"})
    b = _executed(tmp_path / "01_a.ipynb",  # no impkit metadata, no duration: what papermill alone records
                  {"parameters": {"preset": "ci"}, "start_time": "2026-11-24T10:00:00",
                   "end_time": "2026-11-24T10:00:09.25"})
    r1, r2 = ext.execution_rows([a, b])
    assert (r1.name, r1.preset, r1.device, r1.commit, r1.seconds) == ("01_a", "ci", "?", "unknown", 9.25)
    assert r1.date == "2026-11-24 10:00" and r1.short_commit == "unknown" and not r1.dirty
    assert (r2.name, r2.preset, r2.device, r2.seconds, r2.smoke, r2.dirty) == (
        "02_b", "paper", "cuda (NVIDIA H100)", 122.0, True, True)
    assert r2.short_commit == "0123456789ab" and r2.date == "2026-11-24 19:47"
    assert r2.parameters == {"seeds": [0, 1]} and r2.duration == "2 min 02 s"
    assert ext.total_seconds([r1, r2]) == 131.25


def test_source_of_a_notebook(tmp_path):
    (tmp_path / "notebooks").mkdir()
    (tmp_path / "notebooks" / "03_c.py").write_text("# %%\n")
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "x.py").write_text("# %%\n")
    nb = _executed(tmp_path / "03_c.ipynb", {})
    assert ext.source_of(nb, tmp_path) == tmp_path / "notebooks" / "03_c.py"        # by name
    nb = _executed(tmp_path / "03_c.ipynb", {}, {"source": "elsewhere/x.py"})
    assert ext.source_of(nb, tmp_path) == tmp_path / "elsewhere" / "x.py"           # as recorded
    assert ext.source_of(_executed(tmp_path / "04_d.ipynb", {}), tmp_path) is None   # none


@pytest.mark.parametrize("seconds, text", [(None, "?"), (0.04, "0.0 s"), (59.94, "59.9 s"), (61, "1 min 01 s"),
                                           (3599.6, "1 h 00 min"), (7384, "2 h 03 min")])
def test_format_seconds(seconds, text):
    assert ext.format_seconds(seconds) == text


# ------------------------------------------------------------------------------------------------------------------
# author-year bibliography labels
# ------------------------------------------------------------------------------------------------------------------
def test_author_year_labels():
    assert ext.author_year_label(["Xiao"], "2017") == "Xiao, 2017"
    assert ext.author_year_label(["Frankle", "Carbin"], "2019") == "Frankle and Carbin, 2019"
    assert ext.author_year_label(["Redman", "Wang", "Ingrosso", "Goldt"], "2024") == "Redman et al., 2024"


def test_pybtex_style_labels_like_the_citations_and_sorts_by_author():
    from pybtex.database import parse_string
    from pybtex.plugin import find_plugin

    ext._pybtex_plugins()
    bib = parse_string(r"""
        @article{b, author = {Zed, Ann and Young, Bo}, title = {An {ImageNet} study}, year = {2020}, journal = {J}}
        @article{a, author = {Hyv{\"a}rinen, Aapo and Oja, Erkki}, title = {One}, year = {2000}, journal = {J}}
        @article{c, author = {Zed, Ann and Young, Bo}, title = {Three}, year = {2020}, journal = {J}}
        @article{d, author = {van Rossum, Guido and Drake, Fred and Other, O.}, title = {Four}, year = {2009},
                 journal = {J}}""", "bibtex")
    style = find_plugin("pybtex.style.formatting", "impkit-author-year")()
    formatted = list(style.format_entries(bib.entries.values()))
    assert [(e.key, e.label) for e in formatted] == [
        ("a", "Hyvärinen and Oja, 2000"), ("d", "van Rossum et al., 2009"),
        ("b", "Zed and Young, 2020a"), ("c", "Zed and Young, 2020b")]
    assert "ImageNet" in formatted[2].text.render_as("text")


# ------------------------------------------------------------------------------------------------------------------
# tools/check_pages.py: a page that redirects while it is measured (the site's index.html) is measured where it lands

cp = load_script("tools/check_pages.py", "check_pages")


class _FakeDevTools(cp.Browser):
    """A Browser without Chromium: ``call`` answers from a script, ``wait_for`` always sees the event."""

    def __init__(self, evaluate_errors: list[str]):
        self.errors, self.calls, self.events, self.favicon, self.timeout = list(evaluate_errors), [], [], "\0", 1.0

    def call(self, method, session=False, **params):
        self.calls.append(method)
        if method == "Runtime.evaluate" and self.errors:
            raise RuntimeError(f"{method}: {{'code': -32000, 'message': '{self.errors.pop(0)}'}}")
        return {"result": {"value": {"formulas": 0}}} if method == "Runtime.evaluate" else {}

    def wait_for(self, method, timeout):
        return method == "Page.loadEventFired"


def test_check_pages_measures_the_page_a_redirect_lands_on(monkeypatch):
    monkeypatch.setattr(cp.time, "sleep", lambda s: None)
    b = _FakeDevTools(["Inspected target navigated or closed"])
    page = b.open("http://127.0.0.1/index.html")
    assert page["loaded"] is True and page["formulas"] == 0 and page["failed"] == []
    assert b.calls == ["Page.navigate", "Runtime.evaluate", "Runtime.evaluate"]
    # another error, or a page that keeps navigating, is still an error
    with pytest.raises(RuntimeError, match="Target closed"):
        _FakeDevTools(["Target closed"]).open("http://127.0.0.1/a.html")
    with pytest.raises(RuntimeError, match="navigated"):
        _FakeDevTools(["Inspected target navigated or closed"] * cp.NAVIGATIONS).open("http://127.0.0.1/a.html")
