"""Sweep specs: a small TOML grid → run configs → batches of replicas (``python -m impkit sweep SPEC``).

Not to be confused with :mod:`impkit.sweep`, the appendix's screening of candidate tasks. A spec::

    preset = "ci"                        # required (impkit.presets)
    datasets = ["nlgp"]                  # default: the preset's dataset
    methods = ["imp", "random"]          # default: the paper's methods (impkit.methods.PAPER_METHODS)
    seeds = [0, 1]                       # default: the preset's seeds
    clone = false                        # also train on each dataset's Gaussian clone "<name>-clone"

    [overrides]                          # one value for every run, as `impkit run --set`
    "train.steps" = 400

    [grid]                               # a list of values per setting: one run per combination
    "data.options.g" = [3.0, 10.0, 30.0]

Settings are dotted keys (quoted, or as TOML tables: ``[overrides.train]`` ``steps = 400``). Grid axes have a table
of their own, rather than "a list in [overrides] means an axis", because some settings are lists themselves
(``"model.hidden" = [64, 32]``); a grid entry is always a list of values (``"model.hidden" = [[64], [128]]``).

:func:`load_spec` reads and checks a spec (errors name the file and the key: :class:`SpecError`), :func:`expand`
gives its run configs, and :func:`plan` the runs still to train grouped into :class:`Batch` es: runs that can train
as one batch of stacked replicas (equal :func:`impkit.runs.group_key`, as :func:`impkit.runs.ensure_runs` groups
them), optionally split for parallel execution without separating runs that share round 0
(:func:`impkit.config.round0_key`). Executing the batches is :mod:`impkit.engines`'.
"""
from __future__ import annotations

import difflib
import itertools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Sequence

from impkit.config import ConfigError, RunConfig, round0_key, run_name
from impkit.runformat import RunFiles

KEYS = ("preset", "datasets", "methods", "seeds", "clone", "overrides", "grid")
# set through the spec's own keys, not as settings (the run name and directory depend on them)
RESERVED = {"seed": "seeds = [...]", "prune.method": "methods = [...]", "data.name": "datasets = [...]"}


class SpecError(ConfigError):
    """A bad sweep spec; the message starts with the spec's path and names the key and the fix."""


@dataclass(frozen=True)
class SweepSpec:
    """A parsed sweep spec (see the module docstring); ``grid`` maps a dotted setting to its values."""

    path: Path
    preset: str
    datasets: tuple[str, ...]
    methods: tuple[str, ...]
    seeds: tuple[int, ...]
    clone: bool = False
    overrides: dict[str, Any] = field(default_factory=dict)
    grid: dict[str, tuple[Any, ...]] = field(default_factory=dict)

    def points(self) -> list[dict[str, Any]]:
        """The grid's combinations as override dicts (the cartesian product, first axis slowest); ``[{}]`` if no
        grid."""
        keys = list(self.grid)
        return [dict(zip(keys, vals)) for vals in itertools.product(*(self.grid[k] for k in keys))]

    def dataset_names(self) -> list[str]:
        """The datasets, each followed by its Gaussian clone when ``clone``."""
        out: list[str] = []
        for d in self.datasets:
            out += [d] + ([f"{d}-clone"] if self.clone and not d.endswith("-clone") else [])
        return out


# ------------------------------------------------------------------------------------------------
# reading a spec
# ------------------------------------------------------------------------------------------------
def _flatten(table: dict, prefix: str = "") -> dict[str, Any]:
    """``{"train": {"steps": 400}, "data.options.g": [1, 2]}`` → ``{"train.steps": 400, "data.options.g": [1, 2]}``:
    TOML tables and dotted keys become the dotted settings :func:`impkit.overrides.apply_overrides` takes."""
    out: dict[str, Any] = {}
    for k, v in table.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            out.update(_flatten(v, f"{key}."))
        else:
            out[key] = v
    return out


def _load_toml(path: Path) -> dict:
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        try:
            import tomli as tomllib  # type: ignore[no-redef]
        except ModuleNotFoundError:
            raise SpecError(f"{path}: reading a sweep spec needs Python >= 3.11 (tomllib) or `pip install tomli`") \
                from None
    if not path.is_file():
        raise SpecError(f"{path}: no such sweep spec file" + (" (it is a directory)" if path.is_dir() else ""))
    try:
        with path.open("rb") as f:
            return tomllib.load(f)
    except tomllib.TOMLDecodeError as e:
        raise SpecError(f"{path}: not valid TOML: {e}") from None
    except (OSError, UnicodeDecodeError) as e:
        raise SpecError(f"{path}: cannot read it: {e}") from None


