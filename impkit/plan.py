"""Memory plan: which replicas train together so that each batch fits the device, and how long it takes.

A batch of R replicas needs, on the training device,

* **data**: every *distinct* training and test set of the batch in its storage dtype (uint8 images, float16 or
  float32 clones); replicas that read the same data share one copy. When training on the CPU the loaded data
  already sit in RAM (``resident``): a batch that reads a single dataset uses those tensors in place and costs
  nothing more, a batch that mixes datasets pays for one concatenated copy.
* **replicas**: per replica its weights and biases and a float mask of the same size (8 bytes per weight); on
  CUDA the graph capture keeps a second copy of the whole model state while it records (16 bytes per weight).
* **workspace**: activations of one minibatch and the evaluation chunk (:func:`impkit.train.evaluate` feeds at
  most 2^25 input values at a time), a few hundred MB at the paper's sizes.
* **mask updates** of methods whose mask changes during training (SET, RigL: :mod:`impkit.dynamic`), on top of
  the workspace (:func:`dynamic_bytes`): the sorts of one chunk of drop-and-regrow (budgeted at 44 bytes per
  weight, 36-43 measured by ``make bench``, regrowth keys included, over at most
  :data:`impkit.dynamic.UPDATE_ELEMS` weights or one replica's largest layer)
  and, for gradient regrowth (RigL), a copy of the weights of the batch's dynamic replicas with their dense
  gradients (8 bytes per weight) and the activations of one minibatch.

:func:`split_batches` fills batches greedily in the order given (runs of the same dataset next to each other,
so a dataset is put on the device once per batch) and starts a new batch when the next replica would not fit;
a replica that cannot fit alone raises :class:`MemoryPlanError`. Splitting never changes results: on the CPU a
replica computes the same bits alone or in any batch (tested).

:func:`plan` does the same for a preset before any data are loaded (``python -m impkit plan``): dataset sizes
come from :func:`dataset_footprint` (ImageNet32's official sizes when its files are not installed), and the
projected time from a short measured step of the real model on the current device (:func:`measure_step`).
"""
from __future__ import annotations

import math
import os
import re
import time
from dataclasses import dataclass, field
from typing import Callable, Sequence

import torch

from impkit.config import RunConfig, round0_key

EVAL_ELEMS = 1 << 25  # input values per evaluation chunk (impkit.train.evaluate)
SAFETY = 0.9  # share of the free memory a plan may use (allocator fragmentation, other tensors)
IMAGENET32_SIZES = {"train": 1_281_167, "test": 50_000}


class MemoryPlanError(ValueError):
    """A replica does not fit the memory budget (the message says how much it needs and what to change)."""


