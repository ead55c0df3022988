"""Dotted-key overrides of a :class:`~impkit.config.RunConfig`, typed from the dataclass annotations.

``{"train.steps": "2000", "model.hidden": "64,32", "prune.output_rate": "none", "data.options.xi0": 1.5}``:
a string value is parsed to the annotated type of its field (``int``, ``float``, ``bool``, ``str``, ``X | None``,
``tuple[int, ...]``, ``dict``); a value that already has that type is kept as it is. ``data.options.<key>`` is
free-form: a string is read as JSON when it parses, else kept as the string.
"""
from __future__ import annotations

import dataclasses
import json
import numbers
import types
import typing
from typing import Any

from impkit.config import ConfigError, RunConfig

SECTIONS = ("data", "model", "train", "prune")
_TRUE, _FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off")
_NONE = ("none", "null")


def _optional_inner(hint: Any) -> Any | None:
    """``X`` for a hint ``X | None`` (or ``Optional[X]``), else None."""
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        if len(args) == 1 and len(typing.get_args(hint)) == 2:
            return args[0]
    return None


_WORDS = {bool: "a boolean (true/false)", int: "an integer", float: "a number", str: "a string",
          dict: "a JSON object", type(None): "none"}
_PLURAL = {bool: "booleans", int: "integers", float: "numbers", str: "strings"}


def describe(hint: Any) -> str:
    """What a value of type ``hint`` is, in words (for error messages): ``"an integer"``, ``"a number or none"``,
    ``"an integer, a list of integers or none"``."""
    inner = _optional_inner(hint)
    if inner is not None:
        return f"{describe(inner)} or none"
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        words = [describe(a) for a in typing.get_args(hint)]
        return ", ".join(words[:-1]) + " or " + words[-1]
    if typing.get_origin(hint) is list or hint is list:
        args = typing.get_args(hint)
        return f"a list of {_PLURAL.get(args[0], describe(args[0])) if args else 'values'}"
    if typing.get_origin(hint) is tuple or hint is tuple:
        args = typing.get_args(hint)
        return f"a tuple of {'integers' if not args or args[0] is int else describe(args[0])} (e.g. 64,32)"
    return _WORDS.get(hint, str(hint))


def matches(value: Any, hint: Any) -> bool:
    """Whether an already-parsed ``value`` (e.g. from JSON) is of the annotated type ``hint``, without converting
    it: ``int`` (not bool), ``float`` (an int is a number), ``bool``, ``str``, ``None``, ``list[X]`` (a list or
    tuple of X), ``dict`` and unions of these. Used where a value must be checked but kept exactly as given
    (``data.options`` are hashed into the run name as written)."""
    if hint is Any:
        return True
    if hint is None or hint is type(None):
        return value is None
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        return any(matches(value, a) for a in typing.get_args(hint))
    if origin is list or hint is list:
        args = typing.get_args(hint)
        return isinstance(value, (list, tuple)) and (not args or all(matches(v, args[0]) for v in value))
    if hint is bool:
        return isinstance(value, bool)
    if hint is int:
        return isinstance(value, numbers.Integral) and not isinstance(value, bool)
    if hint is float:
        return isinstance(value, numbers.Real) and not isinstance(value, bool)
    if isinstance(hint, type):
        return isinstance(value, hint)
    raise TypeError(f"no type check for {hint!r}")


def _parse_str(s: str, hint: Any) -> Any:
    """``s`` read as ``hint``; ValueError if it is not one."""
    if hint is bool:
        if s.lower() in _TRUE:
            return True
        if s.lower() in _FALSE:
            return False
        raise ValueError
    if hint is int:
        return int(s)
    if hint is float:
        return float(s)
    if hint is str:
        return s
    if typing.get_origin(hint) is tuple or hint is tuple:
        elem = (typing.get_args(hint) or (int,))[0]
        parts = [p.strip() for p in s.replace(":", ",").strip("[]()").split(",") if p.strip()]
        return tuple(_parse_str(p, elem) for p in parts)
    if hint is dict:
        val = json.loads(s)
        if not isinstance(val, dict):
            raise ValueError
        return val
    raise TypeError(f"no override parser for type {hint!r}")


def _check_typed(value: Any, hint: Any) -> Any:
    """``value`` (not a string) as ``hint``: kept when it already has that type (an int is a valid float: kept as
    the int; NumPy scalars become the Python int or float), a list or tuple becomes a tuple for tuple fields;
    ValueError otherwise."""
    if hint is bool:
        if isinstance(value, bool):
            return value
    elif hint is int:
        if isinstance(value, numbers.Integral) and not isinstance(value, bool):
            return int(value)
    elif hint is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return value
        if isinstance(value, numbers.Real) and not isinstance(value, bool):
            return int(value) if isinstance(value, numbers.Integral) else float(value)
    elif typing.get_origin(hint) is tuple or hint is tuple:
        if isinstance(value, (list, tuple)):
            elem = (typing.get_args(hint) or (int,))[0]
            return tuple(_parse_str(v.strip(), elem) if isinstance(v, str) else _check_typed(v, elem) for v in value)
    elif hint is dict:
        if isinstance(value, dict):
            return dict(value)
    raise ValueError


def parse_value(raw: Any, hint: Any, key: str) -> Any:
    """``raw`` as a value of the annotated type ``hint`` of setting ``key``; :class:`ConfigError`
    (``"train.steps: expected an integer, got 'abc'"``) when it is not one."""
    inner = _optional_inner(hint)
    if inner is not None:
        if raw is None or (isinstance(raw, str) and raw.strip().lower() in _NONE):
            return None
        hint_used = inner
    else:
        hint_used = hint
    try:
        if isinstance(raw, str):
            return _parse_str(raw.strip(), hint_used)
        return _check_typed(raw, hint_used)
    except (ValueError, json.JSONDecodeError):
        raise ConfigError(f"{key}: expected {describe(hint)}, got {raw!r}") from None


def _free_form(raw: Any) -> Any:
    """A ``data.options.<key>`` value: a string read as JSON when it parses, else kept; other values as given."""
    if isinstance(raw, str):
        try:
            return json.loads(raw)
        except json.JSONDecodeError:
            return raw
    return raw


def apply_overrides(cfg: RunConfig, overrides: dict) -> RunConfig:
    """A new config: ``cfg`` with dotted-key ``overrides`` applied, e.g. ``{"train.steps": "2000",
    "data.options.xi0": 1.5, "seed": 1}``, each value typed by its field's annotation (:func:`parse_value`)."""
    out = RunConfig.from_dict(cfg.to_dict())
    for key, raw in overrides.items():
        parts = key.split(".")
        if parts == ["seed"]:
            out.seed = parse_value(raw, typing.get_type_hints(RunConfig)["seed"], key)
            continue
        if len(parts) < 2 or parts[0] not in SECTIONS:
            raise ConfigError(f"{key}: unknown setting (use section.field, sections: {', '.join(SECTIONS)}, seed)")
        sec = getattr(out, parts[0])
        if parts[0] == "data" and parts[1] == "options" and len(parts) >= 3:
            sec.options[".".join(parts[2:])] = _free_form(raw)
            continue
        hints = typing.get_type_hints(type(sec))
        if len(parts) != 2 or parts[1] not in {f.name for f in dataclasses.fields(sec)}:
            raise ConfigError(f"{key}: unknown setting")
        setattr(sec, parts[1], parse_value(raw, hints[parts[1]], key))
    return out


__all__ = ["apply_overrides", "parse_value", "describe", "matches", "SECTIONS"]
