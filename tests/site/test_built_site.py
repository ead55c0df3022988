"""Checks of the built book: offline (no remote asset, MathJax from the build), links, downloads, the
execution-statistics page and the bibliography. `make site-check` builds the site from the ci-preset notebooks
that `make nbval` executed and runs these with ``--site``."""
from __future__ import annotations

import html
import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MATHJAX = "_static/mathjax/tex-chtml.js"


def _text(fragment: str) -> str:
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", "", fragment))).strip()


def _notebook_pages(site: Path) -> list[Path]:
    pages = sorted((site / "book" / "executed").glob("*.html"))
    assert pages, f"no notebook pages under {site}/book/executed"
    return pages


# ------------------------------------------------------------------------------------------------------------------
# offline
# ------------------------------------------------------------------------------------------------------------------
def test_no_page_or_stylesheet_fetches_anything_remote(site, checks):
    found = checks.scan_site(site)
    assert not found, "remote assets (scripts, stylesheets, fonts, ...) in the built site:\n" + "\n".join(
        f"  {path}: {where} {url}" for path, items in found.items() for where, url in items)


def test_every_page_with_math_loads_mathjax_from_the_build(site, checks):
    with_math = 0
    for page in checks.pages(site):
        text = page.read_text(encoding="utf-8")
        if 'class="math' not in text:
            continue
        with_math += 1
        srcs = re.findall(r'<script[^>]*src="([^"]*mathjax[^"]*)"', text, re.I)
        assert len(srcs) == 1, f"{page}: MathJax scripts {srcs}"
        assert (page.parent / srcs[0].split("?")[0]).resolve() == (site / MATHJAX).resolve(), (page, srcs)
    assert with_math >= 5, f"only {with_math} pages with math: did the math markup change?"
    # what tex-chtml.js loads at run time: its TeX extensions and the CHTML fonts, next to it
    for part in ("input/tex/extensions/ams.js", "output/chtml/fonts/woff-v2/MathJax_Main-Regular.woff",
                 "output/chtml/fonts/woff-v2/MathJax_Math-Italic.woff"):
        assert (site / "_static" / "mathjax" / part).is_file(), part


def test_every_local_link_and_asset_resolves(site, checks):
    broken = {p.relative_to(site).as_posix(): b for p in checks.pages(site)
              if (b := checks.broken_local_links(p, site))}
    assert not broken, broken


# ------------------------------------------------------------------------------------------------------------------
# downloads
# ------------------------------------------------------------------------------------------------------------------
def test_each_notebook_page_offers_its_executed_ipynb_and_its_py_source(site):
    for page in _notebook_pages(site):
        text = page.read_text(encoding="utf-8")
        name = page.stem
        ipynb = re.findall(rf'href="([^"]*_sources/book/executed/{re.escape(name)}\.ipynb)"', text)
        py = re.findall(rf'href="([^"]*notebooks/{re.escape(name)}\.py)"', text)
        assert ipynb and py, f"{page.name}: download links .ipynb {ipynb}, .py {py}"
        assert "btn-download-py-button" in text and ">.py<" in text.replace(" ", ""), page.name
        nb = json.loads((page.parent / ipynb[0]).resolve().read_text(encoding="utf-8"))
        assert nb["metadata"]["papermill"]["duration"] > 0  # the executed notebook, not the source
        assert any(c.get("outputs") for c in nb["cells"] if c["cell_type"] == "code"), f"{name}.ipynb has no outputs"
        source = (page.parent / py[0]).resolve()
        assert source.read_bytes() == (ROOT / "notebooks" / f"{name}.py").read_bytes(), f"{name}.py differs"


