"""Execute the py:percent notebooks with papermill at a preset, ready for the book or for nbval.

For each ``notebooks/NAME.py``: convert with jupytext, execute with papermill injecting
``preset``, ``run_root`` and ``device`` (plus any ``-p key=value``), hide the injected
parameters cell in the rendered book (``remove-cell`` tag), and write ``OUT/NAME.ipynb``.
A notebook gets only the parameters its ``parameters`` cell declares (papermill's own inspection decides, so
papermill never warns "Passed unknown parameter"); a ``-p`` that no notebook declares is an error (a typo).
A notebook that raises stops the build with its name and the failing cell's error.

Kernels are started with CurveZMQ transport encryption (``KernelManager.transport_encryption = "auto"``, where
pyzmq supports it and the kernelspec declares it), which is what ipykernel's warning "Kernel is running over TCP
without encryption" asks for; nothing else about the kernel's output is filtered.

``--smoke`` runs the preset's smoke pass (:data:`impkit.presets.SMOKE`, e.g. ``--preset paper --smoke`` in
``make test``): its ``overrides`` (few SGD steps, the preset's shapes unchanged), ``seeds`` and any extra
notebook ``parameters`` are injected into every notebook that declares that parameter in its parameters
cell (explicit ``-p`` values win). The preset itself is unchanged, so notebooks execute at ``preset=paper``.

Progress: a line when each notebook starts and finishes, and while one runs a heartbeat every ``--heartbeat``
seconds (30) saying how many runs and rounds the run store under ``--runs`` holds; printed by this process, never
into the notebook. Provenance: each executed notebook's ``metadata.impkit`` records its source, the impkit commit,
the device and the preset, beside papermill's own ``metadata.papermill`` (parameters, start/end time, duration);
the book's execution-statistics page is rendered from both.
"""
from __future__ import annotations

import argparse
import ast
import json
import os
import subprocess
import sys
import threading
import tempfile
import time
from pathlib import Path

import jupytext
import nbformat
import papermill as pm


def _value(text: str):
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


KERNEL = {"name": "python3", "language": "python", "display_name": "Python 3"}  # every notebook runs on it


def declared_parameters(nb) -> set[str]:
    """Parameters the notebook ``nb`` (a NotebookNode or a path to an .ipynb) declares in its cell tagged
    ``parameters``, as papermill infers them for the kernel the notebooks run on (empty if it has none)."""
    if isinstance(nb, (str, Path)):
        nb = nbformat.read(nb, as_version=4)
    nb = nbformat.from_dict(nb)  # a copy
    nb.metadata["kernelspec"] = dict(KERNEL)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "notebook.ipynb"
        nbformat.write(nb, path)
        return set(pm.inspect_notebook(str(path)))


def kernel_config():
    """Traitlets config for the kernels papermill starts: CurveZMQ transport encryption where available."""
    import zmq
    from traitlets.config import Config

    c = Config()
    if zmq.has("curve"):
        c.KernelManager.transport_encryption = "auto"
    return c


def smoke_parameters(preset: str) -> dict:
    """Parameters of ``preset``'s smoke pass: ``overrides``, ``seeds`` and the entry's extra ``parameters``."""
    from impkit.presets import smoke

    sm = smoke(preset)
    return {"overrides": sm["overrides"], "seeds": sm["seeds"], **sm.get("parameters", {})}


