"""The compute device: one rule for what ``"auto"``, ``"cpu"`` and ``"cuda[:N]"`` mean.

``"auto"`` (or None) is CUDA when ``torch.cuda.is_available()``, else the CPU. Asking for CUDA where there is none
is refused before any work with a :class:`~impkit.config.ConfigError` that names the setting. A run's device is
``train.device`` unless the caller (CLI ``--device``, ``ensure_runs(device=...)``) overrides it; it never changes
what a run computes on the CPU.
"""
from __future__ import annotations

import torch


def resolve_device(device: str | torch.device | None = "auto", setting: str = "train.device") -> torch.device:
    """The torch device for ``device``; ConfigError naming ``setting`` if CUDA is asked for but absent."""
    if device is None or str(device) == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if str(device).startswith("cuda") and not torch.cuda.is_available():
        from impkit.config import ConfigError

        raise ConfigError(f"{setting}: {str(device)!r} requested but CUDA is not available (use cpu or auto)")
    try:
        return torch.device(device)
    except RuntimeError:
        from impkit.config import ConfigError

        raise ConfigError(f"{setting}: unknown device {str(device)!r} (use auto, cpu or cuda[:N])") from None


def choose(requested: str | None, configured: str | None) -> torch.device:
    """The device a batch of runs trains on: ``requested`` (a caller's override) unless it is ``"auto"``/None,
    else the runs' configured ``train.device``."""
    return resolve_device(configured if requested in (None, "auto") else requested)


__all__ = ["resolve_device", "choose"]
