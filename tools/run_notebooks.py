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
"""
from __future__ import annotations

import argparse
import ast
import os
import sys
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


def execute(src: Path, out_dir: Path, params: dict, cwd: Path, optional: dict | None = None) -> Path:
    """Execute ``src`` with those of ``params`` (and of the defaults ``optional``, which ``params`` override) that
    the notebook declares; the others are not passed (see :func:`passed_parameters`)."""
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
    nbformat.write(done, part)
    os.replace(part, out)  # atomic: a half-written notebook never reaches the book
    return out


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
    args = ap.parse_args(argv)

    root = Path.cwd()
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
    for src in args.notebooks:
        if not src.exists():
            sys.exit(f"notebook source {src} does not exist")
    explicit = {kv.partition("=")[0] for kv in args.param}
    declared = {src: declared_parameters(jupytext.read(src)) for src in args.notebooks}
    unknown = sorted(k for k in explicit if not any(k in d for d in declared.values()))
    if unknown:
        sys.exit(f"-p {', '.join(unknown)}: no notebook among {', '.join(str(s) for s in args.notebooks)} declares "
                 f"{'it' if len(unknown) == 1 else 'them'} (see each notebook's parameters cell)")
    for src in args.notebooks:
        t0 = time.perf_counter()
        out = execute(src, args.out, params, cwd=src.parent.resolve(), optional=optional)
        skipped = sorted(explicit - declared[src])
        note = f" (not declared there, not passed: {', '.join(skipped)})" if skipped else ""
        print(f"executed {src} -> {out} at {how} in {time.perf_counter() - t0:.1f} s{note}", flush=True)


if __name__ == "__main__":
    main()