def execute(src: Path, out_dir: Path, params: dict, cwd: Path, optional: dict | None = None,
            provenance: dict | None = None) -> Path:
    """Execute ``src`` with those of ``params`` (and of the defaults ``optional``, which ``params`` override) that
    the notebook declares; the others are not passed (see :func:`passed_parameters`). ``provenance`` (see
    :func:`provenance`) is stored as the executed notebook's ``metadata.impkit``."""
    nb = jupytext.read(src)
    tmp = out_dir / f".{src.stem}.input.ipynb"
    nbformat.write(nb, tmp)
    declared = declared_parameters(nb)
    params = {k: v for k, v in {**(optional or {}), **params}.items() if k in declared}
    out = out_dir / f"{src.stem}.ipynb"
    part = out_dir / f".{src.stem}.partial.ipynb"
    try:
        pm.execute_notebook(str(tmp), str(part), parameters=params, cwd=str(cwd), progress_bar=False,
                            kernel_name=KERNEL["name"], language=KERNEL["language"], log_output=False,
                            config=kernel_config())
    except pm.PapermillExecutionError as e:
        sys.exit(f"notebook {src} failed in cell {e.exec_count}: {e.ename}: {e.evalue}\n"
                 f"(partially executed copy: {part})")
    finally:
        tmp.unlink(missing_ok=True)
    done = nbformat.read(part, as_version=4)
    noise = [(i, o.get("text", "")) for i, c in enumerate(done.cells) if c.cell_type == "code"
             for o in c.get("outputs", []) if o.get("output_type") == "stream" and o.get("name") == "stderr"]
    if noise:  # the book must show no warning: fix its cause rather than hide it
        shown = "\n".join(f"  cell {i}: {t.strip()[:300]}" for i, t in noise)
        sys.exit(f"notebook {src} wrote to stderr (warnings or progress bars) -- fix the cause:\n{shown}\n"
                 f"(executed copy: {part})")
    numpy_glue = [(i, str(d.get("text/plain", ""))) for i, c in enumerate(done.cells) if c.cell_type == "code"
                  for o in c.get("outputs", []) for d in [o.get("data", {})]
                  if any(k.startswith("application/papermill.record") for k in d)
                  and str(d.get("text/plain", "")).startswith("np.")]
    if numpy_glue:  # the book formats glued text with literal_eval: numpy scalars must be glued as Python numbers
        shown = "\n".join(f"  cell {i}: {t[:80]}" for i, t in numpy_glue)
        sys.exit(f"notebook {src} glues numpy scalars; glue float(...) or int(...) instead:\n{shown}")
    for cell in done.cells:
        tags = cell.metadata.setdefault("tags", [])
        if "injected-parameters" in tags and "remove-cell" not in tags:
            tags.append("remove-cell")
    if provenance is not None:
        done.metadata["impkit"] = provenance
    nbformat.write(done, part)
    os.replace(part, out)  # atomic: a half-written notebook never reaches the book
    return out


def bad_input(message: str) -> None:
    """Stop on bad input the way ``impkit`` does: one line on stderr naming the argument and the fix, exit 2."""
    print(f"run_notebooks: error: {message}", file=sys.stderr)
    sys.exit(2)


def check_dir_argument(flag: str, path: Path) -> None:
    """Bad input (exit 2) if a file stands where directory ``path`` (or one of its parents) must be."""
    in_the_way = next((p for p in (path, *path.parents) if p.exists() and not p.is_dir()), None)
    if in_the_way is not None:
        bad_input(f"{flag} {path}: {in_the_way} is a file, not a directory; pass a directory or move "
                  f"{in_the_way} away")


# ---------------------------------------------------------------------------------------------------------------
# provenance (metadata.impkit of each executed notebook: the book's execution-statistics page reads it) and
# progress (one line per notebook start and finish, a heartbeat from the run store while a notebook trains)
# ---------------------------------------------------------------------------------------------------------------
def git_commit(root: Path) -> tuple[str, bool]:
    """(HEAD's hash, whether tracked files differ from it) of the repository at ``root``; ("unknown", False)
    outside a git checkout."""
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, timeout=30)
        if head.returncode != 0:
            return "unknown", False
        status = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=root,
                                capture_output=True, text=True, timeout=30)
        return head.stdout.strip(), bool(status.stdout.strip())
    except (OSError, subprocess.SubprocessError):
        return "unknown", False


