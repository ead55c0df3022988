"""Notebook parameters as papermill delivers them: lists and dicts also arrive as their string form.

``papermill nb.ipynb out.ipynb -p seeds "[0, 1]"`` injects the *string* ``"[0, 1]"`` (``-p`` only converts
numbers, booleans and ``None``; ``-y "seeds: [0, 1]"`` gives a list). Every notebook's setup passes its list
and dict parameters through :func:`as_list` / :func:`as_dict`, so both spellings work::

    seeds = as_list(seeds, "seeds", item=int) or preset_seeds(preset)   # None / "" -> the preset's seeds
    overrides = as_dict(overrides, "overrides")                         # None / "" -> {}

Accepted string forms: a Python or JSON literal (``"[0, 1]"``, ``'["imp", "random"]'``, ``"(0, 1)"``,
``'{"train.steps": 2000}'``), a comma- or space-separated list (``"0,1"``, ``"imp oneshot"``) and a single
value (``"3"``, ``"imp"``); a single non-string value becomes a one-element list.
"""
from __future__ import annotations

import ast
import json
from typing import Any, Callable

__all__ = ["as_list", "as_dict", "ParameterError"]


class ParameterError(ValueError):
    """A notebook parameter that cannot be read as the type it must have; the message names the parameter."""


def _literal(text: str) -> Any:
    """``text`` as a JSON or Python literal (JSON first: ``true``/``null`` are JSON, not Python)."""
    try:
        return json.loads(text)
    except ValueError:
        return ast.literal_eval(text)


def _scalar(text: str) -> Any:
    """One list item written bare: a number or literal if it parses as one, else the text itself."""
    try:
        return _literal(text)
    except (ValueError, SyntaxError):
        return text


def as_list(value: Any, name: str = "parameter", item: Callable[[Any], Any] | None = None) -> list | None:
    """``value`` as a list: a list/tuple/range/set as it is, its string form parsed, a scalar as ``[value]``.

    ``None`` and an empty or blank string give ``None`` (the caller's default applies). ``item`` converts each
    element (e.g. ``int``: ``"0"`` and ``0.0`` are accepted, ``0.5`` and ``"a"`` are not). Raises
    :class:`ParameterError` naming ``name`` when the value cannot be read.
    """
    if value is None:
        return None
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return None
        if text[0] in "[(":
            try:
                parsed = _literal(text)
            except (ValueError, SyntaxError) as err:
                raise ParameterError(f"{name}: cannot read {value!r} as a list ({err})") from None
        else:
            parts = [p for p in text.replace(",", " ").split() if p]
            parsed = [_scalar(p) for p in parts]
        value = parsed
    if isinstance(value, dict):
        raise ParameterError(f"{name}: expected a list, got a dict {value!r}")
    if isinstance(value, (list, tuple, range, set, frozenset)):
        out = list(value) if not isinstance(value, (set, frozenset)) else sorted(value)
    else:
        out = [value]
    if item is not None:
        out = [_convert(v, item, name) for v in out]
    return out


def _convert(v: Any, item: Callable[[Any], Any], name: str) -> Any:
    if item is int:
        if isinstance(v, bool):
            raise ParameterError(f"{name}: expected integers, got {v!r}")
        if isinstance(v, str):
            v = _scalar(v.strip())
        if isinstance(v, float) and v.is_integer():
            v = int(v)
        if not isinstance(v, int):
            raise ParameterError(f"{name}: expected integers, got {v!r}")
        return v
    try:
        return item(v)
    except (TypeError, ValueError) as err:
        raise ParameterError(f"{name}: cannot convert {v!r} ({err})") from None


def as_dict(value: Any, name: str = "parameter") -> dict:
    """``value`` as a dict: a mapping as it is, its string form (JSON or Python literal) parsed; ``None`` and a
    blank string give ``{}``. Raises :class:`ParameterError` naming ``name`` for anything else."""
    if value is None:
        return {}
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return {}
        try:
            value = _literal(text)
        except (ValueError, SyntaxError) as err:
            raise ParameterError(f"{name}: cannot read {text!r} as a dict ({err})") from None
    if not isinstance(value, dict):
        raise ParameterError(f"{name}: expected a dict such as {{\"train.steps\": 2000}}, got {value!r}")
    return dict(value)
