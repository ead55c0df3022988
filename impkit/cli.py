"""Command line: ``python -m impkit {run,plan,ls,show,sweep}`` (also the ``impkit`` console script).

    impkit run --preset ci --dataset nlgp --method imp --seed 0 --out runs
    impkit run --preset paper --method imp,oneshot,random --seeds 0,1,2 --clone --set train.eval_every=10000
    impkit plan --preset paper --device-memory 80GB --device cuda
    impkit ls runs
    impkit show runs/nlgp-imp-s0-<hash>
    impkit sweep examples/sweep_gain.toml --out runs/gain [--engine ray [--address HOST:PORT]] [--dry-run]

Bad input gives one error line and exit status 2 (no traceback): the line names the file or setting and the fix.
``impkit --help`` lists examples, the datasets, pruning methods and presets; ``impkit run --help`` every setting
``--set`` accepts, with the options of each dataset.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import textwrap
import typing
from pathlib import Path

from impkit.config import ConfigError
from impkit.methods import PAPER_METHODS
from impkit.methods import names as method_names
from impkit.presets import PRESETS, make_config, preset_dataset, preset_seeds


def _ints(s: str) -> list[int]:
    try:
        return [int(v) for v in s.replace(" ", "").split(",") if v != ""]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {s!r}") from None


def _methods(s: str) -> list[str]:
    ms = [v for v in s.replace(" ", "").split(",") if v]
    bad = [m for m in ms if m not in method_names()]
    if bad or not ms:
        raise argparse.ArgumentTypeError(f"method must be one of {', '.join(method_names())} (comma-separated), "
                                         f"got {s!r}")
    return ms


def _memory(s: str):
    from impkit.plan import parse_bytes

    try:
        v = parse_bytes(s)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None
    if v <= 0:
        raise argparse.ArgumentTypeError(f"--device-memory must be positive, got {s!r}")
    return v


def _replicas(s: str):
    if s == "auto":
        return None
    try:
        return _positive_int(s)
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(f"--replicas must be 'auto' or a positive integer, got {s!r}") from None


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, exit 2
        self.exit(2, f"impkit: error: {message}\n")


EXAMPLES = """\
examples:
  impkit run --preset ci --dataset nlgp --method imp --seed 0 --out runs
  impkit run --preset paper --method imp,oneshot,random --seeds 0,1,2 --clone --set train.eval_every=10000
  impkit run --preset ci --set train.lr=0.05 --set data.options.L=24 --set model.hidden=128
  impkit plan --preset paper --device cuda --device-memory 80GB
  impkit ls runs
  impkit show runs/nlgp-imp-s0-<hash>"""


def main_epilog() -> str:
    """``impkit --help``'s epilog: examples, then the registered datasets, pruning methods and presets."""
    from impkit import data
    from impkit.methods import get as get_method

    return (f"{EXAMPLES}\n\ndatasets (--dataset; '<name>-clone' for its Gaussian clone):\n  {', '.join(data.names())}\n"
            f"\npruning methods (--method):\n{methods_epilog()}\n\npresets (--preset): {', '.join(PRESETS)}\n"
            "\nsettings: `impkit run --help` lists every KEY of --set KEY=VALUE and each dataset's options")


def methods_epilog() -> str:
    """One line per registered pruning method: its name and help (``impkit --help`` and ``impkit run --help``)."""
    from impkit.methods import get as get_method

    w = max(len(m) for m in method_names())
    return "\n".join(f"  {m:<{w}}  {get_method(m).help}" for m in method_names())


def _short(hint) -> str:
    """A type annotation in a few characters: ``int``, ``list[int]``, ``int|list[int]|none``."""
    if hint is type(None):
        return "none"
    if typing.get_args(hint) and typing.get_origin(hint) is not list:
        return "|".join(_short(a) for a in typing.get_args(hint))
    if typing.get_origin(hint) is list:
        return f"list[{_short(typing.get_args(hint)[0])}]"
    return getattr(hint, "__name__", str(hint))