def describe_device(device: str) -> str:
    """What ``--device`` means on this machine, in words: ``cpu (2 cores)`` or ``cuda (NVIDIA H100 ...)``."""
    cpu = f"cpu ({os.cpu_count()} cores)"
    if str(device) == "cpu":
        return cpu
    import torch  # only for auto/cuda: the answer depends on the machine

    if str(device) in ("auto", "cuda") or str(device).startswith("cuda:"):
        if torch.cuda.is_available():
            index = int(str(device).split(":")[1]) if ":" in str(device) else torch.cuda.current_device()
            return f"cuda ({torch.cuda.get_device_name(index)})"
    return cpu if str(device) == "auto" else str(device)


def provenance(src: Path, root: Path, preset: str, device: str, smoke: bool, commit: tuple[str, bool]) -> dict:
    """``metadata.impkit`` of an executed notebook: its jupytext source, the impkit commit, the device, the preset.
    papermill records the parameters, start/end time and duration itself (``metadata.papermill``)."""
    try:
        source = src.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        source = src.resolve().as_posix()
    import platform

    return {"source": source, "commit": commit[0], "dirty": commit[1], "device": device, "preset": preset,
            "smoke": smoke, "python": platform.python_version()}


def store_progress(run_root: Path) -> dict:
    """What the run store under ``run_root`` holds now: run directories, complete rounds out of the rounds their
    configs ask for (rounds 0..prune.rounds), finished runs, and the runs whose lock file says they are training."""
    from impkit.runformat import RunFiles  # "round complete" is defined there and nowhere else

    out = {"runs": 0, "finished": 0, "rounds_done": 0, "rounds_total": 0, "training": 0}
    if not run_root.is_dir():
        return out
    for d in sorted(p for p in run_root.iterdir() if p.is_dir()):
        rf = RunFiles(d)
        if not rf.is_run():
            continue
        try:
            total = int(json.loads(rf.config.read_text())["prune"]["rounds"]) + 1
        except (OSError, ValueError, KeyError, TypeError):
            total = 0  # a config being written: counted as a run, its rounds once readable
        done = len(rf.rounds_done())
        out["runs"] += 1
        out["rounds_done"] += done
        out["rounds_total"] += max(total, done)
        out["finished"] += int(total > 0 and done >= total)
        out["training"] += int(rf.lock.exists())
    return out


def _elapsed(seconds: float) -> str:
    m, s = divmod(int(seconds), 60)
    return f"{m} min {s:02d} s" if m else f"{s} s"


def progress_line(name: str, elapsed: float, run_root: str, now: dict, before: dict | None,
                  interval: float) -> str:
    """One heartbeat line: how long ``name`` has run and what the run store holds (+ rounds since the last line)."""
    if now["runs"] == 0:
        store = f"{run_root}: no runs yet"
    else:
        store = (f"{run_root}: {now['runs']} runs ({now['finished']} finished, {now['training']} training), "
                 f"{now['rounds_done']}/{now['rounds_total']} rounds complete")
        if before is not None:
            store += f" (+{now['rounds_done'] - before['rounds_done']} in the last {int(interval)} s)"
    return f"  ... {name}: running for {_elapsed(elapsed)}; {store}"


