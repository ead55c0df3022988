"""Executing a sweep's batches (:class:`impkit.grid.Batch`): in this process (``local``) or as Ray tasks (``ray``).

Both engines run :func:`execute_batch` on a batch's payload, the run root and the configs: it trains the batch with
:func:`impkit.runs.train_configs` (locks, resuming, round-0 sharing, memory splits), so that results land in the run
store whichever engine ran them; only paths and configs travel to a worker and a small report comes back. A batch
that fails (an error, a worker killed) is reported and the others go on; what it finished stays in its run
directories and the next sweep resumes the rest (mid-round, from the last checkpoint).

The Ray engine is an optional extra (``pip install 'impkit[ray]'``): ``ray`` is imported only when a
:class:`RayEngine` is made. It runs one Ray task per batch, asking for ``gpus_per_task`` GPUs (default: one when
the cluster has GPUs) or ``cpus_per_task`` CPUs; it joins the cluster at ``address`` (``ray start --head`` prints
it) or starts a private local one for the sweep (loopback only) and stops it at the end. Every worker must see the
run root at the same path (a shared filesystem) and import the same impkit.
"""
from __future__ import annotations

import logging
import os
import re
import sys
import time
import traceback
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Protocol, Sequence

from impkit.grid import Batch, Plan, RunState, run_state

INSTALL_HINT = "pip install 'impkit[ray]' (in a checkout of impkit: make ray)"
# a private cluster moves only paths and small reports through its object store: Ray's minimum is ~75 MiB
OBJECT_STORE_BYTES = 100 * 1024 ** 2


class EngineUnavailable(RuntimeError):
    """The engine cannot run here (Ray not installed, no cluster at the address, no GPU for --device cuda)."""


@dataclass(frozen=True)
class BatchOptions:
    """How a worker trains a batch (as :func:`impkit.runs.train_configs`' arguments of the same names)."""

    device: str = "auto"
    memory_budget: int | None = None
    max_replicas: int | None = None
    progress: bool = False


@dataclass
class BatchResult:
    """The outcome of one batch: ``error`` None if it finished; ``worker`` is ``host:pid`` of the process that ran it,
    ``started`` its wall-clock start there, ``after`` the state of its runs in the store afterwards."""

    batch: Batch
    error: str | None = None
    detail: str | None = None
    worker: str | None = None
    started: float | None = None
    wall_s: float | None = None
    after: tuple[RunState, ...] = field(default_factory=tuple)

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def incomplete(self) -> list[RunState]:
        return [r for r in self.after if not r.complete]


OnResult = Callable[[BatchResult], None]


class Engine(Protocol):
    name: str
    timings: dict[str, float]

    def slots(self) -> int | None: ...

    def run(self, plan: Plan, options: BatchOptions, on_result: OnResult | None = None) -> list[BatchResult]: ...

    def close(self) -> None: ...


# ------------------------------------------------------------------------------------------------
# one batch, wherever it runs
# ------------------------------------------------------------------------------------------------
def execute_batch(payload: dict, options: dict) -> dict:
    """Train the batch ``payload`` (:meth:`impkit.grid.Batch.payload`) in this process with ``options``
    (:class:`BatchOptions` as a dict); return ``{"worker", "started", "wall_s", "error", "detail"}``. An exception is
    reported, not raised, so that the other batches of the sweep go on; ``detail`` holds the traceback of errors
    that are not impkit's own (a bug rather than bad input)."""
    from impkit.config import ConfigError, RunConfig
    from impkit.runs import train_configs
    from impkit.store import RunLock, StoreError
    from impkit.train import TrainingDiverged

    t0 = time.time()
    out: dict = {"worker": RunLock.owner_id(), "started": t0, "error": None, "detail": None}
    try:
        train_configs([RunConfig.from_dict(d) for d in payload["configs"]], payload["root"], device=options["device"],
                      progress=options["progress"], max_replicas=options["max_replicas"],
                      memory_budget=options["memory_budget"])
    except Exception as e:  # noqa: BLE001 -- reported per batch; KeyboardInterrupt still stops the sweep
        out["error"] = f"{type(e).__name__}: {e}"
        if not isinstance(e, (ConfigError, StoreError, TrainingDiverged, FileNotFoundError)):
            out["detail"] = traceback.format_exc()
    out["wall_s"] = time.time() - t0
    return out


def _result(batch: Batch, report: dict, root: Path) -> BatchResult:
    """A worker's report plus the state of the batch's runs as the store now holds them."""
    after = tuple(run_state(r.cfg, root) for r in batch.runs)
    wall = report.get("wall_s")  # None when the worker died before it could report
    return BatchResult(batch, report.get("error"), report.get("detail"), report.get("worker"), report.get("started"),
                       None if wall is None else float(wall), after)