def settings_epilog() -> str:
    """``impkit run --help``'s epilog: every setting ``--set`` accepts (type and dataclass default; presets change
    some), and the options of each dataset that declares them."""
    from impkit import data
    from impkit.config import RunConfig
    from impkit.overrides import describe

    rows = [("seed", describe(int), "0")]
    cfg = RunConfig()
    for sec in dataclasses.fields(RunConfig):
        if sec.name == "seed":
            continue
        obj = getattr(cfg, sec.name)
        hints = typing.get_type_hints(type(obj))
        for f in dataclasses.fields(obj):
            default = getattr(obj, f.name)
            shown = ",".join(map(str, default)) if isinstance(default, tuple) else json.dumps(default)
            rows.append((f"{sec.name}.{f.name}", describe(hints[f.name]), shown))
    w = max(len(k) for k, _, _ in rows)
    wt = max(len(t) for _, t, _ in rows)
    lines = [f"  {k:<{w}}  {t:<{wt}}  {d}" for k, t, d in rows]
    opts = []
    for name in data.names():
        types_ = data.option_types(name)
        if types_:
            text = f"{name}: " + ", ".join(f"{k}:{_short(t)}" for k, t in types_.items())
            opts += textwrap.wrap(text, 116, initial_indent="  ", subsequent_indent="      ")
    return ("settings (--set KEY=VALUE, repeatable; defaults before the preset's own):\n" + "\n".join(lines)
            + "\n\ndataset options (--set data.options.KEY=VALUE):\n" + "\n".join(opts)
            + "\n  <name>-clone: those of <name> plus shrinkage, per_channel, clone_device, clone_dtype"
            + "\n  shuffle_labels (every dataset): permute the training labels (seeded), the shuffled-label control"
            + "\n\npruning methods (--method, or --set prune.method=NAME):\n" + methods_epilog()
            + f"\n\n{EXAMPLES}")


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="impkit", description="Iterative magnitude pruning runs (Redman et al. 2024).",
                epilog=main_epilog(), formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", parser_class=_Parser)
    r = sub.add_parser("run", help="train the missing rounds of one or more runs", epilog=settings_epilog(),
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    r.add_argument("--preset", default="default", choices=sorted(PRESETS))
    r.add_argument("--dataset", default=None, help="dataset name (default: the preset's); '<name>-clone' for a clone")
    r.add_argument("--method", type=_methods, default=["imp"],
                   help=f"{' | '.join(method_names())} (comma-separated ok)")
    r.add_argument("--seed", type=int, default=None, help="one seed (default: the preset's seeds)")
    r.add_argument("--seeds", type=_ints, default=None, help="comma-separated seeds, e.g. 0,1,2")
    r.add_argument("--clone", action="store_true", help="also train on the Gaussian clone of the dataset")
    r.add_argument("--out", default="runs", help="root directory of the runs (default: runs)")
    r.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    r.add_argument("--replicas", type=_replicas, default=None, metavar="auto|N",
                   help="max replicas trained as one batch (default auto: all compatible runs)")
    r.add_argument("--device-memory", type=_memory, default=None, metavar="SIZE",
                   help="memory the batches may use, e.g. 24GB (default: 90%% of the device's free memory)")
    r.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override a setting, e.g. --set train.steps=2000 (repeatable)")
    r.add_argument("--quiet", action="store_true", help="no progress bars")
    pl = sub.add_parser("plan", help="print the replica batches that fit the device, their memory and projected time")
    pl.add_argument("--preset", default="paper", choices=sorted(PRESETS))
    pl.add_argument("--dataset", default=None, help="dataset name (default: the preset's)")
    pl.add_argument("--method", type=_methods, default=list(PAPER_METHODS),
                    help=f"methods (default: {','.join(PAPER_METHODS)})")
    pl.add_argument("--seeds", type=_ints, default=None, help="seeds (default: the preset's)")
    pl.add_argument("--no-clone", dest="clone", action="store_false", help="leave out the Gaussian clone")
    pl.add_argument("--device", default="auto", help="auto | cpu | cuda[:N] (a CUDA plan is possible without a GPU)")
    pl.add_argument("--device-memory", type=_memory, default=None, metavar="SIZE",
                    help="memory budget, e.g. 80GB or 24GiB (default: 90%% of the device's free memory)")
    pl.add_argument("--replicas", type=_replicas, default=None, metavar="auto|N", help="max replicas per batch")
    pl.add_argument("--no-measure", dest="measure", action="store_false",
                    help="do not time a step on this device")
    pl.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override a setting")
    pl.add_argument("--json", action="store_true", help="print the plan as JSON")
    ls = sub.add_parser("ls", help="list runs under ROOT")
    ls.add_argument("root", nargs="?", default="runs")
    sh = sub.add_parser("show", help="show one run: config, rounds, sparsity, accuracy")
    sh.add_argument("run")
    _add_sweep_parser(sub)
    return p


def _overrides(items: list[str]) -> dict:
    out = {}
    for it in items:
        if "=" not in it:
            raise ConfigError(f"--set expects KEY=VALUE, got {it!r}")
        k, v = it.split("=", 1)
        out[k.strip()] = v.strip()
    return out


def cmd_run(a) -> int:
    from impkit.runs import train_configs

    seeds = a.seeds if a.seeds is not None else ([a.seed] if a.seed is not None else preset_seeds(a.preset))
    if a.seed is not None and a.seeds is not None:
        raise ConfigError("give --seed or --seeds, not both")
    ov = _overrides(a.set)
    if a.device != "auto":
        ov["train.device"] = a.device
    ds = a.dataset or preset_dataset(a.preset)
    names = [ds] + ([f"{ds}-clone"] if a.clone and not ds.endswith("-clone") else [])
    cfgs = [make_config(a.preset, n, m, s, ov) for n in names for m in a.method for s in seeds]
    runs = train_configs(cfgs, a.out, device=a.device, progress=not a.quiet, max_replicas=a.replicas,
                         memory_budget=a.device_memory)
    for r in runs:
        done = r.rounds_done
        acc = r.metrics(done[-1]).get("final_test_acc") if done else None
        print(f"{r.path}  rounds {done[0] if done else '-'}..{done[-1] if done else '-'}  "
              f"test acc (last round) {acc if acc is None else f'{acc:.4f}'}")
    return 0


def cmd_plan(a) -> int:
    import json

    from impkit import plan as P
    ov = _overrides(a.set)
    ds = a.dataset or preset_dataset(a.preset)
    names = [ds] + ([f"{ds}-clone"] if a.clone and not ds.endswith("-clone") else [])
    seeds = a.seeds if a.seeds is not None else preset_seeds(a.preset)
    cfgs = [make_config(a.preset, n, m, s, ov) for n in names for m in a.method for s in seeds]
    p = P.plan(cfgs, device=a.device, budget=a.device_memory, measure=a.measure, max_replicas=a.replicas)
    print(json.dumps(P.plan_dict(p), indent=2) if a.json else P.format_plan(p))
    return 0


def _check_root(root: Path) -> None:
    if not root.exists():
        raise FileNotFoundError(f"no such run root: {root}; give the --out directory of `impkit run` (default: runs)")
    if not root.is_dir():
        raise NotADirectoryError(f"run root {root} is a file, not a directory; give the directory that holds the run "
                                "directories (the --out of `impkit run`, default: runs)")


_SHOWN = ("data.name", "prune.method", "seed")  # have their own columns in `ls`


def _settings(cfg) -> dict:
    """Every result-changing setting of ``cfg`` as ``{dotted key: JSON text}`` (each data option its own key)."""
    from impkit.config import identity

    out = {}

    def walk(d: dict, prefix: str) -> None:
        for k, v in d.items():
            if isinstance(v, dict):
                walk(v, f"{prefix}{k}.")
            else:
                out[f"{prefix}{k}"] = json.dumps(v, sort_keys=True, default=str).replace(" ", "")

    walk(identity(cfg), "")
    return out


def distinguishing_settings(configs: list) -> list[str]:
    """For each config, ``"key=value ..."`` of the settings that differ among ``configs`` (dataset, method and seed
    left out: ``ls`` shows them in their own columns); "" for every one when they agree."""
    flat = [_settings(c) for c in configs]
    keys = sorted({k for f in flat for k in f} - set(_SHOWN))
    varying = [k for k in keys if len({f.get(k, "-") for f in flat}) > 1]
    # a setting a run does not have (another dataset's option) is left out of its line rather than shown as "-"
    return [" ".join(f"{k}={f[k]}" for k in varying if k in f) for f in flat]


def cmd_ls(a) -> int:
    from impkit.runs import BrokenRun, scan_runs
    from impkit.store import StoreError

    root = Path(a.root)
    _check_root(root)
    entries = scan_runs(root)
    if not entries:
        print(f"no runs under {root}")
        return 0
    runs = [e for e in entries if not isinstance(e, BrokenRun)]
    settings = dict(zip((r.path for r in runs), distinguishing_settings([r.config for r in runs])))
    rows = []
    for e in entries:
        if isinstance(e, BrokenRun):  # listed with the reason (which names the file and the fix); the rest go on
            rows.append((e.path.name, "?", "?", "?", "?", "", e.kind, e.reason))
            continue
        status, note, acc, done = "", settings[e.path], "", e.rounds_done
        try:
            st = e.status
            if st is not None:
                status = f"{st.get('status', 'failed')} r{st.get('round')}"
            if done:
                v = e.metrics(done[-1]).get("final_test_acc")
                acc = "" if v is None else f"{v:.4f}"
        except StoreError as err:
            status, note = "corrupt", str(err)
        rows.append((e.path.name, e.dataset, e.method, str(e.seed), f"{len(done)}/{e.config.prune.rounds + 1}",
                     acc, status, note))
    head = ("run", "dataset", "method", "seed", "rounds", "acc(last)", "status", "settings")
    width = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head) - 1)]
    right = {3, 4}  # numbers
    for r in [head, *rows]:
        cells = [f"{c:>{w}}" if i in right else f"{c:<{w}}" for i, (c, w) in enumerate(zip(r, width))]
        print((" ".join(cells) + "  " + r[-1]).rstrip())
    return 0