class Heartbeat:
    """While a notebook executes, print :func:`progress_line` every ``interval`` seconds to ``stream`` (this
    process's stdout; the notebook's own outputs are untouched). A context manager; the thread is a daemon."""

    def __init__(self, name: str, run_root: Path, interval: float = 30.0, stream=None, clock=time.monotonic,
                 shown_as: str | None = None):
        # papermill changes the working directory while it executes: keep the store's absolute path
        self.name, self.run_root, self.interval = name, Path(run_root).resolve(), float(interval)
        self.shown_as = shown_as or str(run_root)
        self.stream, self.clock = stream, clock
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"heartbeat-{name}", daemon=True)
        self.lines = 0

    def _run(self):
        t0, before = self.clock(), None
        while not self._stop.wait(self.interval):
            try:
                now = store_progress(self.run_root)
            except Exception as err:  # a heartbeat never stops the build
                line = f"  ... {self.name}: running for {_elapsed(self.clock() - t0)} (run store unreadable: {err})"
                now = None
            else:
                line = progress_line(self.name, self.clock() - t0, self.shown_as, now, before, self.interval)
            print(line, file=self.stream or sys.stdout, flush=True)
            self.lines += 1
            before = now if now is not None else before

    def __enter__(self):
        if self.interval > 0:
            self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()
        return False


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("notebooks", nargs="+", type=Path)
    ap.add_argument("--preset", default="default")
    ap.add_argument("--runs", default="runs", help="run root shared by all notebooks")
    ap.add_argument("--device", default="auto")
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("-p", "--param", action="append", default=[], metavar="KEY=VALUE")
    ap.add_argument("--smoke", action="store_true",
                    help="the preset's smoke pass: inject impkit.presets.SMOKE[preset] (overrides, seeds, ...)")
    ap.add_argument("--heartbeat", type=float, default=30.0, metavar="SECONDS",
                    help="while a notebook runs, print what the run store under --runs holds every SECONDS (0: off)")
    args = ap.parse_args(argv)

    root = Path.cwd()
    check_dir_argument("--out", args.out)
    check_dir_argument("--runs", root / args.runs)  # before a notebook fails on it deep inside papermill
    args.out.mkdir(parents=True, exist_ok=True)
    params = {"preset": args.preset, "run_root": str((root / args.runs).resolve()), "device": args.device}
    for kv in args.param:
        key, sep, val = kv.partition("=")
        if not sep:
            sys.exit(f"-p expects KEY=VALUE, got {kv!r}")
        params[key] = _value(val)
    try:
        optional = smoke_parameters(args.preset) if args.smoke else None
    except ValueError as err:  # impkit.config.ConfigError (raised by impkit.presets): no smoke pass for this preset
        sys.exit(str(err))
    how = f"preset={args.preset}"
    if optional:
        # an explicit -p wins over the smoke pass's value: show what the notebooks really get
        extra = [f"{k}={params.get(k, v)}" for k, v in optional.items() if k != "overrides"]
        how += f" (smoke pass: {' '.join(f'{k}={v}' for k, v in optional['overrides'].items())} {' '.join(extra)})"
    commit, device = git_commit(root), describe_device(args.device)
    for src in args.notebooks:
        if not src.exists():
            sys.exit(f"notebook source {src} does not exist")
    explicit = {kv.partition("=")[0] for kv in args.param}
    declared = {src: declared_parameters(jupytext.read(src)) for src in args.notebooks}
    unknown = sorted(k for k in explicit if not any(k in d for d in declared.values()))
    if unknown:
        sys.exit(f"-p {', '.join(unknown)}: no notebook among {', '.join(str(s) for s in args.notebooks)} declares "
                 f"{'it' if len(unknown) == 1 else 'them'} (see each notebook's parameters cell)")
    for i, src in enumerate(args.notebooks, 1):
        t0 = time.perf_counter()
        print(f"[{time.strftime('%H:%M:%S')}] {i}/{len(args.notebooks)} starting {src} on {device}", flush=True)
        with Heartbeat(src.stem, root / args.runs, interval=args.heartbeat, shown_as=args.runs):
            out = execute(src, args.out, params, cwd=src.parent.resolve(), optional=optional,
                          provenance=provenance(src, root, args.preset, device, args.smoke, commit))
        skipped = sorted(explicit - declared[src])
        note = f" (not declared there, not passed: {', '.join(skipped)})" if skipped else ""
        print(f"executed {src} -> {out} at {how} in {time.perf_counter() - t0:.1f} s{note}", flush=True)


if __name__ == "__main__":
    main()