# ------------------------------------------------------------------------------------------------------------------
# execution statistics
# ------------------------------------------------------------------------------------------------------------------
def _table_rows(text: str) -> list[list[str]]:
    table = re.search(r'<table[^>]*execution-statistics.*?</table>', text, re.S)
    assert table, "no execution-statistics table"
    body = table.group(0).split("<tbody", 1)[1]
    return [[_text(c) for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
            for row in re.findall(r"<tr[^>]*>(.*?)</tr>", body, re.S)]


def test_execution_page_has_one_row_per_notebook_read_from_its_metadata(site):
    page = site / "book" / "execution.html"
    text = page.read_text(encoding="utf-8")
    rows = _table_rows(text)
    notebooks = sorted((site / "_sources" / "book" / "executed").glob("*.ipynb"))
    assert len(rows) == len(notebooks) == len(_notebook_pages(site))
    titles = {}
    for p in _notebook_pages(site):
        t = re.search(r'<h1>([^<]*)<a class="headerlink"', p.read_text(encoding="utf-8"))
        titles[p.stem] = _text(t.group(1))
    for row, nb_path in zip(rows, notebooks):
        meta = json.loads(nb_path.read_text(encoding="utf-8"))["metadata"]
        pm, ik = meta["papermill"], meta["impkit"]
        notebook, preset, device, seconds, commit, executed, *other = row
        assert notebook == titles[nb_path.stem] + " .ipynb · .py"  # the title, then the two downloads
        assert preset.split(" ")[0] == ik["preset"] == pm["parameters"]["preset"]
        assert device == ik["device"]
        assert seconds == f"{pm['duration']:.1f}"
        assert commit.split(" ")[0] == ik["commit"][:12] and len(ik["commit"]) == 40
        assert executed == pm["start_time"][:10] + " " + pm["start_time"][11:16]  # papermill writes UTC
        extra = {k: v for k, v in pm["parameters"].items() if k not in ("preset", "device", "run_root")}
        if extra or other:  # the column is there when any notebook had parameters beyond preset and device
            assert other == [", ".join(f"{k}={v}" for k, v in sorted(extra.items())) or "–"]
    total = sum(json.loads(p.read_text())["metadata"]["papermill"]["duration"] for p in notebooks)
    assert f"{len(notebooks)} notebooks" in _text(text)
    # the page is in the book's navigation
    assert 'href="execution.html"' in (site / "book" / "references.html").read_text(encoding="utf-8")
    assert total > 0


# ------------------------------------------------------------------------------------------------------------------
# citations
# ------------------------------------------------------------------------------------------------------------------
def _bibliography(site: Path) -> dict[str, str]:
    text = (site / "book" / "references.html").read_text(encoding="utf-8")
    entries = re.findall(r'<div class="citation" id="([^"]+)"[^>]*>\s*<span class="label">(.*?)</span>\s*</span>',
                         text, re.S)
    return {i: _text(label).strip("[]") for i, label in entries}


def test_citations_in_the_text_use_the_bibliography_labels(site, checks):
    labels = _bibliography(site)
    assert len(labels) >= 8, labels
    for label in labels.values():  # author-year, as the text cites: "Frankle and Carbin, 2019"
        assert re.fullmatch(r"[^\W\d][\w\s.'’-]*(?: and [\w\s.'’-]+| et al\.)?, \d{4}[a-z]?", label), label
    seen = 0
    for page in checks.pages(site):
        text = page.read_text(encoding="utf-8")
        for m in re.finditer(r'<a class="reference internal" href="[^"]*references\.html#([^"]+)"[^>]*>(.*?)</a>',
                             text, re.S):
            target, shown = m.group(1), _text(m.group(2))
            if target not in labels:
                continue
            seen += 1
            label = labels[target]
            author, year = label.rsplit(", ", 1)
            before = _text(text[max(0, m.start() - 400):m.start()])
            # {cite:p}: [Frankle and Carbin, 2019]; {cite:t}: Redman et al. [2024]
            assert shown == label or (shown == year and before.endswith(author + " [")), \
                f"{page.name}: cites {shown!r} (before: {before[-60:]!r}) for the entry labelled {label!r}"
    assert seen >= 10, seen


def test_bibliography_keeps_proper_nouns_capitalised(site):
    text = _text((site / "book" / "references.html").read_text(encoding="utf-8"))
    for word in ("ImageNet", "CIFAR", "Fashion-MNIST"):
        assert word in text, word
    for lower in ("imagenet", "cifar", "fashion-mnist"):
        assert not re.search(rf"\b{lower}\b", text), lower
