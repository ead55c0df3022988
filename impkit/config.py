"""Run configuration: the typed dataclasses, their JSON round trip, validation, and the run identity.

A :class:`RunConfig` fully determines one run directory (one dataset, one pruning method, one seed); its
directory name is :func:`run_name` (``<dataset>-<method>-s<seed>-<hash>``). Presets and :func:`make_config`
live in :mod:`impkit.presets`, dotted overrides (``{"train.steps": "2000"}``) in :mod:`impkit.overrides`, the
pruning methods in :mod:`impkit.methods`.

Fields that do not change results (``train.device``, ``train.checkpoint_every``, ``train.compile``)
are excluded from the run identity (:func:`identity`) and so from the run-directory hash.
"""
from __future__ import annotations

import hashlib
import json
import math
from dataclasses import asdict, dataclass, field, fields
from typing import Any

INITS = ("uniform", "glorot_normal")
ACTIVATIONS = ("relu",)
SCOPES = ("layer", "global")
# settings that do not change what a run computes (excluded from identity and hash)
NON_IDENTITY = {("train", "device"), ("train", "checkpoint_every"), ("train", "compile")}


class ConfigError(ValueError):
    """An invalid setting; the message names the offending field (e.g. ``prune.rate``)."""


@dataclass
class DataConfig:
    """Which dataset: ``name`` as in :func:`impkit.data.load` (``<name>-clone`` for a Gaussian clone),
    ``root`` a data directory (None: loader default / ``IMPKIT_DATA``), ``options`` loader options.
    The run's seed is passed to the loader as ``seed=`` (generated data and clones depend on it)."""

    name: str = "nlgp"
    root: str | None = None
    options: dict = field(default_factory=dict)


@dataclass
class ModelConfig:
    """FCN ``input_dim : hidden... : output_dim``. ``input_dim``/``output_dim`` None = taken from the data;
    when set they must match it (checked by :func:`check_against_data`)."""

    hidden: tuple[int, ...] = (100, 100)
    activation: str = "relu"
    init: str = "uniform"  # "uniform" = PyTorch nn.Linear default (the paper); "glorot_normal" + zero bias (P&B code)
    input_bn: bool = False  # batch-norm on every layer's input, raw pixels included (P&B code)
    input_dim: int | None = None
    output_dim: int | None = None


@dataclass
class TrainConfig:
    """Plain SGD (no momentum, no weight decay), i.i.d. minibatches drawn with replacement.

    ``steps`` = T (round 0 trains T steps; rounds n >= 1 train T - t_rewind steps from the rewind point).
    ``mask_forward``: also multiply weights by the mask inside the forward pass. Masks are always
    re-applied after every update, so pruned weights are exactly 0 and the masked and unmasked forward
    passes give bit-identical results; False saves two passes over the weights per step.
    """

    steps: int = 4000
    t_rewind: int = 200
    lr: float = 0.1
    batch: int = 40
    eval_every: int = 1000
    checkpoint_every: int = 1000
    device: str = "auto"
    mask_forward: bool = False
    compile: str = "auto"  # "auto" | "none" | "graph": CUDA graphs on CUDA, eager elsewhere


@dataclass
class PruneConfig:
    """Magnitude pruning of the remaining weights.

    ``rate`` s removed per round from hidden layers, ``output_rate`` for the output layer
    (None = s/2, the convention of Frankle & Carbin 2019; 0 = never prune it), ``prune_bias`` pools biases with the
    weights of their layer (P&B); ``scope`` "layer" (default) or "global" (hidden layers pooled);
    ``method`` a registered pruning method (:func:`impkit.methods.names`: imp | oneshot | random).
    """

    rate: float = 0.3
    rounds: int = 10
    output_rate: float | None = None
    prune_bias: bool = False
    scope: str = "layer"
    method: str = "imp"

    @property
    def output_rate_value(self) -> float:
        """The output layer's pruning rate per round: ``output_rate``, or ``rate / 2`` when that is None."""
        return self.rate / 2 if self.output_rate is None else self.output_rate