def _suggest(word: str, options: Iterable[str]) -> str:
    close = difflib.get_close_matches(word, list(options), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _names(path: Path, key: str, value: Any, example: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not value or not all(isinstance(v, str) and v for v in value):
        raise SpecError(f"{path}: {key} must be a non-empty list of names, e.g. {key} = {example}; got {value!r}")
    if len(set(value)) != len(value):
        raise SpecError(f"{path}: {key} lists a name twice: {value!r}")
    return tuple(value)


def parse_spec(data: dict, path: str | Path = "<spec>") -> SweepSpec:
    """Check a spec already read from TOML (``data``) and return it; :class:`SpecError` naming ``path``, the key and
    the fix otherwise. Settings are checked against the config (unknown keys, wrong types) by :func:`expand`."""
    from impkit.methods import PAPER_METHODS
    from impkit.methods import names as method_names
    from impkit.presets import PRESETS, preset_dataset, preset_seeds

    path = Path(path)
    for k in data:
        if k not in KEYS:
            raise SpecError(f"{path}: unknown key {k!r}{_suggest(k, KEYS)}; a spec has the keys {', '.join(KEYS)} "
                            "(settings go into [overrides] or [grid])")
    preset = data.get("preset")
    if not isinstance(preset, str) or preset not in PRESETS:
        hint = "missing" if preset is None else f"got {preset!r}"
        raise SpecError(f"{path}: preset must be one of {', '.join(map(repr, PRESETS))}, e.g. preset = \"ci\"; {hint}")
    datasets = _names(path, "datasets", data["datasets"], '["nlgp"]') if "datasets" in data \
        else (preset_dataset(preset),)
    from impkit.config import base_name
    from impkit.data import names as dataset_names

    for d in datasets:
        if base_name(d) not in dataset_names():
            raise SpecError(f"{path}: datasets: unknown dataset {d!r}{_suggest(d, dataset_names())}; known: "
                            f"{', '.join(dataset_names())} (and '<name>-clone', or clone = true)")
    methods = _names(path, "methods", data["methods"], '["imp", "random"]') if "methods" in data \
        else tuple(PAPER_METHODS)
    for m in methods:
        if m not in method_names():
            raise SpecError(f"{path}: methods: unknown method {m!r}{_suggest(m, method_names())}; "
                            f"known: {', '.join(method_names())}")
    if "seeds" in data:
        seeds = data["seeds"]
        if not isinstance(seeds, list) or not seeds or not all(isinstance(s, int) and not isinstance(s, bool)
                                                               and s >= 0 for s in seeds):
            raise SpecError(f"{path}: seeds must be a non-empty list of non-negative integers, e.g. seeds = [0, 1]; "
                            f"got {seeds!r}")
        if len(set(seeds)) != len(seeds):
            raise SpecError(f"{path}: seeds lists a seed twice: {seeds!r}")
        seeds = tuple(seeds)
    else:
        seeds = tuple(preset_seeds(preset))
    clone = data.get("clone", False)
    if not isinstance(clone, bool):
        raise SpecError(f"{path}: clone must be true or false, got {clone!r}")
    tables: dict[str, dict[str, Any]] = {}
    for t in ("overrides", "grid"):
        raw = data.get(t, {})
        if not isinstance(raw, dict):
            raise SpecError(f"{path}: {t} must be a table, e.g. [{t}] then \"train.steps\" = "
                            f"{'[200, 400]' if t == 'grid' else '400'}; got {raw!r}")
        tables[t] = _flatten(raw)
        for k in tables[t]:
            if k in RESERVED:
                raise SpecError(f"{path}: [{t}] {k!r} is set by the spec's own key: use {RESERVED[k]} instead")
    grid: dict[str, tuple[Any, ...]] = {}
    for k, vals in tables["grid"].items():
        if not isinstance(vals, list) or not vals:
            raise SpecError(f"{path}: [grid] {k!r} must be a non-empty list of values, e.g. \"{k}\" = [1, 2] (a single "
                            f"value belongs in [overrides]); got {vals!r}")
        if any(vals[i] == vals[j] for i in range(len(vals)) for j in range(i)):
            raise SpecError(f"{path}: [grid] {k!r} lists a value twice: {vals!r}")
        if k in tables["overrides"]:
            raise SpecError(f"{path}: {k!r} is in both [overrides] and [grid]; keep it in one of them")
        grid[k] = tuple(vals)
    return SweepSpec(path, preset, datasets, methods, seeds, clone, tables["overrides"], grid)


def load_spec(path: str | Path) -> SweepSpec:
    """Read and check the sweep spec at ``path`` (:class:`SpecError` on a missing file, bad TOML or bad keys)."""
    path = Path(path)
    return parse_spec(_load_toml(path), path)


def expand(spec: SweepSpec, device: str = "auto") -> list[RunConfig]:
    """Every run of ``spec``, validated: datasets (with clones) × grid points × methods × seeds, in that order
    (``device`` other than ``"auto"`` is set as ``train.device``, which is not part of a run's identity). A bad
    setting raises :class:`SpecError` naming the spec, the table and the key; runs that come out identical (a grid
    value equal to another's after typing) appear once."""
    from impkit.presets import make_config

    base = dict(spec.overrides)
    if device != "auto":
        base["train.device"] = device
    ds0, m0, s0 = spec.dataset_names()[0], spec.methods[0], spec.seeds[0]

    def build(ds: str, m: str, s: int, ov: dict, where: str) -> RunConfig:
        try:
            return make_config(spec.preset, ds, m, s, ov)
        except ConfigError as e:
            raise SpecError(f"{spec.path}: {where}{e}") from None

    # check each table, then each axis value on its own, so that the error points at the key that is wrong
    build(ds0, m0, s0, base, "[overrides] ")
    for k, vals in spec.grid.items():
        for v in vals:
            build(ds0, m0, s0, {**base, k: v}, f"[grid] {k} = {v!r}: ")
    out: dict[str, RunConfig] = {}
    for ds in spec.dataset_names():
        for point in spec.points():
            where = f"dataset {ds!r}, grid point {point}: " if point else f"dataset {ds!r}: "
            for m in spec.methods:
                for s in spec.seeds:
                    cfg = build(ds, m, s, {**base, **point}, where)
                    out.setdefault(run_name(cfg), cfg)
    return list(out.values())


# ------------------------------------------------------------------------------------------------
# planning
# ------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class RunState:
    """A run of the sweep and what its directory under the root already holds."""

    cfg: RunConfig
    path: Path
    rounds_done: tuple[int, ...]

    @property
    def total(self) -> int:
        return self.cfg.prune.rounds + 1

    @property
    def complete(self) -> bool:
        return len(self.rounds_done) >= self.total

    def describe(self) -> str:
        """``"new"``, ``"complete"``, ``"round 0 of 0..10 done"`` or ``"rounds 0..3 of 0..10 done"``."""
        if self.complete:
            return "complete"
        if not self.rounds_done:
            return "new"
        done = self.rounds_done
        span = f"round {done[0]}" if len(done) == 1 else f"rounds {done[0]}..{done[-1]}"
        return f"{span} of 0..{self.total - 1} done"


def run_state(cfg: RunConfig, root: str | Path) -> RunState:
    """The state of ``cfg``'s run directory under ``root``, read only (nothing is created). A directory that
    training would refuse (another config, a diverged run) raises as training would (:func:`impkit.store.check_run_dir`)."""
    from impkit import store

    path = Path(root) / run_name(cfg)
    files = RunFiles(path)
    store.check_run_dir(path, cfg)
    done = tuple(n for n in files.rounds_done() if n <= cfg.prune.rounds) if path.is_dir() else ()
    return RunState(cfg, path, done)


@dataclass(frozen=True)
class Batch:
    """Runs trained together as one batch of stacked replicas: one call of :func:`impkit.runs.train_configs` (which
    may split it further to fit the device's memory), one Ray task. ``index`` counts from 1 within its plan."""

    index: int
    runs: tuple[RunState, ...]

    @property
    def configs(self) -> list[RunConfig]:
        return [r.cfg for r in self.runs]

    @property
    def names(self) -> list[str]:
        return [r.path.name for r in self.runs]

    def payload(self, root: str | Path) -> dict:
        """What a worker needs to train the batch: the run root and the configs as plain JSON types (results go to
        the shared run store, never through the engine)."""
        # absolute: a worker's working directory is not the driver's (on a cluster, the root must be mounted at the
        # same path on every node)
        return {"index": self.index, "root": str(Path(root).absolute()),
                "configs": [c.to_dict() for c in self.configs]}


@dataclass(frozen=True)
class Plan:
    """The runs of a sweep (in spec order), and the incomplete ones as batches."""

    root: Path
    runs: tuple[RunState, ...]
    batches: tuple[Batch, ...]

    @property
    def complete(self) -> list[RunState]:
        return [r for r in self.runs if r.complete]

    @property
    def todo(self) -> list[RunState]:
        return [r for r in self.runs if not r.complete]


def _chunks(units: list[list[RunState]], max_runs: int | None, parts: int | None) -> list[list[RunState]]:
    """Pack round-0 units (runs that share round 0) into batches: ``parts`` batches of nearly equal numbers of units
    (at most one per unit), or batches of at most ``max_runs`` runs (a unit larger than that is cut), or one."""
    if max_runs is not None:
        pieces = [u[i:i + max_runs] for u in units for i in range(0, len(u), max_runs)]
        out: list[list[RunState]] = []
        cur: list[RunState] = []
        for piece in pieces:
            if cur and len(cur) + len(piece) > max_runs:
                out.append(cur)
                cur = []
            cur = cur + piece
        return out + ([cur] if cur else [])
    k = min(len(units), parts or 1)
    size, extra = divmod(len(units), k)
    out, i = [], 0
    for j in range(k):  # contiguous runs of units: the first `extra` batches get one unit more
        n = size + (j < extra)
        out.append([r for u in units[i:i + n] for r in u])
        i += n
    return out


def plan(cfgs: Sequence[RunConfig], root: str | Path, max_runs: int | None = None,
         parts: int | None = None) -> Plan:
    """Plan the training of ``cfgs`` under ``root``: the state of every run (read only), and the incomplete runs in
    batches. Runs with equal :func:`impkit.runs.group_key` form one batch (as :func:`impkit.runs.ensure_runs` trains
    them), cut into batches of at most ``max_runs`` runs, or into up to ``parts`` batches of nearly equal size (so
    that ``parts`` workers all get one); runs that share round 0 (same data, model, training and seed) stay in one
    batch unless ``max_runs`` is smaller than their number. Which batch a run lands in changes none of its results
    (on the CPU, bit for bit)."""
    from impkit.runs import group_key

    if max_runs is not None and max_runs < 1:
        raise ValueError(f"max_runs must be >= 1, got {max_runs}")
    if parts is not None and parts < 1:
        raise ValueError(f"parts must be >= 1, got {parts}")
    seen: dict[str, RunConfig] = {}
    for c in cfgs:
        seen.setdefault(run_name(c), c)
    states = tuple(run_state(c, root) for c in seen.values())
    groups: dict[str, dict[str, list[RunState]]] = {}
    for s in states:
        if not s.complete:
            groups.setdefault(group_key(s.cfg), {}).setdefault(round0_key(s.cfg), []).append(s)
    chunks = [c for units in groups.values() for c in _chunks(list(units.values()), max_runs, parts)]
    batches = tuple(Batch(i + 1, tuple(c)) for i, c in enumerate(chunks))
    return Plan(Path(root), states, batches)


def setting(cfg: RunConfig, key: str) -> Any:
    """The value of dotted setting ``key`` in ``cfg`` (``"data.options.g"``: the loader option ``g``)."""
    d: Any = cfg.to_dict()
    parts = key.split(".")
    while parts:
        if parts[0] in d:
            d, parts = d[parts[0]], parts[1:]
        elif ".".join(parts) in d:  # a data.options key with dots in it
            return d[".".join(parts)]
        else:
            return None
    return d


def format_plan(p: Plan, spec: SweepSpec | None = None, runs: bool = False) -> str:
    """The plan as text: totals, one line per batch, and (``runs``) every run with its state."""
    lines = []
    if spec is not None:
        axes = ", ".join(f"{k} × {len(v)}" for k, v in spec.grid.items()) or "no grid"
        lines.append(f"sweep {spec.path}: preset {spec.preset}, datasets {', '.join(spec.dataset_names())}, methods "
                     f"{', '.join(spec.methods)}, seeds {', '.join(map(str, spec.seeds))}; {axes}")
    todo = p.todo
    partial = sum(1 for r in todo if r.rounds_done)
    lines.append(f"{len(p.runs)} runs under {p.root}: {len(p.complete)} complete, {partial} partly done, "
                 f"{len(todo) - partial} new; {len(todo)} to train in {len(p.batches)} batch"
                 f"{'es' if len(p.batches) != 1 else ''}")
    w = max((len(r.path.name) for r in p.runs), default=0)
    for b in p.batches:
        c = b.runs[0].cfg
        lines.append(f"  batch {b.index}: {len(b.runs)} run{'s' if len(b.runs) != 1 else ''} "
                     f"(hidden {list(c.model.hidden)}, {c.train.steps} steps, {c.prune.rounds} rounds)")
        if runs:
            for r in b.runs:
                axes = "  ".join(f"{k}={setting(r.cfg, k)}" for k in (spec.grid if spec else ()))
                lines.append(f"    {r.path.name:<{w}}  {r.describe():<10} {axes}".rstrip())
    if runs and p.complete:
        lines.append("  already complete:")
        lines += [f"    {r.path.name}" for r in p.complete]
    return "\n".join(lines)


__all__ = ["SweepSpec", "SpecError", "load_spec", "parse_spec", "expand", "RunState", "run_state", "Batch", "Plan",
           "plan", "format_plan", "setting"]
