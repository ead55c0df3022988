"""Run configuration: dataclasses, presets, validation, dotted overrides, JSON round trip.

A :class:`RunConfig` fully determines one run directory (one dataset, one pruning method, one seed).
Presets live in :data:`PRESETS` (one dict, one place); :func:`make_config` builds a config from a
preset plus CLI-style overrides such as ``{"train.steps": "2000"}``.

Fields that do not change results (``train.device``, ``train.checkpoint_every``, ``train.compile``)
are excluded from the run identity (:func:`identity`) and so from the run-directory hash.
"""
from __future__ import annotations

import copy
import dataclasses
import hashlib
import json
from dataclasses import asdict, dataclass, field, fields
from typing import Any

METHODS = ("imp", "oneshot", "random")
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

    hidden: tuple = (100, 100)
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
    ``method`` imp | oneshot | random.
    """

    rate: float = 0.3
    rounds: int = 10
    output_rate: float | None = None
    prune_bias: bool = False
    scope: str = "layer"
    method: str = "imp"

    @property
    def output_rate_value(self) -> float:
        return self.rate / 2 if self.output_rate is None else self.output_rate


@dataclass
class RunConfig:
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    prune: PruneConfig = field(default_factory=PruneConfig)
    seed: int = 0

    # ---- conversion -------------------------------------------------------------------------
    def to_dict(self) -> dict:
        d = asdict(self)
        d["model"]["hidden"] = list(d["model"]["hidden"])
        return d

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)

    @classmethod
    def from_dict(cls, d: dict) -> "RunConfig":
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
        return cls.from_dict(json.loads(s))

    def replace(self, **changes) -> "RunConfig":
        """A deep copy with dotted-key overrides applied (values already typed or strings)."""
        return apply_overrides(self, changes)

    # ---- convenience ------------------------------------------------------------------------
    @property
    def method(self) -> str:
        return self.prune.method

    @property
    def dataset(self) -> str:
        return self.data.name


# ------------------------------------------------------------------------------------------------
# presets
# ------------------------------------------------------------------------------------------------
# Each preset: the default dataset, loader options per dataset name (used when that dataset is chosen), and the
# settings of each section. A Gaussian clone "<name>-clone" gets the options of "<name>" merged with (and
# overridden by) its own "<name>-clone" entry, which is where clone options (impkit.data.clone.CLONE_OPTIONS:
# shrinkage, per_channel, clone_device, ...) go; see :func:`data_options`.
#
PRESETS: dict[str, dict] = {
    # ci: the default task shrunk so that every notebook runs in well under a minute on 2 CPU cores.
    "ci": {
        "dataset": "nlgp",
        "data_options": {
            "nlgp": {"dim": 2, "L": 16, "xi0": 2.0, "xi1": 3.0, "g": 10.0, "n_train": 4000, "n_test": 1000},
        },
        "model": {"hidden": [64], "init": "uniform"},
        "train": {"steps": 400, "t_rewind": 100, "lr": 0.1, "batch": 40, "eval_every": 200, "checkpoint_every": 200},
        "prune": {"rate": 0.3, "rounds": 10},
        "seeds": [0, 1],
    },
    # default: the embedded experiment of `make book`, chosen by the sweep of the appendix notebook
    # (90_choosing_the_default): a 2-D NLGP task whose classes differ in correlation length (2 vs 3 pixels)
    # at gain g = 10, where IMP's first-layer masks localise within ~2 CPU minutes for all 18 replicas.
    "default": {
        "dataset": "nlgp",
        "data_options": {
            "nlgp": {"dim": 2, "L": 24, "xi0": 2.0, "xi1": 3.0, "g": 10.0, "n_train": 20000, "n_test": 2000},
            "photos": {},
            "fashion-mnist": {},
        },
        "model": {"hidden": [128], "init": "uniform"},
        "train": {"steps": 2000, "t_rewind": 200, "lr": 0.1, "batch": 40, "eval_every": 500, "checkpoint_every": 1000},
        "prune": {"rate": 0.3, "rounds": 10},
        "seeds": [0, 1, 2],
    },
    "paper": {  # Redman et al. 2024, Table S1
        "dataset": "imagenet32",
        # the clone: per class and colour channel (paper App. B.1), stored in float16 (7.9 GB instead of 15.7 GB)
        "data_options": {"imagenet32": {}, "imagenet32-clone": {"per_channel": True, "clone_dtype": "float16"}},
        "model": {"hidden": [1024, 1024], "init": "uniform", "activation": "relu", "input_bn": False,
                  "input_dim": 3072, "output_dim": 1000},
        "train": {"steps": 40000, "t_rewind": 1000, "lr": 0.1, "batch": 40, "eval_every": 5000,
                  "checkpoint_every": 5000},
        "prune": {"rate": 0.3, "rounds": 10, "output_rate": None, "prune_bias": False, "scope": "layer"},
        "seeds": [0, 1, 2],
    },
}


def base_name(dataset: str) -> str:
    return dataset[: -len("-clone")] if dataset.endswith("-clone") else dataset


def data_options(preset: str, dataset: str) -> dict:
    """Loader options of ``dataset`` under ``preset``: the preset's entry for the dataset; for a clone
    ``"<name>-clone"``, the entry of ``"<name>"`` updated with the clone's own entry (base options flow to clones)."""
    _check_preset(preset)
    table = PRESETS[preset].get("data_options", {})
    opts = dict(table.get(base_name(dataset), {}))
    if dataset.endswith("-clone"):
        opts.update(table.get(dataset, {}))
    return copy.deepcopy(opts)


