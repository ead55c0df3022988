"""Execute the py:percent notebooks with papermill at a preset, ready for the book or for nbval.

For each ``notebooks/NAME.py``: convert with jupytext, execute with papermill injecting
``preset``, ``run_root`` and ``device`` (plus any ``-p key=value``), hide the injected
parameters cell in the rendered book (``remove-cell`` tag), and write ``OUT/NAME.ipynb``.
A notebook that raises stops the build with its name and the failing cell's error.

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


def declared_parameters(nb) -> set[str]:
    """Names assigned in the notebook's cell tagged ``parameters`` (empty if it has none)."""
    names: set[str] = set()
    for cell in nb.cells:
        if cell.cell_type == "code" and "parameters" in cell.metadata.get("tags", []):
            for node in ast.parse(cell.source).body:
                targets = node.targets if isinstance(node, ast.Assign) else [getattr(node, "target", None)]
                names.update(t.id for t in targets if isinstance(t, ast.Name))
    return names


def smoke_parameters(preset: str) -> dict:
    """Parameters of ``preset``'s smoke pass: ``overrides``, ``seeds`` and the entry's extra ``parameters``."""
    from impkit.presets import smoke

    sm = smoke(preset)
    return {"overrides": sm["overrides"], "seeds": sm["seeds"], **sm.get("parameters", {})}


def execute(src: Path, out_dir: Path, params: dict, cwd: Path, optional: dict | None = None) -> Path:
    """Execute ``src`` with ``params``; ``optional`` parameters are injected only where the notebook declares them."""
    nb = jupytext.read(src)
    if optional:
        declared = declared_parameters(nb)
        params = {**{k: v for k, v in optional.items() if k in declared}, **params}
    tmp = out_dir / f".{src.stem}.input.ipynb"
    nbformat.write(nb, tmp)
    out = out_dir / f"{src.stem}.ipynb"
    part = out_dir / f".{src.stem}.partial.ipynb"
    try:
        pm.execute_notebook(str(tmp), str(part), parameters=params, cwd=str(cwd), progress_bar=False,
                            kernel_name="python3", language="python", log_output=False)
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
    for src in args.notebooks:
        if not src.exists():
            sys.exit(f"notebook source {src} does not exist")
        t0 = time.perf_counter()
        out = execute(src, args.out, params, cwd=src.parent.resolve(), optional=optional)
        print(f"executed {src} -> {out} at {how} in {time.perf_counter() - t0:.1f} s", flush=True)


if __name__ == "__main__":
    main()