@dataclass
class RunConfig:
    """One run: data, model, training and pruning settings, and the seed."""

    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    prune: PruneConfig = field(default_factory=PruneConfig)
    seed: int = 0

    # ---- conversion -------------------------------------------------------------------------
    def to_dict(self) -> dict:
        """Plain nested dict (JSON types; ``model.hidden`` as a list)."""
        d = asdict(self)
        d["model"]["hidden"] = list(d["model"]["hidden"])
        return d

    def to_json(self) -> str:
        """Indented JSON with sorted keys (the ``config.json`` of a run directory)."""
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)

    @classmethod
    def from_dict(cls, d: dict) -> "RunConfig":
        """Config from :meth:`to_dict` output; missing fields take their defaults, unknown ones are refused."""
        known = {f.name for f in fields(cls)}
        unknown = set(d) - known
        if unknown:
            raise ConfigError(f"unknown config section(s): {', '.join(sorted(unknown))}")
        kw: dict[str, Any] = {}
        for sec, klass in (("data", DataConfig), ("model", ModelConfig), ("train", TrainConfig), ("prune", PruneConfig)):
            sd = dict(d.get(sec, {}))
            names = {f.name for f in fields(klass)}
            bad = set(sd) - names
            if bad:
                raise ConfigError(f"unknown field(s): {', '.join(f'{sec}.{b}' for b in sorted(bad))}")
            if sec == "model" and "hidden" in sd:
                sd["hidden"] = tuple(int(h) for h in sd["hidden"])
            if sec == "data" and "options" in sd:
                sd["options"] = dict(sd["options"])
            kw[sec] = klass(**sd)
        if "seed" in d:
            kw["seed"] = int(d["seed"])
        return cls(**kw)

    @classmethod
    def from_json(cls, s: str) -> "RunConfig":
        """Config from :meth:`to_json` output."""
        return cls.from_dict(json.loads(s))

    def replace(self, **changes: Any) -> "RunConfig":
        """A deep copy with dotted-key overrides applied (values already typed or strings), as
        :func:`impkit.overrides.apply_overrides`."""
        from impkit.overrides import apply_overrides  # impkit.overrides builds on this module

        return apply_overrides(self, changes)

    # ---- convenience ------------------------------------------------------------------------
    @property
    def method(self) -> str:
        """The pruning method (``prune.method``)."""
        return self.prune.method

    @property
    def dataset(self) -> str:
        """The dataset name (``data.name``)."""
        return self.data.name


def base_name(dataset: str) -> str:
    """The dataset a Gaussian clone ``"<name>-clone"`` is fitted to (``"<name>"``); other names unchanged."""
    return dataset[: -len("-clone")] if dataset.endswith("-clone") else dataset


# ------------------------------------------------------------------------------------------------
# validation
# ------------------------------------------------------------------------------------------------
def _known_datasets() -> list[str]:
    from impkit import data

    return data.names()


def _methods():
    from impkit import methods  # imports impkit.prune and impkit.runformat: loaded on first validation

    return methods


def validate(cfg: RunConfig, check_dataset: bool = True) -> RunConfig:
    """``cfg`` if every setting is valid (pruning methods as registered in :mod:`impkit.methods`, datasets as
    registered in :mod:`impkit.data` unless ``check_dataset`` is False); else :class:`ConfigError` naming the field."""
    def req(cond: bool, key: str, msg: str) -> None:
        if not cond:
            raise ConfigError(f"{key}: {msg}")

    t, p, m = cfg.train, cfg.prune, cfg.model
    req(isinstance(cfg.seed, int) and cfg.seed >= 0, "seed", f"must be a non-negative integer, got {cfg.seed!r}")
    req(isinstance(t.steps, int) and t.steps > 0, "train.steps", f"must be a positive integer, got {t.steps!r}")
    req(isinstance(t.t_rewind, int) and t.t_rewind >= 0, "train.t_rewind", f"must be >= 0, got {t.t_rewind!r}")
    req(t.t_rewind < t.steps, "train.t_rewind", f"must be < train.steps ({t.steps}), got {t.t_rewind}")
    req(isinstance(t.lr, (int, float)) and not isinstance(t.lr, bool) and math.isfinite(t.lr) and t.lr > 0,
        "train.lr", f"must be a finite number > 0, got {t.lr!r}")
    req(isinstance(t.batch, int) and t.batch > 0, "train.batch", f"must be a positive integer, got {t.batch!r}")
    req(isinstance(t.eval_every, int) and t.eval_every > 0, "train.eval_every", "must be a positive integer")
    req(isinstance(t.checkpoint_every, int) and t.checkpoint_every >= 0, "train.checkpoint_every",
        "must be >= 0 (0 = no mid-round checkpoints)")
    req(t.device in ("auto", "cpu", "cuda") or t.device.startswith("cuda:"), "train.device",
        f"must be auto, cpu or cuda[:N], got {t.device!r}")
    req(t.compile in ("auto", "none", "graph"), "train.compile", f"must be auto, none or graph, got {t.compile!r}")
    req(0.0 < p.rate < 1.0, "prune.rate", f"must be in (0, 1), got {p.rate!r}")
    req(p.output_rate is None or 0.0 <= p.output_rate < 1.0, "prune.output_rate",
        f"must be None or in [0, 1), got {p.output_rate!r}")
    req(isinstance(p.rounds, int) and p.rounds >= 0, "prune.rounds", f"must be >= 0, got {p.rounds!r}")
    req(p.scope in SCOPES, "prune.scope", f"must be one of {SCOPES}, got {p.scope!r}")
    registry = _methods()
    known = registry.names()
    req(p.method in known, "prune.method", f"must be one of {known}, got {p.method!r}")
    if p.scope == "global":
        pooled = [n for n in known if registry.get(n).global_scope]
        req(registry.get(p.method).global_scope, "prune.scope",
            f"global scope is not supported by method {p.method!r} (supported by: {', '.join(pooled)})")
    req(len(m.hidden) >= 1 and all(isinstance(h, int) and h > 0 for h in m.hidden), "model.hidden",
        f"must be one or more positive integers, got {m.hidden!r}")
    req(m.activation in ACTIVATIONS, "model.activation", f"must be one of {ACTIVATIONS}, got {m.activation!r}")
    req(m.init in INITS, "model.init", f"must be one of {INITS}, got {m.init!r}")
    req(isinstance(cfg.data.name, str) and cfg.data.name != "", "data.name", "must be a dataset name")
    req(cfg.data.root is None or (isinstance(cfg.data.root, str) and cfg.data.root != ""), "data.root",
        f"must be a directory or none, got {cfg.data.root!r}")
    req(isinstance(cfg.data.options, dict), "data.options", f"must be a JSON object, got {cfg.data.options!r}")
    if check_dataset:
        known = _known_datasets()
        req(base_name(cfg.data.name) in known, "data.name",
            f"unknown dataset {cfg.data.name!r}; known: {', '.join(known)} (and '<name>-clone')")
        from impkit.data import check_option_types  # the loaders declare their options' types

        try:  # e.g. "data.options.L: expected an integer, got 'abc'" (the options are checked, never converted)
            check_option_types(cfg.data.name, cfg.data.options, "data.options.")
        except ValueError as e:
            raise ConfigError(str(e)) from None
    return cfg


