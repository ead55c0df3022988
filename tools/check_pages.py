"""Open every page of a built book in headless Chromium with no network and report what a reader sees.

    python tools/check_pages.py _build/html [--screenshots DIR] [--file] [--json OUT]

Serves the site from 127.0.0.1 (or opens ``file://`` URLs with ``--file``) in one headless Chromium whose host
resolver maps every name to nothing, so any request that leaves the site fails, and drives it through the DevTools
protocol (``websocket-client``). Per page, after MathJax has typeset and the fonts have loaded:

* formulas: MathJax containers (``mjx-container``) / math elements Sphinx wrote (``.math``), and math elements
  left without a container;
* raw TeX: text outside code blocks that still reads like TeX (``\\(``, ``\\[``, ``$$``, ``\\frac``, ...);
* MathJax errors (``mjx-merror``) and MathJax fonts that failed to load;
* failed loads (any request that failed or answered >= 400), requests that left the site, JavaScript errors.

Screenshots (1280 x 2000, the top of each page) go to ``--screenshots DIR``. Exits 1 if any page has a problem.
Needs Chromium (Debian: ``apt-get install chromium``); ``make check-pages`` runs it on ``_build/html``.
"""
from __future__ import annotations

import argparse
import functools
import http.server
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from site_checks import pages as site_pages  # noqa: E402

CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-default-apps", "--disable-extensions", "--mute-audio", "--hide-scrollbars",
    # no network: every host resolves to nothing, except 127.0.0.1 where this script serves the site
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
    "--remote-debugging-port=0", "--remote-allow-origins=*",
]

NAVIGATIONS = 3  # a page may redirect this many times while it is measured