def cmd_show(a) -> int:
    from impkit.config import non_default
    from impkit.runs import load_run

    r = load_run(a.run)
    print(f"run      {r.path}")
    print(f"dataset  {r.dataset}   method {r.method}   seed {r.seed}")
    st = r.status
    if st is not None:
        print(f"status   {st.get('status', 'failed')} in round {st.get('round')} at step {st.get('step')} "
              f"(loss {st.get('loss')}): {st.get('advice', '')}")
    print("settings (non-default): " + ", ".join(f"{k}={v}" for k, v in non_default(r.config).items()))
    done = r.rounds_done
    print(f"rounds   {len(done)}/{r.config.prune.rounds + 1} done: {done}")
    if done:
        L = r.num_layers
        head = " ".join(f"{'L' + str(l) + ' kept':>12}" for l in range(L))
        print(f"{'round':>5} {head} {'sparsity':>9} {'test acc':>9} {'test loss':>9}")
        for n in done:
            sp, m = r.sparsity(n), r.metrics(n)
            cols = " ".join(f"{e['kept']:>12}" for e in sp["layers"])
            acc, loss = m.get("final_test_acc"), m.get("final_test_loss")
            print(f"{n:>5} {cols} {sp['sparsity']:>9.4f} {acc if acc is not None else float('nan'):>9.4f} "
                  f"{loss if loss is not None else float('nan'):>9.4f}")
    return 0