def check_against_data(cfg: RunConfig, input_dim: int, num_classes: int) -> None:
    """:class:`ConfigError` if ``model.input_dim``/``output_dim`` are set and differ from the data's."""
    if cfg.model.input_dim is not None and cfg.model.input_dim != input_dim:
        raise ConfigError(f"model.input_dim: {cfg.model.input_dim} does not match dataset "
                          f"{cfg.data.name!r} with D={input_dim}; set model.input_dim={input_dim} or none "
                          "(taken from the data), or choose data that fit")
    if cfg.model.output_dim is not None and cfg.model.output_dim != num_classes:
        raise ConfigError(f"model.output_dim: {cfg.model.output_dim} does not match dataset "
                          f"{cfg.data.name!r} with {num_classes} classes; set model.output_dim={num_classes} or "
                          "none (taken from the data)")


# ------------------------------------------------------------------------------------------------
# identity and hash
# ------------------------------------------------------------------------------------------------
def identity(cfg: RunConfig) -> dict:
    """The config as a dict without the settings that do not change results."""
    d = cfg.to_dict()
    for sec, key in NON_IDENTITY:
        d[sec].pop(key, None)
    return d


def _diff(d: dict, base: dict, prefix: str = "") -> dict:
    out = {}
    for k in sorted(set(d) | set(base)):
        v, b = d.get(k), base.get(k)
        if isinstance(v, dict) and isinstance(b, dict) and k != "options":
            out.update(_diff(v, b, f"{prefix}{k}."))
        elif v != b:
            out[f"{prefix}{k}"] = v
    return out


def non_default(cfg: RunConfig) -> dict:
    """Dotted settings that differ from the dataclass defaults (identity fields only)."""
    return _diff(identity(cfg), identity(RunConfig()))


def config_hash(cfg: RunConfig) -> str:
    """Short hash of the non-default identity settings (open_lth style)."""
    blob = json.dumps(non_default(cfg), sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:10]


def round0_key(cfg: RunConfig) -> str:
    """Round 0 (dense training) depends on data, model, training and seed, not on the pruning method."""
    d = identity(cfg)
    d.pop("prune")
    return json.dumps(d, sort_keys=True, default=str)


def run_name(cfg: RunConfig) -> str:
    """Directory name ``<dataset>-<method>-s<seed>-<hash>``."""
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in cfg.data.name)
    return f"{safe}-{cfg.prune.method}-s{cfg.seed}-{config_hash(cfg)}"


# Names that moved to impkit.presets / impkit.methods, still importable from here until impkit/runs.py and
# impkit/cli.py import them from their new homes (transition only; new code must not use them).
__all__ = [
    "DataConfig", "ModelConfig", "TrainConfig", "PruneConfig", "RunConfig", "ConfigError", "validate",
    "check_against_data", "identity", "non_default", "config_hash", "run_name", "round0_key", "base_name",
    "INITS", "ACTIVATIONS", "SCOPES", "NON_IDENTITY",
]