# Smoke passes of a preset (``make test``): its shapes unchanged -- model widths, data, clone options, rounds and
# pruning schedule -- but a few dozen SGD steps per round and fewer seeds, so that every notebook executes at
# the preset in minutes on 2 CPU cores. Used by ``tools/run_notebooks.py --smoke``; the data come from wherever
# the dataset resolves (for ``paper``: ``IMPKIT_DATA`` pointing at the ImageNet32 stand-in, impkit.data.standin).
# Keys: "overrides" (dotted config overrides), "seeds", and optionally "parameters" (other notebook parameters).
SMOKE: dict[str, dict] = {
    "paper": {
        "overrides": {"train.steps": 30, "train.t_rewind": 10, "train.eval_every": 30, "train.checkpoint_every": 0},
        "seeds": [0, 1],
    },
}


def smoke(preset: str) -> dict:
    """``{"overrides": {...}, "seeds": [...]}`` of ``preset``'s smoke pass (:data:`SMOKE`)."""
    _check_preset(preset)
    if preset not in SMOKE:
        raise ConfigError(f"preset: no smoke pass defined for {preset!r}; defined: {', '.join(SMOKE)}")
    return copy.deepcopy(SMOKE[preset])


def preset_seeds(preset: str) -> list[int]:
    _check_preset(preset)
    return list(PRESETS[preset].get("seeds", [0, 1, 2]))


def _check_preset(preset: str) -> None:
    if preset not in PRESETS:
        raise ConfigError(f"preset: unknown preset {preset!r}; known: {', '.join(PRESETS)}")


def make_config(preset: str, dataset: str | None = None, method: str = "imp", seed: int = 0,
                overrides: dict | None = None, validate_config: bool = True) -> RunConfig:
    """Config from ``preset`` with dataset/method/seed and dotted overrides (``{"train.steps": 2000}``)."""
    _check_preset(preset)
    p = copy.deepcopy(PRESETS[preset])
    name = dataset or p["dataset"]
    opts = data_options(preset, name)
    d = {
        "data": {"name": name, "options": dict(opts)},
        "model": p.get("model", {}),
        "train": p.get("train", {}),
        "prune": {**p.get("prune", {}), "method": method},
        "seed": seed,
    }
    cfg = RunConfig.from_dict(d)
    if overrides:
        cfg = apply_overrides(cfg, overrides)
    if validate_config:
        validate(cfg)
    return cfg


# ------------------------------------------------------------------------------------------------
# overrides
# ------------------------------------------------------------------------------------------------
def _parse_value(raw: Any, current: Any, key: str, ftype: Any = None) -> Any:
    if not isinstance(raw, str):
        if isinstance(current, tuple) and isinstance(raw, (list, tuple)):
            return tuple(int(v) for v in raw)
        return raw
    s = raw.strip()
    if s.lower() in ("none", "null"):
        return None
    try:
        if isinstance(current, bool):
            if s.lower() in ("1", "true", "yes", "on"):
                return True
            if s.lower() in ("0", "false", "no", "off"):
                return False
            raise ValueError
        if isinstance(current, int) and not isinstance(current, bool):
            return int(s)
        if isinstance(current, float) or (current is None and "rate" in key):
            return float(s)
        if isinstance(current, tuple):
            parts = [p for p in s.replace(":", ",").strip("[]()").split(",") if p.strip()]
            return tuple(int(p) for p in parts)
        if current is None and key.endswith(("_dim",)):
            return int(s)
        if isinstance(current, str) or current is None:
            return s
    except ValueError:
        raise ConfigError(f"{key}: cannot parse {raw!r} as {type(current).__name__}") from None
    try:
        return json.loads(s)
    except json.JSONDecodeError:
        return s