# ------------------------------------------------------------------------------------------------
# local
# ------------------------------------------------------------------------------------------------
class LocalEngine:
    """The batches one after another in this process (what :func:`impkit.runs.ensure_runs` does)."""

    name = "local"

    def __init__(self) -> None:
        self.timings: dict[str, float] = {}

    def slots(self) -> int | None:
        return None

    def run(self, plan: Plan, options: BatchOptions, on_result: OnResult | None = None) -> list[BatchResult]:
        results = []
        for b in plan.batches:
            res = _result(b, execute_batch(b.payload(plan.root), asdict(options)), plan.root)
            results.append(res)
            if on_result:
                on_result(res)
        return results

    def close(self) -> None:
        pass

    def __enter__(self) -> "LocalEngine":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


# ------------------------------------------------------------------------------------------------
# ray
# ------------------------------------------------------------------------------------------------
def _import_ray():
    try:
        import ray
    except ImportError:  # also when sys.modules["ray"] is None
        raise EngineUnavailable(f"--engine ray needs Ray, which is not installed here: {INSTALL_HINT}") from None
    return ray


def _ray_task(payload: dict, options: dict) -> dict:
    """The body of a Ray task: :func:`execute_batch` with torch's threads set to the CPUs Ray gave the task (a reused
    worker would otherwise keep the thread count of whatever ran in it first)."""
    import ray
    import torch

    cpus = ray.get_runtime_context().get_assigned_resources().get("CPU")
    if cpus:
        torch.set_num_threads(max(1, int(cpus)))
    return execute_batch(payload, options)


def _first_line(e: BaseException, limit: int = 300) -> str:
    text = str(e).strip().splitlines()
    line = next((t.strip() for t in text if t.strip()), "")
    return f"{type(e).__name__}: {line[:limit]}"