# Run in the page once it has loaded: wait for MathJax's typesetting and the fonts, then measure.
MEASURE = r"""
(async () => {
  const sleep = ms => new Promise(r => setTimeout(r, ms));
  let mathjax = "absent";
  if (window.MathJax) {
    for (let i = 0; i < 200 && !(MathJax.startup && MathJax.startup.promise); i++) await sleep(50);
    if (MathJax.startup && MathJax.startup.promise) {
      try { await MathJax.startup.promise; mathjax = MathJax.version || "loaded"; }
      catch (e) { mathjax = "error: " + e; }
    } else { mathjax = "not started"; }
  }
  await document.fonts.ready;
  const math = Array.from(document.querySelectorAll(".math"));
  const untypeset = math.filter(e => !e.querySelector("mjx-container")).map(e => e.textContent.trim().slice(0, 80));
  const skip = new Set(["PRE", "CODE", "SCRIPT", "STYLE", "TEXTAREA", "MJX-CONTAINER", "NOSCRIPT"]);
  const tex = /\\\(|\\\)|\\\[|\\\]|\$\$|\\(?:begin|end|frac|text|mathrm|mathbf|odot|theta|sum|int|left|right|cdot)\b/;
  const raw = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    let skipped = false;
    for (let p = n.parentElement; p; p = p.parentElement) {
      if (skip.has(p.tagName) || p.classList.contains("highlight")) { skipped = true; break; }
    }
    if (!skipped && tex.test(n.textContent)) raw.push(n.textContent.trim().slice(0, 120));
  }
  const fonts = Array.from(document.fonts).filter(f => /^MJX/.test(f.family));
  return {
    title: document.title,
    mathjax,
    typeset: document.querySelectorAll("mjx-container").length,
    display: document.querySelectorAll('mjx-container[display="true"]').length,
    math_elements: math.length,
    untypeset,
    raw_tex: raw,
    merror: document.querySelectorAll("mjx-merror").length,
    mathjax_fonts_loaded: fonts.filter(f => f.status === "loaded").length,
    mathjax_fonts_failed: fonts.filter(f => f.status === "error").map(f => f.family),
    images: Array.from(document.images).length,
    broken_images: Array.from(document.images).filter(i => i.complete && i.naturalWidth === 0).map(i => i.src),
  };
})()
"""


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def serve(root: Path) -> tuple[http.server.ThreadingHTTPServer, str]:
    """Serve ``root`` on 127.0.0.1 (a free port) from a daemon thread; returns (server, base URL)."""
    handler = functools.partial(_QuietHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/"


class Browser:
    """One headless Chromium driven over the DevTools protocol: one tab, events collected per page."""

    def __init__(self, chromium: str, width: int = 1280, height: int = 2000, timeout: float = 30.0):
        import websocket  # websocket-client

        self.profile = tempfile.mkdtemp(prefix="check-pages-")
        self.proc = subprocess.Popen([chromium, *CHROMIUM_FLAGS, f"--user-data-dir={self.profile}", "about:blank"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        port_file = Path(self.profile) / "DevToolsActivePort"
        deadline = time.monotonic() + timeout
        while not (port_file.is_file() and len(port_file.read_text().splitlines()) >= 2):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.close()
                raise RuntimeError(f"{chromium} did not start (exit {self.proc.returncode})")
            time.sleep(0.1)
        port, path = port_file.read_text().splitlines()[:2]
        self.ws = websocket.create_connection(f"ws://127.0.0.1:{port}{path}", timeout=timeout,
                                              suppress_origin=True)
        self.timeout, self._id, self.events, self.favicon = timeout, 0, [], "\0"
        target = self.call("Target.createTarget", url="about:blank")["targetId"]
        self.session = self.call("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
        for domain in ("Page", "Network", "Runtime", "Log"):
            self.call(f"{domain}.enable", session=True)
        self.call("Network.setCacheDisabled", cacheDisabled=True, session=True)
        self.call("Emulation.setDeviceMetricsOverride", width=width, height=height, deviceScaleFactor=1,
                  mobile=False, session=True)

    def call(self, method: str, session: bool = False, **params):
        self._id += 1
        msg = {"id": self._id, "method": method, "params": params}
        if session:
            msg["sessionId"] = self.session
        self.ws.send(json.dumps(msg))
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            reply = json.loads(self.ws.recv())
            if reply.get("id") == self._id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            if "method" in reply:
                self.events.append(reply)
        raise TimeoutError(method)

    def wait_for(self, method: str, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        if any(e["method"] == method for e in self.events):
            return True
        self.ws.settimeout(0.5)
        try:
            while time.monotonic() < deadline:
                try:
                    event = json.loads(self.ws.recv())
                except Exception:  # websocket timeout: look again until the deadline
                    continue
                if "method" in event:
                    self.events.append(event)
                    if event["method"] == method:
                        return True
        finally:
            self.ws.settimeout(self.timeout)
        return False

    def open(self, url: str) -> dict:
        """Load ``url``, wait for MathJax and the fonts, and return the measurements plus the page's requests."""
        self.events = []
        self.call("Page.navigate", url=url, session=True)
        loaded = self.wait_for("Page.loadEventFired", self.timeout)
        for attempt in range(NAVIGATIONS):
            try:
                result = self.call("Runtime.evaluate", expression=MEASURE, awaitPromise=True, returnByValue=True,
                                   session=True)
                break
            except RuntimeError as e:
                # a page that redirects (the site's index.html: <meta http-equiv="Refresh">) can navigate while
                # it is measured; measure the page it lands on, once that has loaded
                if "navigated or closed" not in str(e) or attempt == NAVIGATIONS - 1:
                    raise
                self.events = [ev for ev in self.events if ev.get("method") != "Page.loadEventFired"]
                loaded = self.wait_for("Page.loadEventFired", self.timeout)
        if "exceptionDetails" in result:
            raise RuntimeError(f"{url}: {result['exceptionDetails']}")
        page = result["result"]["value"]
        page["loaded"] = loaded
        time.sleep(0.2)  # late requests (fonts, lazy images)
        self.wait_for("__none__", 0.3)
        urls, failed, js_errors = {}, [], []
        for e in self.events:
            p = e.get("params", {})
            if e["method"] == "Network.requestWillBeSent":
                urls[p["requestId"]] = p["request"]["url"]
            elif e["method"] == "Network.loadingFailed" and not p.get("canceled"):
                why = p.get("blockedReason") or (p.get("corsErrorStatus") or {}).get("corsError") or p.get("errorText")
                failed.append(f"{urls.get(p['requestId'], '?')} ({why})")
            elif e["method"] == "Network.responseReceived" and p["response"].get("status", 200) >= 400:
                failed.append(f"{p['response']['url']} (HTTP {p['response']['status']})")
            elif e["method"] == "Runtime.exceptionThrown":
                d = p["exceptionDetails"]
                js_errors.append((d.get("exception") or {}).get("description", d.get("text", "?")).splitlines()[0])
            elif e["method"] == "Log.entryAdded" and p["entry"].get("level") == "error" \
                    and p["entry"].get("source") != "network":
                js_errors.append(p["entry"].get("text", "?")[:200])
        # the browser asks a server for /favicon.ico by itself; the book declares none
        failed = [f for f in failed if not f.startswith(self.favicon)]
        page["requests"] = sorted(set(urls.values()) - {self.favicon})
        page["failed"] = failed
        page["js_errors"] = js_errors
        return page

    def screenshot(self, path: Path):
        import base64

        data = self.call("Page.captureScreenshot", format="png", session=True)["data"]
        path.write_bytes(base64.b64decode(data))

    def close(self):
        try:
            if getattr(self, "ws", None):
                self.ws.close()
        finally:
            if self.proc.poll() is None:
                self.proc.terminate()
                try:
                    self.proc.wait(10)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
            shutil.rmtree(self.profile, ignore_errors=True)


FILE_FONT_CORS = re.compile(r"file://\S+\.(?:woff2?|ttf|otf)\b.*(?:CorsDisabledScheme|blocked by CORS policy)", re.S)


def file_scheme_notes(page: dict) -> list[str]:
    """Failures that only ``file://`` causes and that change nothing a reader sees: Chromium refuses the CORS-mode
    font preloads (``<link rel=preload as=font crossorigin>``) of the theme's icon font under ``file://`` (the
    icons are drawn anyway, by the theme's Font Awesome script). Moved from ``failed``/``js_errors`` to ``notes``."""
    notes = [f for f in page["failed"] + page["js_errors"] if FILE_FONT_CORS.search(f)]
    page["failed"] = [f for f in page["failed"] if f not in notes]
    page["js_errors"] = [f for f in page["js_errors"] if f not in notes]
    return notes


def problems(page: dict, base: str) -> list[str]:
    """What is wrong with a page a reader opened offline (empty: nothing)."""
    out = []
    if not page["loaded"]:
        out.append("the load event never fired")
    if page["untypeset"]:
        out.append(f"{len(page['untypeset'])} math elements not typeset, e.g. {page['untypeset'][0]!r}")
    if page["math_elements"] and not page["typeset"]:
        out.append(f"MathJax {page['mathjax']}: no formula typeset")
    if page["raw_tex"]:
        out.append(f"raw TeX in the text: {page['raw_tex'][0]!r}")
    if page["merror"]:
        out.append(f"{page['merror']} MathJax errors")
    if page["mathjax_fonts_failed"]:
        out.append(f"MathJax fonts failed: {page['mathjax_fonts_failed']}")
    remote = [u for u in page["requests"] if not u.startswith((base, "data:", "blob:", "about:"))]
    if remote:
        out.append(f"{len(remote)} requests left the site: {remote[:3]}")
    if page["failed"]:
        out.append(f"{len(page['failed'])} failed loads: {page['failed'][:3]}")
    if page["broken_images"]:
        out.append(f"broken images: {page['broken_images'][:3]}")
    if page["js_errors"]:
        out.append(f"JavaScript errors: {page['js_errors'][:3]}")
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("site", type=Path, nargs="?", default=Path("_build/html"))
    ap.add_argument("--screenshots", type=Path, help="write one PNG per page here")
    ap.add_argument("--file", action="store_true", help="open file:// URLs instead of serving from 127.0.0.1")
    ap.add_argument("--json", type=Path, help="write every measurement here")
    ap.add_argument("--chromium", default=os.environ.get("CHROMIUM") or shutil.which("chromium")
                    or shutil.which("chromium-browser") or shutil.which("google-chrome"))
    ap.add_argument("--timeout", type=float, default=30.0)
    args = ap.parse_args(argv)
    if not args.chromium:
        print("check_pages: no Chromium found (Debian: apt-get install chromium; or --chromium PATH)",
              file=sys.stderr)
        return 2
    root = args.site.resolve()
    todo = site_pages(root)
    if not todo:
        print(f"check_pages: no pages under {root}", file=sys.stderr)
        return 2
    server = None
    if args.file:
        base = root.as_uri() + "/"
    else:
        server, base = serve(root)
    if args.screenshots:
        args.screenshots.mkdir(parents=True, exist_ok=True)
    browser = Browser(args.chromium, timeout=args.timeout)
    browser.favicon = base + "favicon.ico"
    report, bad = {}, 0
    print(f"{'page':45s} {'formulas':>9s} {'display':>7s} {'raw TeX':>7s} {'failed':>6s} {'remote':>6s}  problems")
    try:
        for path in todo:
            rel = path.relative_to(root).as_posix()
            page = browser.open(base + rel)
            if args.screenshots:
                shot = args.screenshots / (rel.replace("/", "__").removesuffix(".html") + ".png")
                browser.screenshot(shot)
                page["screenshot"] = str(shot)
            page["notes"] = file_scheme_notes(page) if args.file else []
            issues = problems(page, base)
            page["problems"] = issues
            report[rel] = page
            bad += bool(issues)
            remote = [u for u in page["requests"] if not u.startswith((base, "data:", "blob:", "about:"))]
            print(f"{rel:45s} {page['typeset']:>4d}/{page['math_elements']:<4d} {page['display']:>7d} "
                  f"{len(page['raw_tex']):>7d} {len(page['failed']):>6d} {len(remote):>6d}  "
                  f"{'; '.join(issues) or 'ok'}", flush=True)
    finally:
        browser.close()
        if server:
            server.shutdown()
    if args.json:
        args.json.write_text(json.dumps(report, indent=1))
    mode = "file://" if args.file else "http://127.0.0.1"
    notes = sum(1 for p in report.values() for n in p["notes"] if n.startswith("file:"))
    if notes:
        print(f"not counted as problems: {notes} icon-font preloads refused by Chromium under file:// "
              f"(CORS; the icons are drawn by the theme's script)")
    print(f"{len(todo)} pages opened offline over {mode}; {bad} with problems")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
