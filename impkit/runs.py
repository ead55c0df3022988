"""Public API for notebooks: train what is missing, load runs and their rounds.

>>> runs = ensure_runs("ci", "nlgp", methods=("imp", "random"), seeds=(0, 1))
>>> r = runs[0]; r.rounds_done; r.mask(3)[0].shape; r.weights(3, "rewind"); r.metrics(3)["final_test_acc"]

See :mod:`impkit.runformat` for the directory layout and :mod:`impkit.rounds` for what a round computes.
"""
from __future__ import annotations

import json
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from impkit import store
from impkit.config import ConfigError, RunConfig, check_against_data, identity, round0_key, run_name
from impkit.data.cache import data_key, run_data
from impkit.methods import PAPER_METHODS
from impkit.methods import names as method_names
from impkit.model import FCN
from impkit.presets import make_config, preset_dataset, preset_seeds
from impkit.rounds import Job, copy_round, run_jobs
from impkit.runformat import Masks, Params, RoundFiles, RunFiles


class Run:
    """A run directory: one dataset, one pruning method, one seed (read-only view; files in
    :mod:`impkit.runformat`).

    Opening a run checks its ``config.json`` against the run's name and identity record
    (:func:`impkit.store.verify_run_dir`): results are never read under settings they were not trained with
    (``verify=False`` skips that, for repair tools)."""

    def __init__(self, path: str | Path, verify: bool = True):
        self.path = Path(path)
        self.files = RunFiles(self.path)
        if not self.files.is_run():
            what = ("does not exist" if not self.path.exists()
                    else f"is not a run directory (no {self.files.config.name})")
            raise FileNotFoundError(f"{self.path} {what}; give a run directory as listed by `python -m impkit ls "
                                    "ROOT` (e.g. runs/nlgp-imp-s0-<hash>)")
        self.config = store.read_config(self.path)
        if verify:
            store.verify_run_dir(self.path, self.config)

    def __repr__(self) -> str:
        return f"Run({str(self.path)!r}, rounds_done={self.rounds_done})"

    @property
    def method(self) -> str:
        return self.config.prune.method

    @property
    def dataset(self) -> str:
        return self.config.data.name

    @property
    def seed(self) -> int:
        return self.config.seed

    @property
    def rounds_done(self) -> list[int]:
        return self.files.rounds_done()

    @property
    def status(self) -> dict | None:
        """The run's failure record (``{"status": "diverged", "round": n, "step": s, "loss": ..., "advice": ...}``)
        or None for a run that has not failed."""
        return store.read_status(self.path)

    @property
    def num_layers(self) -> int:
        return len(self.config.model.hidden) + 1

    def _round(self, n: int) -> RoundFiles:
        rf = self.files.round(n)
        if not rf.complete():
            raise FileNotFoundError(f"{self.path}: round {n} is not complete (rounds done: {self.rounds_done})")
        return rf

    def masks(self, n: int) -> Masks:
        """m(n) of every layer (weights and biases)."""
        return Masks.from_arrays(store.load_npz(self._round(n).mask))

    def mask(self, n: int) -> list[np.ndarray]:
        """m(n): per layer a bool array (out, in)."""
        return self.masks(n).weights

    def bias_mask(self, n: int) -> list[np.ndarray]:
        """Per layer the bool bias mask (out,) of round n."""
        return self.masks(n).biases

    def params(self, n: int, which: str = "trained") -> Params:
        """θ(T) of round n (``"trained"``) or the network round n starts from, θ(t_rewind) ⊙ m(n) (``"rewind"``)."""
        if which == "trained":
            return Params.from_arrays(store.load_npz(self._round(n).trained))
        if which == "rewind":
            masks = self.masks(n)
            return Params.from_arrays(store.load_npz(self.files.rewind)).masked(masks)
        raise ValueError(f"which must be 'trained' or 'rewind', got {which!r}")

    def weights(self, n: int, which: str = "trained") -> list[tuple[np.ndarray, np.ndarray]]:
        """Per layer (W (out, in), b (out,)): θ(T) of round n ("trained") or θ(t_rewind) ⊙ m(n) ("rewind")."""
        p = self.params(n, which)
        return list(zip(p.weights, p.biases))

    def metrics(self, n: int) -> dict:
        return store.load_json(self._round(n).metrics)

    def sparsity(self, n: int) -> dict:
        return store.load_json(self._round(n).sparsity)

    def model(self, n: int, which: str = "trained") -> FCN:
        """An R = 1 :class:`FCN` on CPU in eval mode with round n's weights and mask."""
        p, masks = self.params(n, which), self.masks(n)
        dims = [p.weights[0].shape[1]] + [w.shape[0] for w in p.weights]
        m = FCN(dims, 1, self.config.model.activation, self.config.model.init, self.config.model.input_bn, seeds=[0])
        m.load_replica_state(0, {**p.arrays(), **masks.arrays()})
        m.eval()
        return m

    def load_data(self, split: str = "train"):
        """The :class:`~impkit.data.base.Dataset` this run used (``split`` "train" or "test")."""
        return run_data(self.config, split)