class RayEngine:
    """One Ray task per batch on the cluster at ``address`` (``"auto"``: the one ``ray start`` runs on this machine;
    None: ``$RAY_ADDRESS``, else a private local cluster with ``num_cpus`` CPUs, started now and stopped by
    :meth:`close`). If this process already has a Ray session (``ray.init`` in a notebook), it is used and left
    running. ``retries``: how often Ray reruns a batch whose worker died (0: report it; the next sweep resumes it).
    :attr:`timings` records ``init_s`` (start or connect), ``first_task_s`` (connected → the first task running)
    and ``shutdown_s``."""

    name = "ray"

    def __init__(self, address: str | None = None, num_cpus: int | None = None, cpus_per_task: float = 1.0,
                 gpus_per_task: float | None = None, retries: int = 0, device: str = "auto") -> None:
        address = address or os.environ.get("RAY_ADDRESS") or None
        if address is None and "ray" not in sys.modules:
            # Ray would bind a private cluster to the machine's network address; Ray reads this switch ("local Ray
            # only") when it is imported, and the cluster's processes inherit it: loopback only.
            os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
            os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
        ray = _import_ray()
        self.ray = ray
        self.address = address
        self.cpus_per_task = float(cpus_per_task)
        self.retries = int(retries)
        self.timings: dict[str, float] = {}
        self._owns = False
        self.how = "used this process's Ray session"
        t0 = time.perf_counter()
        if not ray.is_initialized():
            try:
                if address is None:
                    ray.init(address="local", num_cpus=num_cpus, include_dashboard=False,
                             object_store_memory=OBJECT_STORE_BYTES, logging_level=logging.WARNING)
                else:
                    ray.init(address=address, logging_level=logging.WARNING)
            except Exception as e:  # noqa: BLE001 -- ConnectionError, ValueError, RuntimeError from Ray's start-up
                where = f"join the Ray cluster at {address}" if address else "start a local Ray cluster"
                raise EngineUnavailable(f"could not {where}: {_first_line(e)}") from None
            self._owns = True
            self.how = f"joined the cluster at {address}" if address else "started a local cluster"
        self.timings["init_s"] = time.perf_counter() - t0
        self._ready = time.time()
        resources = ray.cluster_resources()
        gpus = float(resources.get("GPU", 0.0))
        if device.startswith("cuda") and gpus == 0:
            self.close()
            raise EngineUnavailable(f"--device {device}: the Ray cluster has no GPUs")
        if gpus_per_task is None:
            gpus_per_task = 1.0 if gpus > 0 and device != "cpu" else 0.0
        self.gpus_per_task = float(gpus_per_task)

    def slots(self) -> int:
        """How many batches the cluster runs at once: its GPUs (or CPUs) over what one task asks for."""
        res = self.ray.cluster_resources()
        if self.gpus_per_task > 0:
            return max(1, int(res.get("GPU", 0.0) // self.gpus_per_task))
        return max(1, int(res.get("CPU", 1.0) // self.cpus_per_task))

    def run(self, plan: Plan, options: BatchOptions, on_result: OnResult | None = None) -> list[BatchResult]:
        ray = self.ray
        task = ray.remote(_ray_task)
        refs = {task.options(num_cpus=self.cpus_per_task, num_gpus=self.gpus_per_task, max_retries=self.retries,
                             retry_exceptions=False, name=f"impkit-batch-{b.index}")
                .remote(b.payload(plan.root), asdict(options)): b for b in plan.batches}
        pending, results = list(refs), []
        try:
            while pending:
                done, pending = ray.wait(pending, num_returns=1)
                for ref in done:
                    try:
                        report = ray.get(ref)
                    except ray.exceptions.RayError as e:  # the worker or its node died, the task was cancelled
                        report = {"error": _first_line(e)}
                    res = _result(refs[ref], report, plan.root)
                    results.append(res)
                    if on_result:
                        on_result(res)
        except KeyboardInterrupt:
            for ref in pending:  # stop the workers too: their runs resume on the next sweep
                ray.cancel(ref, force=True)
            raise
        starts = [r.started for r in results if r.started is not None]
        if starts:
            self.timings["first_task_s"] = max(0.0, min(starts) - self._ready)
        return results

    def close(self) -> None:
        """Stop the private cluster, or disconnect from a joined one (it keeps running); a session this engine did
        not open is left alone."""
        if self._owns:
            t0 = time.perf_counter()
            self.ray.shutdown()
            self.timings["shutdown_s"] = time.perf_counter() - t0
            self._owns = False

    def __enter__(self) -> "RayEngine":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def make_engine(name: str, **ray_options) -> Engine:
    """``"local"`` → :class:`LocalEngine`; ``"ray"`` → :class:`RayEngine` (``ray_options``: its arguments)."""
    if name == "local":
        return LocalEngine()
    if name == "ray":
        return RayEngine(**ray_options)
    raise ValueError(f"unknown engine {name!r}; known: local, ray")


# ------------------------------------------------------------------------------------------------
# reporting
# ------------------------------------------------------------------------------------------------
def _fmt_s(s: float) -> str:
    return f"{s:.1f} s" if s < 120 else f"{s / 60:.1f} min"


def format_result(res: BatchResult, done: int, total: int, elapsed: float) -> str:
    """One progress line for a finished batch (and, for an unexpected error, its traceback, indented)."""
    n = len(res.batch.runs)
    where = f" on {res.worker}" if res.worker else ""
    head = f"[{done}/{total}] batch {res.batch.index}"
    took = f" in {_fmt_s(res.wall_s)}" if res.wall_s is not None else ""
    if res.ok:
        return f"{head}: {n} run{'s' if n != 1 else ''} done{took}{where} (elapsed {_fmt_s(elapsed)})"
    inc = res.incomplete
    took = f" after {_fmt_s(res.wall_s)}" if res.wall_s is not None else ""
    line = (f"{head} FAILED{took}{where}: {res.error}; {n - len(inc)}/{n} runs complete, "
            f"{len(inc)} to resume: " + ", ".join(f"{r.path.name} ({r.describe()})" for r in inc)
            + f" (elapsed {_fmt_s(elapsed)})")
    if res.detail:
        line += "\n" + "\n".join("    " + t for t in res.detail.rstrip().splitlines())
    return line


def format_summary(plan: Plan, results: Sequence[BatchResult], elapsed: float, engine: Engine) -> str:
    """The end of a sweep: batches finished and failed, runs complete and not, and the engine's start/stop times."""
    failed = [r for r in results if not r.ok]
    missing = len(plan.batches) - len(results)
    trained = {r.path for res in results for r in res.after if r.complete}
    before = len(plan.complete)
    complete = before + len(trained)
    lines = [f"sweep {'finished' if not failed and not missing else 'INCOMPLETE'} in {_fmt_s(elapsed)} "
             f"(engine {engine.name}): {len(results) - len(failed)}/{len(plan.batches)} batches ok"
             + (f", {len(failed)} failed" if failed else "") + f"; runs: {complete}/{len(plan.runs)} complete"
             + (f" ({before} already were)" if before else "")]
    for r in failed:
        lines.append(f"  batch {r.batch.index} failed: {r.error}")
    if failed or missing:
        lines.append("  rerun the same command to resume the incomplete runs")
    # the RunLock message names the host of a lock held elsewhere: offer the sweep's way of clearing it
    hosts = sorted({m.group(1) for r in failed for m in [re.search(r"on host '([^']+)'", r.error or "")] if m})
    for h in hosts:
        lines.append(f"  runs are locked by processes on host {h!r}: if they are gone (the node crashed, the job "
                     f"ended), add --unlock-host {h}")
    t = engine.timings
    if "init_s" in t:
        parts = [f"{getattr(engine, 'how', 'started')} in {t['init_s']:.1f} s",
                 f"first task running {t['first_task_s']:.1f} s later" if "first_task_s" in t else "",
                 f"shut down in {t['shutdown_s']:.1f} s" if "shutdown_s" in t else ""]
        lines.append(f"  {engine.name}: " + ", ".join(p for p in parts if p))
    return "\n".join(lines)


__all__ = ["BatchOptions", "BatchResult", "Engine", "EngineUnavailable", "LocalEngine", "RayEngine", "make_engine",
           "execute_batch", "format_result", "format_summary", "INSTALL_HINT"]
