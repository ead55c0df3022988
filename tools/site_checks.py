"""Static checks of a built book (``_build/html``): what a page would fetch from elsewhere, and whether its links
resolve. Used by ``tests/site`` (``make site-check``) and ``tools/check_pages.py``; unit-tested in
``tests/test_site_checks.py``.

A *remote asset* is anything the browser fetches by itself when it opens a page — a script, a stylesheet, a font,
an image, a frame — from an absolute URL (``http://``, ``https://``, protocol-relative ``//host``, ``file://``).
Ordinary links a reader may follow (``<a href="https://arxiv.org/...">``) are not assets. Found in HTML: ``src``,
``srcset``, ``data`` (``<object>``), ``poster``, ``<link href>`` (stylesheets, preloads, icons), inline
``<style>`` and ``style=""`` (CSS rules below), and URLs of scripts, stylesheets or fonts spelled out inside
inline ``<script>`` (how a page tells a loader such as thebe or require.js where to fetch from). Found in CSS:
``@import`` and ``url(...)``. ``data:`` and ``blob:`` URLs are local.
"""
from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

ABSOLUTE = re.compile(r"^\s*(?:(?:https?|ftp|file|wss?):)?//", re.I)
LOCAL_SCHEMES = ("data:", "blob:", "about:", "javascript:", "mailto:", "tel:", "#")
CSS_IMPORT = re.compile(r"""@import\s+(?:url\(\s*)?["']?([^"')\s;]+)""", re.I)
CSS_URL = re.compile(r"""url\(\s*(["']?)(.*?)\1\s*\)""", re.I | re.S)
# a URL of a script, stylesheet or font written out in an inline script
SCRIPT_ASSET_URL = re.compile(r"""(?:https?:)?//[^\s"'`<>()]+?\.(?:m?js|css|woff2?|ttf|otf|eot)(?=[?#"'`\s)]|$)""",
                              re.I)
ASSET_ATTRS = ("src", "data", "poster")


def is_remote(url: str) -> bool:
    """True for an absolute URL that a browser would fetch from a server or another file tree."""
    u = (url or "").strip()
    if not u or u.lower().startswith(LOCAL_SCHEMES):
        return False
    return bool(ABSOLUTE.match(u))


def remote_in_css(text: str) -> list[tuple[str, str]]:
    """``(where, url)`` for each remote ``@import`` or ``url(...)`` of a stylesheet."""
    found = [("@import", u) for u in CSS_IMPORT.findall(text) if is_remote(u)]
    rest = re.sub(r"@import[^;]*;?", "", text, flags=re.I)  # an @import url(...) is reported once, above
    found += [("url()", u.strip()) for _, u in CSS_URL.findall(rest) if is_remote(u)]
    return found


class _Assets(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.remote: list[tuple[str, str]] = []
        self.local: list[tuple[str, str]] = []   # (tag.attr, url) of every local link and asset
        self._in: str | None = None
        self._buf: list[str] = []

    def _url(self, where: str, url: str | None, asset: bool):
        if url is None:
            return
        if is_remote(url):
            if asset:
                self.remote.append((where, url.strip()))
        elif url.strip() and not url.strip().lower().startswith(LOCAL_SCHEMES):
            self.local.append((where, url.strip()))

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        for name in ASSET_ATTRS:
            if name in a and not (tag == "script" and name == "data"):
                self._url(f"<{tag} {name}>", a[name], asset=True)
        if "srcset" in a and a["srcset"]:
            for part in a["srcset"].split(","):
                self._url(f"<{tag} srcset>", part.strip().split(" ")[0], asset=True)
        if tag == "link":
            self._url(f"<link rel={a.get('rel', '')} href>", a.get("href"), asset=True)
        elif tag == "a":
            self._url("<a href>", a.get("href"), asset=False)
        if a.get("style"):
            self.remote += [(f"<{tag} style> {w}", u) for w, u in remote_in_css(a["style"])]
        if tag in ("script", "style"):
            self._in, self._buf = tag, []

    def handle_data(self, data):
        if self._in:
            self._buf.append(data)

    def handle_endtag(self, tag):
        if tag == self._in:
            body = "".join(self._buf)
            if tag == "style":
                self.remote += [(f"<style> {w}", u) for w, u in remote_in_css(body)]
            else:
                self.remote += [("inline <script>", u) for u in SCRIPT_ASSET_URL.findall(body)]
            self._in, self._buf = None, []


def parse_html(text: str) -> _Assets:
    p = _Assets()
    p.feed(text)
    p.close()
    return p


def remote_in_html(text: str) -> list[tuple[str, str]]:
    """``(where, url)`` for each remote asset of an HTML page (see the module docstring)."""
    return parse_html(text).remote


def scan_site(root: str | Path) -> dict[str, list[tuple[str, str]]]:
    """Remote assets of every ``*.html`` and ``*.css`` file under ``root``, by path relative to ``root``
    (files without any are left out)."""
    root = Path(root)
    out: dict[str, list[tuple[str, str]]] = {}
    for path in sorted(root.rglob("*")):
        if path.suffix not in (".html", ".css") or not path.is_file():
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        found = remote_in_html(text) if path.suffix == ".html" else remote_in_css(text)
        if found:
            out[path.relative_to(root).as_posix()] = found
    return out


def broken_local_links(page: str | Path, root: str | Path) -> list[tuple[str, str]]:
    """``(where, url)`` of the local links and assets of ``page`` that point at no file under ``root``."""
    page, root = Path(page), Path(root).resolve()
    bad = []
    for where, url in parse_html(page.read_text(encoding="utf-8", errors="replace")).local:
        parts = urlsplit(url)
        if parts.scheme or parts.netloc or not parts.path:
            continue  # a bare "?query" or "#fragment", or a scheme we do not follow
        target = (page.parent / unquote(parts.path)).resolve()
        if target.is_dir():
            target = target / "index.html"
        if not target.is_file() or root not in target.parents:
            bad.append((where, url))
    return bad


def pages(root: str | Path) -> list[Path]:
    """The site's pages: every ``*.html`` except the theme's templates under ``_static`` and the ``_sources``."""
    root = Path(root)
    return sorted(p for p in root.rglob("*.html")
                  if not p.relative_to(root).as_posix().startswith(("_static/", "_sources/", "_images/")))