# ------------------------------------------------------------------------------------------------
# sizes
# ------------------------------------------------------------------------------------------------
_UNITS = {"": 1, "b": 1, "k": 10**3, "kb": 10**3, "m": 10**6, "mb": 10**6, "g": 10**9, "gb": 10**9,
          "t": 10**12, "tb": 10**12, "kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40}


def parse_bytes(text: str | int | float) -> int:
    """``"80GB"``, ``"24 GiB"``, ``"512MB"`` or a number of bytes -> bytes (decimal units: 1 GB = 10^9 B)."""
    if isinstance(text, (int, float)):
        return int(text)
    m = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*([a-zA-Z]*)\s*", str(text))
    if not m or m.group(2).lower() not in _UNITS:
        raise ValueError(f"device memory: cannot read {text!r}; write e.g. 80GB, 24GiB or 512MB")
    return int(float(m.group(1)) * _UNITS[m.group(2).lower()])


def fmt_bytes(n: float) -> str:
    """Bytes as a short decimal string (``"3.93 GB"``)."""
    for unit, f in (("TB", 1e12), ("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if abs(n) >= f:
            return f"{n / f:.2f} {unit}"
    return f"{int(n)} B"


def free_memory(device: torch.device | str) -> int:
    """Free memory of ``device`` in bytes: CUDA's free memory, or the RAM the OS reports as available."""
    dev = torch.device(device)
    if dev.type == "cuda":
        free, _ = torch.cuda.mem_get_info(dev)
        return int(free)
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return int(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))


def model_parameters(dims: Sequence[int], input_bn: bool = False) -> int:
    """Number of weights and biases (and batch-norm parameters) of an FCN with widths ``dims``."""
    n = sum(i * o + o for i, o in zip(dims[:-1], dims[1:]))
    return n + (4 * sum(dims[:-1]) if input_bn else 0)


def replica_bytes(dims: Sequence[int], input_bn: bool, device_type: str) -> int:
    """Device bytes of one replica: float32 parameters and masks, doubled on CUDA for the graph capture."""
    per = 8 * model_parameters(dims, input_bn)
    return 2 * per if device_type == "cuda" else per


def workspace_bytes(dims: Sequence[int], replicas: int, batch: int, n_test: int) -> int:
    """Activations of one step (float32, kept for the backward pass) and of the largest evaluation chunk
    (``impkit.train.evaluate`` feeds at most 2^25 input values, over all replicas, at a time)."""
    width = sum(dims)
    step = 4 * replicas * batch * (2 * width + dims[0])
    rows = max(1, min(replicas * n_test, EVAL_ELEMS // max(1, dims[0])))
    evaluation = 4 * rows * (dims[0] + 2 * width)
    return step + evaluation


@dataclass(frozen=True)
class DataFootprint:
    """Size of one dataset split pair as a run sees it: rows, dimension, storage bytes per value."""

    key: str  # identical keys = the same data (shared by the replicas of a batch)
    name: str
    n_train: int
    n_test: int
    dim: int
    itemsize: int
    dtype: str
    note: str = ""
    seed: int | None = None  # the seed the data depend on (None: the same data for every seed)

    @property
    def label(self) -> str:
        return self.name if self.seed is None else f"{self.name} (seed {self.seed})"

    @property
    def bytes(self) -> int:
        return (self.n_train + self.n_test) * self.dim * self.itemsize


def _seed(cfg: RunConfig) -> int | None:
    from impkit import data

    return cfg.seed if data.uses_seed(cfg.data.name) else None


def _key(cfg: RunConfig) -> str:
    from impkit.data.cache import data_key

    return data_key(cfg)


def footprint_of(cfg: RunConfig, train, test) -> DataFootprint:
    """:class:`DataFootprint` of loaded train/test :class:`~impkit.data.base.Dataset` objects."""
    return DataFootprint(_key(cfg), cfg.data.name, len(train), len(test), train.dim, train.x.element_size(),
                         str(train.x.dtype).replace("torch.", ""), seed=_seed(cfg))


def dataset_footprint(cfg: RunConfig) -> DataFootprint:
    """Footprint of a run's data without holding it: ImageNet32 (and its clones) from the files' label arrays,
    or the official sizes when the files are not installed; any other dataset is loaded and measured."""
    from impkit.config import base_name
    from impkit.data import DataNotFoundError
    from impkit.data.cache import run_data

    name, base = cfg.data.name, base_name(cfg.data.name)
    is_clone = name.endswith("-clone")
    clone_dtype = str(cfg.data.options.get("clone_dtype", "float32"))
    itemsize = {"float16": 2, "float32": 4}.get(clone_dtype, 4)
    if base == "imagenet32":
        from impkit.data import imagenet32

        opts = {k: v for k, v in cfg.data.options.items() if k in imagenet32.OPTIONS}
        note = ""
        try:
            n = {s: imagenet32.count_rows(cfg.data.root, s, **opts) for s in ("train", "test")}
        except DataNotFoundError:
            n = {s: imagenet32.nominal_rows(s, **opts) for s in ("train", "test")}
            note = "official ImageNet32 sizes (files not installed here)"
        if is_clone:
            return DataFootprint(_key(cfg), name, n["train"], n["test"], 3072, itemsize, clone_dtype, note,
                                 _seed(cfg))
        return DataFootprint(_key(cfg), name, n["train"], n["test"], 3072, 1, "uint8", note, _seed(cfg))
    return footprint_of(cfg, run_data(cfg, "train"), run_data(cfg, "test"))


# ------------------------------------------------------------------------------------------------
# batches
# ------------------------------------------------------------------------------------------------
@dataclass
class Batch:
    """Replicas trained together: their indices (into the caller's list), the distinct data and the bytes."""

    members: list[int] = field(default_factory=list)
    data: dict[str, int] = field(default_factory=dict)  # footprint key -> bytes on the device
    replica_bytes: int = 0
    workspace_bytes: int = 0

    @property
    def data_bytes(self) -> int:
        return sum(self.data.values())

    @property
    def total_bytes(self) -> int:
        return self.data_bytes + self.replica_bytes + self.workspace_bytes


# drop-and-regrow: stable sorts, ranks and masks (~40 B) plus the float32 key (4 B); `make bench` measures 41-43 B
# per weight of peak resident memory over the inputs for a 1 M-weight chunk and 36 B for a full 16.8 M one (CPU)
SORT_BYTES_PER_WEIGHT = 44


def dynamic_bytes(dims: Sequence[int], dynamics: Sequence, batch: int) -> int:
    """Extra device bytes of the mask updates of one batch (module docstring): ``dynamics`` holds one entry per
    replica, its :class:`impkit.dynamic.Dynamics` or None for a fixed mask. 0 when no replica's mask changes."""
    from impkit.dynamic import UPDATE_ELEMS

    dyn = [d for d in dynamics if d is not None]
    if not dyn:
        return 0
    layers = [i * o for i, o in zip(dims[:-1], dims[1:])]
    # a layer of N weights is updated in chunks of max(1, UPDATE_ELEMS // N) replicas (impkit.dynamic)
    chunk = max(min(len(dyn), max(1, UPDATE_ELEMS // n)) * n for n in layers)
    out = SORT_BYTES_PER_WEIGHT * chunk
    grad = sum(1 for d in dyn if getattr(d, "regrow", "random") == "gradient")
    if grad:
        out += grad * (8 * sum(layers) + 4 * batch * (dims[0] + 2 * sum(dims[1:])))
    return int(out)


def batch_bytes(footprints: Sequence[DataFootprint], dims: Sequence[int], input_bn: bool, batch: int,
                device_type: str, resident: bool = False, dynamics: Sequence | None = None) -> Batch:
    """The :class:`Batch` of replicas reading ``footprints`` (one per replica, duplicates shared).

    ``resident``: the data are already loaded in the training device's memory (CPU training after loading),
    so only the copy that concatenates several datasets costs extra. ``dynamics``: per replica its
    :class:`impkit.dynamic.Dynamics` (a mask that changes during training, e.g. SET) or None; their updates'
    workspace (:func:`dynamic_bytes`) is added to ``workspace_bytes``."""
    b = Batch(members=list(range(len(footprints))))
    for f in footprints:
        b.data[f.key] = f.bytes
    if resident and device_type == "cpu" and len(b.data) == 1:
        b.data = {k: 0 for k in b.data}  # used in place (impkit.train.stack_datasets makes no copy)
    b.replica_bytes = len(footprints) * replica_bytes(dims, input_bn, device_type)
    b.workspace_bytes = workspace_bytes(dims, len(footprints), batch, max(f.n_test for f in footprints))
    if dynamics is not None:
        b.workspace_bytes += dynamic_bytes(dims, dynamics, batch)
    return b


def split_batches(footprints: Sequence[DataFootprint], dims: Sequence[int], input_bn: bool, batch: int,
                  device_type: str, budget: int | None, max_replicas: int | None = None,
                  resident: bool = False, dynamics: Sequence | None = None) -> list[Batch]:
    """Greedy split of replicas (one footprint each, in order) into batches of at most ``budget`` bytes and at
    most ``max_replicas`` replicas. ``budget`` None = no memory limit; ``resident`` and ``dynamics`` (one entry
    per replica) as in :func:`batch_bytes`."""
    out: list[Batch] = []
    cur: list[int] = []

    def make(idx: list[int]) -> Batch:
        b = batch_bytes([footprints[i] for i in idx], dims, input_bn, batch, device_type, resident,
                        None if dynamics is None else [dynamics[i] for i in idx])
        b.members = list(idx)
        return b

    for i in range(len(footprints)):
        trial = cur + [i]
        fits = budget is None or make(trial).total_bytes <= budget
        full = max_replicas is not None and len(trial) > max_replicas
        if cur and (not fits or full):
            out.append(make(cur))
            cur = [i]
        else:
            cur = trial
        if budget is not None and len(cur) == 1:
            one = make(cur)
            need = one.total_bytes
            if need > budget:
                f = footprints[i]
                raise MemoryPlanError(
                    f"one replica on {f.name} needs {fmt_bytes(need)} ({fmt_bytes(f.bytes)} of data, "
                    f"{fmt_bytes(replica_bytes(dims, input_bn, device_type))} of model, "
                    f"{fmt_bytes(one.workspace_bytes)} of workspace) but the memory budget is "
                    f"{fmt_bytes(budget)}; free memory on the device, use a smaller clone "
                    f"(data.options.clone_dtype=float16) or fewer rows (data.options.n_train), or set a larger "
                    f"--device-memory if the device really has it")
    if cur:
        out.append(make(cur))
    return out


def method_dynamics(cfg: RunConfig):
    """The :class:`impkit.dynamic.Dynamics` of ``cfg``'s pruning method (its rounds n >= 1), None for a fixed mask."""
    from impkit import methods

    return methods.get(cfg.prune.method).dynamics


def check_replica_fits(cfg: RunConfig, footprint: DataFootprint, dims: Sequence[int], device_type: str,
                       budget: int, budget_source: str, resident: bool = False) -> Batch:
    """The :class:`Batch` of one replica of ``cfg`` (network widths ``dims``, data ``footprint``) on a device of
    type ``device_type``; :class:`MemoryPlanError` -- one line naming the setting that makes it too large, what it
    needs and what is free (``budget`` bytes, described by ``budget_source``) -- if it does not fit.

    A batch of several replicas is split to fit (:func:`split_batches`); a single replica cannot be, so this is
    what :func:`impkit.runs.preflight` refuses before any run directory is created. ``resident`` as in
    :func:`batch_bytes`."""
    b = batch_bytes([footprint], dims, cfg.model.input_bn, cfg.train.batch, device_type, resident,
                    [method_dynamics(cfg)])
    if b.total_bytes <= budget:
        return b
    model = b.replica_bytes + b.workspace_bytes
    net = ":".join(str(d) for d in dims)
    parts = (f"{fmt_bytes(b.replica_bytes)} for the {net} network's parameters and masks, "
             f"{fmt_bytes(b.workspace_bytes)} of workspace, {fmt_bytes(b.data_bytes)} of data")
    if model >= b.data_bytes:
        setting = f"model.hidden={list(cfg.model.hidden)}"
        fix = "lower model.hidden (--set 'model.hidden=[...]')"
    else:
        setting = f"data {cfg.data.name!r}"
        fix = ("use fewer rows (--set data.options.n_train=N) or a float16 clone (data.options.clone_dtype=float16)"
               if cfg.data.name.endswith("-clone") else "use fewer rows (--set data.options.n_train=N)")
    raise MemoryPlanError(
        f"{setting}: one replica needs {fmt_bytes(b.total_bytes)} ({parts}) but only {fmt_bytes(budget)} is free "
        f"({budget_source}); {fix}, or give --device-memory SIZE if the device really has more")


# ------------------------------------------------------------------------------------------------
# time
# ------------------------------------------------------------------------------------------------
@torch.no_grad()
def _fake_data(dims: Sequence[int], replicas: int, device: torch.device, rows: int = 4096):
    from impkit.train import ReplicaData

    g = torch.Generator().manual_seed(0)
    x = torch.randint(0, 256, (rows, dims[0]), generator=g, dtype=torch.uint8).to(device)
    y = torch.randint(0, dims[-1], (rows,), generator=g).to(device)
    zeros = torch.zeros(replicas, dtype=torch.long, device=device)
    return ReplicaData(x=x, y=y, offsets=zeros, sizes=[rows] * replicas, shift=None,
                       scale=torch.full((replicas, 1, 1), 255.0, device=device), test_x=x, test_y=y,
                       test_offsets=zeros, n_test=rows, num_classes=dims[-1])


def measure_step(dims: Sequence[int], replicas: int, batch: int, lr: float = 0.1, device: str | torch.device = "cpu",
                 steps: int = 5, warmup: int = 2, compile: str = "auto") -> float:
    """Seconds per training step of ``replicas`` stacked replicas of the FCN ``dims`` on ``device`` (median
    of ``steps`` timed steps after ``warmup``; random uint8 inputs, the real step incl. CUDA graphs)."""
    from impkit.model import FCN
    from impkit.train import make_stepper

    dev = torch.device(device)
    model = FCN(list(dims), replicas, seeds=list(range(replicas))).to(dev)
    data = _fake_data(dims, replicas, dev)
    step = make_stepper(model, data, lr, batch, compile=compile)
    g = torch.Generator().manual_seed(1)
    idx = torch.randint(0, data.sizes[0], (warmup + steps, replicas, batch), generator=g).to(dev)
    times = []
    for i in range(warmup + steps):
        if dev.type == "cuda":
            torch.cuda.synchronize(dev)
        t0 = time.perf_counter()
        step(idx[i])
        if dev.type == "cuda":
            torch.cuda.synchronize(dev)
        if i >= warmup:
            times.append(time.perf_counter() - t0)
    times.sort()
    return times[len(times) // 2]


# ------------------------------------------------------------------------------------------------
# the plan of a set of runs
# ------------------------------------------------------------------------------------------------
@dataclass
class Phase:
    """Rounds with the same batches: round 0 (one replica per data and seed) or rounds 1..N (all runs)."""

    label: str
    rounds: int
    steps: int
    batches: list[Batch]
    labels: list[list[str]]


@dataclass
class Plan:
    cfgs: list[RunConfig]
    dims: list[int]
    device: str
    budget: int | None
    budget_source: str
    footprints: list[DataFootprint]
    phases: list[Phase]
    step_seconds: dict[int, float] = field(default_factory=dict)

    def projected_seconds(self) -> float:
        """Training steps only, from the measured step times (evaluation adds a little on top)."""
        total = 0.0
        for ph in self.phases:
            for b in ph.batches:
                total += ph.rounds * ph.steps * self.step_seconds.get(len(b.members), math.nan)
        return total


def _label(cfg: RunConfig) -> str:
    return f"{cfg.data.name}/{cfg.prune.method}/s{cfg.seed}"


def plan(cfgs: Sequence[RunConfig], device: str = "auto", budget: int | None = None,
         measure: bool = True, max_replicas: int | None = None,
         measure_fn: Callable[..., float] = measure_step) -> Plan:
    """Memory plan (and, with ``measure``, projected time) of training ``cfgs`` from scratch on ``device``.

    ``budget`` bytes (None: :data:`SAFETY` × the device's free memory). All configs must share the model and
    training settings (one group of :func:`impkit.runs.train_configs`)."""
    from impkit.device import resolve_device

    cfgs = list(cfgs)
    if not cfgs:
        raise ValueError("plan: no runs to plan")
    want = device if device != "auto" else cfgs[0].train.device
    # a CUDA plan can be made on a machine without CUDA (for a GPU elsewhere); it is then not timed
    here = not (str(want).startswith("cuda") and not torch.cuda.is_available())
    dev = resolve_device(want) if here else torch.device(want)
    measure = measure and here
    source = "given"
    if budget is None:
        if not here:
            raise ValueError("plan: no CUDA device here to read its free memory from; give --device-memory")
        budget = int(SAFETY * free_memory(dev))
        source = f"{int(SAFETY * 100)} % of the free memory of {dev}"
    t, m = cfgs[0].train, cfgs[0].model
    for c in cfgs[1:]:
        if c.train != t or c.model != m:
            raise ValueError("plan: all runs must share the model and training settings")
    fps = [dataset_footprint(c) for c in cfgs]
    dims = [fps[0].dim, *m.hidden, m.output_dim or _num_classes(cfgs[0])]
    # round 0: one replica per round-0 key (the methods of a seed share it)
    first: dict[str, int] = {}
    for i, c in enumerate(cfgs):
        first.setdefault(round0_key(c), i)
    r0 = list(first.values())
    phases = []
    rounds = max(c.prune.rounds for c in cfgs)
    # same-storage-dtype runs train together (impkit.runs.train_configs never mixes uint8 and float data)
    for label, idx, n_rounds, steps in (("round 0", r0, 1, t.steps),
                                        (f"rounds 1-{rounds}", list(range(len(cfgs))), rounds, t.steps - t.t_rewind)):
        if n_rounds == 0 or (label != "round 0" and rounds == 0):
            continue
        batches, labels = [], []
        by_kind: dict[tuple, list[int]] = {}
        for i in idx:
            by_kind.setdefault((fps[i].dtype, fps[i].n_test), []).append(i)
        for members in by_kind.values():
            members = sorted(members, key=lambda i: (fps[i].key, cfgs[i].prune.method, cfgs[i].seed))
            dyns = None if label == "round 0" else [method_dynamics(cfgs[i]) for i in members]
            for b in split_batches([fps[i] for i in members], dims, m.input_bn, t.batch, dev.type, budget,
                                   max_replicas, dynamics=dyns):
                b.members = [members[j] for j in b.members]
                batches.append(b)
                labels.append([_label(cfgs[j]) for j in b.members])
        phases.append(Phase(label, n_rounds, steps, batches, labels))
    p = Plan(cfgs, dims, str(dev), budget, source, fps, phases)
    if measure:
        for r in sorted({len(b.members) for ph in phases for b in ph.batches}):
            p.step_seconds[r] = measure_fn(dims, r, t.batch, lr=t.lr, device=dev, compile=t.compile)
    return p


def _num_classes(cfg: RunConfig) -> int:
    from impkit.config import base_name
    from impkit.data.cache import run_data

    if base_name(cfg.data.name) == "imagenet32":
        k = cfg.data.options.get("classes")
        return 1000 if k is None else (int(k) if isinstance(k, int) else len(k))
    return int(run_data(cfg, "train").num_classes)


def _duration(s: float) -> str:
    if not math.isfinite(s):
        return "n/a"
    if s < 120:
        return f"{s:.1f} s"
    if s < 7200:
        return f"{s / 60:.1f} min"
    if s < 172800:
        return f"{s / 3600:.1f} h"
    return f"{s / 86400:.1f} days"


def format_plan(p: Plan) -> str:
    """The plan as the text ``python -m impkit plan`` prints."""
    dims = ":".join(str(d) for d in p.dims)
    c0 = p.cfgs[0]
    per = replica_bytes(p.dims, c0.model.input_bn, torch.device(p.device).type)
    lines = [f"plan for {len(p.cfgs)} runs on {p.device}; memory budget {fmt_bytes(p.budget)} ({p.budget_source})",
             f"model {dims}: {model_parameters(p.dims, c0.model.input_bn):,} parameters, {fmt_bytes(per)} per replica "
             f"on {torch.device(p.device).type} (parameters + masks"
             + (", x2 while the CUDA graph is captured)" if torch.device(p.device).type == "cuda" else ")")]
    seen = set()
    lines.append("data:")
    for f in p.footprints:
        if f.key in seen:
            continue
        seen.add(f.key)
        note = f"  [{f.note}]" if f.note else ""
        lines.append(f"  {f.label:<27} train {f.n_train:>9,} + test {f.n_test:>7,} rows x {f.dim} {f.dtype:<7} "
                     f"{fmt_bytes(f.bytes):>9}{note}")
    for ph in p.phases:
        lines.append(f"{ph.label}: {ph.steps:,} steps per round, {len(ph.batches)} batch"
                     f"{'es' if len(ph.batches) != 1 else ''}")
        for k, (b, labels) in enumerate(zip(ph.batches, ph.labels)):
            ts = p.step_seconds.get(len(b.members))
            tt = "" if ts is None else f"  step {ts * 1e3:.1f} ms -> {_duration(ph.rounds * ph.steps * ts)}"
            lines.append(f"  batch {k + 1}: {len(b.members):>2} replicas  data {fmt_bytes(b.data_bytes):>9} + "
                         f"replicas {fmt_bytes(b.replica_bytes):>9} + workspace {fmt_bytes(b.workspace_bytes):>9} "
                         f"= {fmt_bytes(b.total_bytes):>9}{tt}")
            lines.append(f"           {', '.join(_compact(labels))}")
    if p.step_seconds:
        lines.append(f"projected training time on {p.device}: {_duration(p.projected_seconds())} "
                     "(training steps from a measured step; evaluation and data loading not included)")
    return "\n".join(lines)


def _compact(labels: list[str]) -> list[str]:
    """``imagenet32/imp/s0, imagenet32/imp/s1`` -> ``imagenet32/imp/s0,1``."""
    groups: dict[str, list[str]] = {}
    for lab in labels:
        head, _, seed = lab.rpartition("/s")
        groups.setdefault(head, []).append(seed)
    return [f"{h}/s{','.join(s)}" for h, s in groups.items()]


def plan_dict(p: Plan) -> dict:
    """The plan as JSON-ready data."""
    return {
        "device": p.device, "budget_bytes": p.budget, "budget_source": p.budget_source, "dims": p.dims,
        "data": [{"name": f.name, "n_train": f.n_train, "n_test": f.n_test, "dtype": f.dtype, "bytes": f.bytes,
                  "note": f.note} for f in {f.key: f for f in p.footprints}.values()],
        "phases": [{"label": ph.label, "rounds": ph.rounds, "steps": ph.steps,
                    "batches": [{"runs": labels, "data_bytes": b.data_bytes, "replica_bytes": b.replica_bytes,
                                 "workspace_bytes": b.workspace_bytes, "total_bytes": b.total_bytes,
                                 "step_seconds": p.step_seconds.get(len(b.members))}
                                for b, labels in zip(ph.batches, ph.labels)]} for ph in p.phases],
        "projected_training_seconds": p.projected_seconds() if p.step_seconds else None,
    }


__all__ = ["MemoryPlanError", "DataFootprint", "Batch", "Plan", "parse_bytes", "fmt_bytes", "free_memory",
           "replica_bytes", "workspace_bytes", "dynamic_bytes", "method_dynamics", "split_batches", "batch_bytes",
           "dataset_footprint", "footprint_of", "measure_step", "plan", "format_plan", "plan_dict"]