def error_line(e: BaseException) -> str:
    """The one line ``impkit: error: ...`` for a user-facing error (its message names the file or setting and the
    fix; an OSError without one gets the store's wording: path, reason, what to do)."""
    from impkit.store import os_error_message

    if isinstance(e, OSError) and e.errno is not None and e.filename is not None:
        msg = os_error_message(e, action="access")
    else:
        msg = str(e)
    return "impkit: error: " + " ".join(line.strip() for line in msg.splitlines() if line.strip())


# ------------------------------------------------------------------------------------------------
# sweep: a TOML grid of runs (impkit.grid), executed here or on a Ray cluster (impkit.engines)
# ------------------------------------------------------------------------------------------------
def _positive_float(s: str) -> float:
    try:
        v = float(s)
    except ValueError:
        v = -1.0
    if not v >= 0:
        raise argparse.ArgumentTypeError(f"expected a number >= 0, got {s!r}")
    return v


def _positive_int(s: str) -> int:
    try:
        v = int(s)
    except ValueError:
        v = 0
    if v < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {s!r}")
    return v


def _add_sweep_parser(sub) -> None:
    sw = sub.add_parser("sweep", help="train a grid of runs from a TOML spec, here or on a Ray cluster",
                        description="Plan the runs of a sweep spec (see impkit.grid and examples/sweep_gain.toml), "
                                    "group them into batches of replicas and train the batches here (--engine local) "
                                    "or as Ray tasks (--engine ray). Complete runs are skipped, partial ones resumed. "
                                    "Exit status: 0 all batches finished, 1 some failed, 2 bad input.")
    sw.add_argument("spec", help="TOML sweep spec")
    sw.add_argument("--out", default="runs", help="root directory of the runs (default: runs)")
    sw.add_argument("--engine", choices=["local", "ray"], default="local",
                    help="local: the batches one after another in this process (default); ray: one Ray task per "
                         "batch (pip install 'impkit[ray]')")
    sw.add_argument("--address", default=None, metavar="HOST:PORT|auto",
                    help="Ray cluster to join (printed by `ray start --head`; auto: the one on this machine); "
                         "default: $RAY_ADDRESS, else a local cluster started and stopped for this sweep")
    sw.add_argument("--num-cpus", type=_positive_int, default=None, metavar="N",
                    help="CPUs of the local Ray cluster (default: all of this machine's)")
    sw.add_argument("--cpus-per-task", type=_positive_float, default=1.0, metavar="X",
                    help="CPUs a Ray task asks for (default 1)")
    sw.add_argument("--gpus-per-task", type=_positive_float, default=None, metavar="X",
                    help="GPUs a Ray task asks for (default: 1 when the cluster has GPUs and --device is not cpu)")
    sw.add_argument("--retries", type=int, default=0, metavar="N",
                    help="times Ray reruns a batch whose worker died (default 0: report it; rerunning the sweep "
                         "resumes it)")
    sw.add_argument("--replicas", type=_replicas, default=None, metavar="auto|N",
                    help="at most N runs per batch (default auto: local: all compatible runs form one batch; ray: "
                         "they are spread over the cluster's task slots)")
    sw.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    sw.add_argument("--device-memory", type=_memory, default=None, metavar="SIZE",
                    help="memory a batch may use on its device, e.g. 24GB (default: 90%% of the free memory)")
    sw.add_argument("--unlock-host", action="append", default=[], metavar="HOST",
                    help="first delete the locks that processes on HOST hold on this sweep's runs; only when they "
                         "are gone (a crashed node, an ended job), e.g. after a cluster job was killed (repeatable)")
    sw.add_argument("--dry-run", action="store_true", help="print the runs and batches; train nothing")
    sw.add_argument("--quiet", action="store_true", help="no progress bars (local engine)")