def load_run(path: str | Path) -> Run:
    return Run(path)


def list_runs(root: str | Path = "runs") -> list[Run]:
    """The runs under ``root`` (sorted by name); a damaged one raises (see :func:`scan_runs` to list around it)."""
    root = Path(root)
    if not root.is_dir():
        return []
    return [Run(p) for p in sorted(root.iterdir()) if RunFiles(p).is_run()]


@dataclass
class BrokenRun:
    """A run directory that cannot be opened: ``reason`` is the error (it names the file and the fix); ``kind``
    "corrupt" (a file cannot be read) or "edited" (``config.json`` does not match the run)."""

    path: Path
    reason: str
    kind: str = "corrupt"


def scan_runs(root: str | Path = "runs") -> list[Run | BrokenRun]:
    """Every run directory under ``root``, sorted by name: a :class:`Run`, or a :class:`BrokenRun` for one whose
    ``config.json`` is corrupt or does not match the run -- one damaged run does not hide the others."""
    root = Path(root)
    if not root.is_dir():
        return []
    out: list[Run | BrokenRun] = []
    for p in sorted(root.iterdir()):
        if not RunFiles(p).is_run():
            continue
        try:
            out.append(Run(p))
        except (store.StoreError, ConfigError, OSError) as e:
            out.append(BrokenRun(p, str(e), "edited" if isinstance(e, store.ConfigMismatchError) else "corrupt"))
    return out


# ------------------------------------------------------------------------------------------------
def _share_round0_from_siblings(cfg: RunConfig, path: Path, root: Path) -> None:
    """If another method's run of the same data/model/train/seed has round 0, copy it (no retraining)."""
    if RunFiles(path).round(0).complete():
        return
    key = round0_key(cfg)
    for m in method_names():
        if m == cfg.prune.method:
            continue
        sib = cfg.replace(**{"prune.method": m})
        sf = RunFiles(root / run_name(sib))
        if sf.dir.is_dir() and sf.round(0).complete():
            try:
                scfg = RunConfig.from_dict(store.load_json(sf.config))
            except (store.StoreError, ConfigError, FileNotFoundError):
                continue
            if round0_key(scfg) == key:
                copy_round(sf.dir, path, 0)
                return


def _memory_key(c: RunConfig) -> str:
    """Configs with equal keys need the same memory per replica (same data, network and minibatch, device)."""
    return json.dumps([data_key(c), identity(c)["model"], c.train.batch, c.train.device], default=str)


def check_memory(cfgs: Sequence[RunConfig], device: str = "auto", memory_budget: int | None = None) -> None:
    """Refuse (:class:`impkit.plan.MemoryPlanError`, one line naming the setting, what one replica needs and what
    is free) a config one replica of which cannot fit the training device: ``memory_budget`` bytes, or
    :data:`impkit.plan.SAFETY` × the device's free memory (CUDA) / available RAM (CPU). Batches of several replicas
    are not refused: training splits them to fit. Data sizes come from :func:`impkit.plan.dataset_footprint`
    (ImageNet32 from its files without loading it; other data loaded once, as training would); data already loaded
    on the CPU cost nothing more, as in the memory plan. Writes nothing."""
    from impkit import plan as memplan
    from impkit.data.cache import is_loaded
    from impkit.device import choose

    seen: set[str] = set()
    for c in cfgs:
        key = _memory_key(c)
        if key in seen:
            continue
        seen.add(key)
        dev = choose(device, c.train.device)
        fp = memplan.dataset_footprint(c)
        dims = [fp.dim, *c.model.hidden, c.model.output_dim or memplan._num_classes(c)]
        if memory_budget is not None:
            budget, source = int(memory_budget), "--device-memory"
        else:
            budget = int(memplan.SAFETY * memplan.free_memory(dev))
            what = "free memory" if dev.type == "cuda" else "available RAM"
            source = f"{int(memplan.SAFETY * 100)} % of the {what} of {dev}"
        resident = dev.type == "cpu" and is_loaded(c, "train") and is_loaded(c, "test")
        memplan.check_replica_fits(c, fp, dims, dev.type, budget, source, resident)


