"""The run store: atomic files, corrupt-file errors, locks, and creating run directories.

What the files are called and what they hold is :mod:`impkit.runformat`'s; this module only reads and writes them:
every write goes to a temp file in the same directory, is fsynced, then ``os.replace``d into place; npz files are
written with ``np.savez`` and read with ``allow_pickle=False``; checkpoints with ``torch.save`` and read with
``torch.load(weights_only=True)`` (no arbitrary unpickling). A truncated or corrupted file raises
:class:`CorruptFileError` naming it.
"""
from __future__ import annotations

import io
import json
import os
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import torch

from impkit.config import RunConfig, identity, run_name
from impkit.runformat import RunFiles


class StoreError(RuntimeError):
    """A problem with a run directory (locked, mismatched config, corrupted file)."""


class CorruptFileError(StoreError):
    pass


class ConfigMismatchError(StoreError):
    pass


class RunLockedError(StoreError):
    pass


# ------------------------------------------------------------------------------------------------
# atomic writes
# ------------------------------------------------------------------------------------------------
def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def _clean(obj: Any) -> Any:
    if isinstance(obj, float) and not np.isfinite(obj):
        return None
    if isinstance(obj, dict):
        return {k: _clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_clean(v) for v in obj]
    if isinstance(obj, np.generic):
        return _clean(obj.item())
    return obj


def save_json(path: str | Path, obj: Any) -> None:
    atomic_write_bytes(path, json.dumps(_clean(obj), indent=1, sort_keys=True).encode())


def load_json(path: str | Path) -> Any:
    path = Path(path)
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise
    except (json.JSONDecodeError, UnicodeDecodeError, OSError) as e:
        raise CorruptFileError(f"corrupted or truncated run file {path}: {e}") from None


def save_npz(path: str | Path, arrays: dict[str, Any]) -> None:
    buf = io.BytesIO()
    np.savez(buf, **{k: (v.detach().cpu().numpy() if torch.is_tensor(v) else np.asarray(v)) for k, v in arrays.items()})
    atomic_write_bytes(path, buf.getvalue())


def load_npz(path: str | Path) -> dict[str, np.ndarray]:
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"missing run file {path}")
    try:
        with np.load(path, allow_pickle=False) as z:
            return {k: z[k] for k in z.files}
    except (zipfile.BadZipFile, ValueError, EOFError, OSError, KeyError) as e:
        raise CorruptFileError(f"corrupted or truncated run file {path}: {e}") from None


def save_checkpoint(path: str | Path, obj: dict) -> None:
    buf = io.BytesIO()
    torch.save(obj, buf)
    atomic_write_bytes(path, buf.getvalue())


def load_checkpoint(path: str | Path) -> dict:
    path = Path(path)
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise
    except Exception as e:
        raise CorruptFileError(f"corrupted or truncated checkpoint {path}: {e}") from None


# ------------------------------------------------------------------------------------------------
# locks
# ------------------------------------------------------------------------------------------------
def _pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class RunLock:
    """``O_CREAT | O_EXCL`` lock file holding the owner's pid; a lock left by a dead pid is reclaimed."""

    def __init__(self, run_dir: str | Path):
        self.path = RunFiles(run_dir).lock
        self.held = False

    def acquire(self) -> "RunLock":
        self.path.parent.mkdir(parents=True, exist_ok=True)
        for _ in range(3):
            try:
                fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                try:
                    pid = int(self.path.read_text().strip() or "0")
                except (OSError, ValueError):
                    pid = 0
                if pid == os.getpid() or _pid_alive(pid):
                    raise RunLockedError(f"run {self.path.parent} is locked by running process {pid} "
                                         f"(remove {self.path} if that is wrong)") from None
                try:  # stale lock of a dead process
                    os.unlink(self.path)
                except FileNotFoundError:
                    pass
                continue
            with os.fdopen(fd, "w") as f:
                f.write(str(os.getpid()))
            self.held = True
            return self
        raise RunLockedError(f"could not acquire lock {self.path}")

    def release(self) -> None:
        if self.held:
            try:
                os.unlink(self.path)
            except FileNotFoundError:
                pass
            self.held = False

    def __enter__(self) -> "RunLock":
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()


# ------------------------------------------------------------------------------------------------
# run directories
# ------------------------------------------------------------------------------------------------
def prepare_run_dir(root: str | Path, cfg: RunConfig) -> Path:
    """Create (or reuse) the run directory of ``cfg``; refuse one holding a different config."""
    path = Path(root) / run_name(cfg)
    cfg_path = RunFiles(path).config
    if cfg_path.exists():
        old = RunConfig.from_dict(load_json(cfg_path))
        if identity(old) != identity(cfg):
            raise ConfigMismatchError(f"run directory {path} holds a different config; refusing to overwrite it "
                                      f"(use another --out or delete the directory)")
        return path
    path.mkdir(parents=True, exist_ok=True)
    save_json(cfg_path, cfg.to_dict())
    return path


__all__ = ["atomic_write_bytes", "save_json", "load_json", "save_npz", "load_npz", "save_checkpoint",
           "load_checkpoint", "RunLock", "StoreError", "CorruptFileError", "ConfigMismatchError", "RunLockedError",
           "prepare_run_dir"]