def cmd_sweep(a) -> int:
    import time

    from impkit import engines, grid

    t0 = time.perf_counter()
    spec = grid.load_spec(a.spec)
    cfgs = grid.expand(spec, a.device)
    if a.unlock_host:
        from impkit.config import run_name
        from impkit.store import RunLock

        for host in a.unlock_host:
            n = sum(RunLock.clear(Path(a.out) / run_name(c), host) for c in cfgs)
            print(f"deleted {n} lock{'s' if n != 1 else ''} of host {host!r}")
    p = grid.plan(cfgs, a.out, max_runs=a.replicas)
    if a.dry_run or not p.batches:
        print(grid.format_plan(p, spec, runs=a.dry_run))
        if a.dry_run and a.engine == "ray" and a.replicas is None and p.batches:
            print("(--engine ray spreads these batches over the cluster's task slots when it starts; --replicas N "
                  "fixes the batch size)")
        return 0
    if a.retries < 0:
        raise ConfigError(f"--retries must be >= 0, got {a.retries}")
    # a run one replica of which cannot fit the device: refused here, before any batch creates a run directory
    from impkit.runs import check_memory

    check_memory([r.cfg for b in p.batches for r in b.runs if not r.complete], a.device, a.device_memory)
    try:
        engine = engines.make_engine(a.engine) if a.engine == "local" else engines.make_engine(
            "ray", address=a.address, num_cpus=a.num_cpus, cpus_per_task=a.cpus_per_task,
            gpus_per_task=a.gpus_per_task, retries=a.retries, device=a.device)
    except engines.EngineUnavailable as e:
        print(f"impkit: error: {e}", file=sys.stderr)
        return 2
    results: list = []
    try:
        slots = engine.slots()
        if slots is not None and a.replicas is None:
            p = grid.plan(cfgs, a.out, parts=slots)
        print(grid.format_plan(p, spec), flush=True)
        opts = engines.BatchOptions(device=a.device, memory_budget=a.device_memory, max_replicas=a.replicas,
                                    progress=a.engine == "local" and not a.quiet)

        def report(res) -> None:
            results.append(res)
            print(engines.format_result(res, len(results), len(p.batches), time.perf_counter() - t0), flush=True)

        engine.run(p, opts, on_result=report)
    finally:
        engine.close()
    print(engines.format_summary(p, results, time.perf_counter() - t0, engine))
    return 0 if results and all(r.ok for r in results) and len(results) == len(p.batches) else 1


def main(argv: list[str] | None = None) -> int:
    import pickle

    from impkit.store import StoreError
    from impkit.train import TrainingDiverged

    p = build_parser()
    a = p.parse_args(argv)
    if a.cmd is None:
        p.print_help()
        return 2
    try:
        return {"run": cmd_run, "plan": cmd_plan, "ls": cmd_ls, "show": cmd_show, "sweep": cmd_sweep}[a.cmd](a)
    except BrokenPipeError:  # output piped into e.g. `head`: stop quietly
        sys.stderr.close()
        return 0
    # bad input, bad files, a full disk: one line naming the file or setting and the fix, exit 2, no traceback
    except (ConfigError, StoreError, TrainingDiverged, OSError, ValueError, pickle.UnpicklingError) as e:
        print(error_line(e), file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("impkit: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