def preflight(cfgs: Sequence[RunConfig], root: str | Path, device: str = "auto",
              memory_budget: int | None = None) -> None:
    """Everything that can be refused before a run directory is created, so that bad input leaves nothing behind:
    a run root that is a file, an existing directory holding another config or a diverged run
    (:func:`impkit.store.check_run_dir`), and -- for runs with rounds still to train -- data that cannot be loaded
    (bad options, missing files, a missing ``data.root``) or does not fit ``model.input_dim``/``output_dim``, and a
    single replica whose model or data cannot fit the device's memory (:func:`check_memory`, with ``device`` and
    ``memory_budget`` as training will use them). The data are loaded through
    :func:`impkit.data.cache.run_data`, so training reuses them (no extra cost)."""
    from impkit.data import check_root

    root = Path(root)
    store.check_dir_path(root, "run root")
    checked: set[str] = set()
    for c in cfgs:
        path = root / run_name(c)
        store.check_run_dir(path, c)
        if all(RunFiles(path).round(n).complete() for n in range(c.prune.rounds + 1)):
            continue  # nothing to train: its data need not even be installed here
        check_root(c.data.root, "data.root")
        try:
            if _memory_key(c) not in checked:  # before loading ImageNet32-sized data that cannot fit
                check_memory([c], device, memory_budget)
                checked.add(_memory_key(c))
            tr, te = run_data(c, "train"), run_data(c, "test")
        except ValueError as e:
            if type(e) is not ValueError:  # subclasses name a bad file (ImageNet32Error, IDXError, ...): as they are
                raise
            # a loader's plain ValueError is about an option value (e.g. "nlgp: dim must be 1 or 2, got 3")
            raise ConfigError(f"data.options of {c.data.name!r}: {e}; change it with --set data.options.KEY=VALUE "
                              "(`impkit run --help` lists each dataset's options)") from None
        key = json.dumps([data_key(c), c.model.input_dim, c.model.output_dim], default=str)
        if key not in checked:
            checked.add(key)
            check_against_data(c, tr.dim, tr.num_classes)
            if te.dim != tr.dim:
                raise ConfigError(f"data: the test split of {c.data.name!r} has D={te.dim}, the training split "
                                  f"D={tr.dim}; check data.options")


def group_key(cfg: RunConfig) -> str:
    """Runs with equal keys can train as one batch of replicas."""
    d = identity(cfg)
    return json.dumps({"model": d["model"], "train": d["train"]}, sort_keys=True, default=str)


def train_configs(cfgs: Sequence[RunConfig], root: str | Path = "runs", device: str = "auto", progress: bool = True,
                  max_replicas: int | None = None, memory_budget: int | None = None) -> list[Run]:
    """Train the given configs (missing rounds only), batching compatible ones; returns their runs.

    Batches hold at most ``max_replicas`` replicas and fit ``memory_budget`` bytes of the device (None: most
    of its free memory; see :mod:`impkit.plan`)."""
    from impkit.device import choose

    root = Path(root)
    for c in cfgs:
        choose(device, c.train.device)  # refuse an unavailable device before any work
    preflight(cfgs, root, device, memory_budget)
    paths = [store.prepare_run_dir(root, c) for c in cfgs]
    seen: dict[Path, RunConfig] = {}
    for c, p in zip(cfgs, paths):
        seen.setdefault(p, c)
    with ExitStack() as stack:
        todo = []
        for p, c in sorted(seen.items(), key=lambda kv: str(kv[0])):
            if all(RunFiles(p).round(n).complete() for n in range(c.prune.rounds + 1)):
                continue
            stack.enter_context(store.RunLock(p))
            todo.append((c, p))
        for c, p in todo:
            _share_round0_from_siblings(c, p, root)
        groups: dict[str, list[Job]] = {}
        for c, p in todo:
            groups.setdefault(group_key(c), []).append(Job(c, p))
        for jobs in groups.values():
            # test sets of equal size batch together; so do equal storage dtypes: mixing uint8 images with a
            # float32 clone would store the real images as float32 too (4x their memory; ImageNet32: 16 GB)
            by_size: dict[tuple, list[Job]] = {}
            for j in jobs:
                te, tr = run_data(j.cfg, "test"), run_data(j.cfg, "train")
                by_size.setdefault((len(te), tr.dim, tr.x.dtype), []).append(j)
            for sub in by_size.values():
                run_jobs(sub, device=device, progress=progress, max_replicas=max_replicas,
                         memory_budget=memory_budget)
    return [Run(p) for p in paths]


def ensure_runs(preset: str, dataset: str | None = None, methods: Iterable[str] = PAPER_METHODS,
                seeds: Iterable[int] | None = None, root: str | Path = "runs", device: str = "auto",
                overrides: dict | None = None, clone: bool = False, progress: bool = True,
                max_replicas: int | None = None, memory_budget: int | None = None) -> list[Run]:
    """Train whatever is missing for ``preset`` × dataset (and its ``-clone`` when ``clone``) × methods × seeds,
    all compatible runs batched as replicas; return the runs (dataset-major, then method, then seed)."""
    ds = dataset or preset_dataset(preset)
    names = [ds] + ([f"{ds}-clone"] if clone and not ds.endswith("-clone") else [])
    seeds = list(seeds) if seeds is not None else preset_seeds(preset)
    cfgs = [make_config(preset, name, m, s, overrides) for name in names for m in methods for s in seeds]
    if device != "auto":
        cfgs = [c.replace(**{"train.device": device}) for c in cfgs]
    return train_configs(cfgs, root, device=device, progress=progress, max_replicas=max_replicas,
                         memory_budget=memory_budget)


__all__ = ["Run", "BrokenRun", "ensure_runs", "load_run", "list_runs", "scan_runs", "train_configs", "preflight",
           "check_memory", "group_key"]