def apply_overrides(cfg: RunConfig, overrides: dict) -> RunConfig:
    """Apply dotted-key overrides, e.g. ``{"train.steps": "2000", "data.options.xi0": 1.5, "seed": 1}``.
    String values are parsed to the field's type. Returns a new config."""
    out = RunConfig.from_dict(cfg.to_dict())
    for key, raw in overrides.items():
        parts = key.split(".")
        if parts == ["seed"]:
            out.seed = int(_parse_value(raw, 0, key))
            continue
        if len(parts) < 2 or parts[0] not in ("data", "model", "train", "prune"):
            raise ConfigError(f"{key}: unknown setting (use section.field, sections: data, model, train, prune, seed)")
        sec = getattr(out, parts[0])
        if parts[0] == "data" and parts[1] == "options" and len(parts) >= 3:
            optkey = ".".join(parts[2:])
            cur = sec.options.get(optkey)
            if isinstance(raw, str):
                try:
                    val = json.loads(raw)
                except json.JSONDecodeError:
                    val = raw
            else:
                val = raw
            sec.options[optkey] = val
            _ = cur
            continue
        if len(parts) != 2 or parts[1] not in {f.name for f in fields(sec)}:
            raise ConfigError(f"{key}: unknown setting")
        cur = getattr(sec, parts[1])
        if parts[1] == "options":
            val = json.loads(raw) if isinstance(raw, str) else dict(raw)
        else:
            val = _parse_value(raw, cur, key)
        setattr(sec, parts[1], val)
    return out


# ------------------------------------------------------------------------------------------------
# validation
# ------------------------------------------------------------------------------------------------
def _known_datasets() -> list[str]:
    from impkit import data

    return data.names()


def validate(cfg: RunConfig, check_dataset: bool = True) -> RunConfig:
    """Refuse bad settings before any work; :class:`ConfigError` names the field."""
    def req(cond: bool, key: str, msg: str) -> None:
        if not cond:
            raise ConfigError(f"{key}: {msg}")

    t, p, m = cfg.train, cfg.prune, cfg.model
    req(isinstance(cfg.seed, int) and cfg.seed >= 0, "seed", f"must be a non-negative integer, got {cfg.seed!r}")
    req(isinstance(t.steps, int) and t.steps > 0, "train.steps", f"must be a positive integer, got {t.steps!r}")
    req(isinstance(t.t_rewind, int) and t.t_rewind >= 0, "train.t_rewind", f"must be >= 0, got {t.t_rewind!r}")
    req(t.t_rewind < t.steps, "train.t_rewind", f"must be < train.steps ({t.steps}), got {t.t_rewind}")
    req(t.lr > 0, "train.lr", f"must be > 0, got {t.lr!r}")
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
    req(p.method in METHODS, "prune.method", f"must be one of {METHODS}, got {p.method!r}")
    req(not (p.scope == "global" and p.method == "random"), "prune.scope",
        "global scope is supported for imp and oneshot only (random masks need per-layer counts)")
    req(len(m.hidden) >= 1 and all(isinstance(h, int) and h > 0 for h in m.hidden), "model.hidden",
        f"must be one or more positive integers, got {m.hidden!r}")
    req(m.activation in ACTIVATIONS, "model.activation", f"must be one of {ACTIVATIONS}, got {m.activation!r}")
    req(m.init in INITS, "model.init", f"must be one of {INITS}, got {m.init!r}")
    req(isinstance(cfg.data.name, str) and cfg.data.name != "", "data.name", "must be a dataset name")
    if check_dataset:
        known = _known_datasets()
        req(base_name(cfg.data.name) in known, "data.name",
            f"unknown dataset {cfg.data.name!r}; known: {', '.join(known)} (and '<name>-clone')")
    return cfg


def check_against_data(cfg: RunConfig, input_dim: int, num_classes: int) -> None:
    """Refuse model widths that do not match the data."""
    if cfg.model.input_dim is not None and cfg.model.input_dim != input_dim:
        raise ConfigError(f"model.input_dim: {cfg.model.input_dim} does not match dataset "
                          f"{cfg.data.name!r} with D={input_dim}")
    if cfg.model.output_dim is not None and cfg.model.output_dim != num_classes:
        raise ConfigError(f"model.output_dim: {cfg.model.output_dim} does not match dataset "
                          f"{cfg.data.name!r} with {num_classes} classes")


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


__all__ = [
    "DataConfig", "ModelConfig", "TrainConfig", "PruneConfig", "RunConfig", "PRESETS", "ConfigError",
    "make_config", "apply_overrides", "validate", "check_against_data", "identity", "config_hash",
    "run_name", "round0_key", "preset_seeds", "METHODS", "data_options", "SMOKE", "smoke",
]
_ = dataclasses
