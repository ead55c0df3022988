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
    """Exclusive lock of a run directory: the file ``<run>/.lock`` holds ``host:pid`` of its owner.

    The owner string is written to a private temp file first and then hard-linked to ``.lock``: ``link`` fails when
    the lock exists, atomically also on NFS-like shared filesystems, and a reader never sees a half-written lock
    (filesystems without hard links fall back to ``O_CREAT | O_EXCL``). An existing lock is judged by its owner:

    * another host: refused (:class:`RunLockedError` naming the host, pid and file): a process on another machine
      cannot be checked from here, so only a person can tell that it is gone;
    * this host, a live process (or this very process): refused;
    * this host, a dead process: stale, reclaimed. Lock files of older impkit versions hold a bare pid and are read
      as a pid on this host.

    :meth:`clear` deletes the lock of a named host on a person's word that its process is gone.
    """

    STALE_UNREADABLE_S = 60.0  # an unreadable lock older than this is a crash leftover, younger may be mid-write

    def __init__(self, run_dir: str | Path):
        self.path = RunFiles(run_dir).lock
        self.held = False
        self.owner = self.owner_id()

    @staticmethod
    def owner_id() -> str:
        """``host:pid`` of this process, as written into lock files."""
        import socket  # local: store.py's imports belong to the file IO above

        return f"{socket.gethostname()}:{os.getpid()}"

    @staticmethod
    def parse_owner(text: str) -> tuple[str | None, int] | None:
        """(host, pid) from a lock file's text: ``"host:pid"``, or a legacy bare ``"pid"`` (host None); None if
        the text is neither."""
        text = text.strip()
        host, sep, pid = text.rpartition(":")
        if not pid.isdigit() or (sep and not host):
            return None
        return (host if sep else None), int(pid)

    def _create(self) -> bool:
        """Try to create the lock holding :attr:`owner`; False if a lock file exists."""
        import uuid

        tmp = self.path.with_name(f"{self.path.name}.{uuid.uuid4().hex}.tmp")
        fd = os.open(tmp, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        try:
            with os.fdopen(fd, "w") as f:
                f.write(self.owner)
                f.flush()
                os.fsync(f.fileno())
            try:
                os.link(tmp, self.path)
                return True
            except FileExistsError:
                return False
            except OSError:  # no hard links here (some FUSE/object-store mounts): exclusive create instead
                try:
                    fd2 = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
                except FileExistsError:
                    return False
                with os.fdopen(fd2, "w") as f:
                    f.write(self.owner)
                return True
        finally:
            try:
                os.unlink(tmp)
            except FileNotFoundError:
                pass

    def _reclaim(self, seen: str) -> None:
        """Remove the stale lock whose text was ``seen``. It is first renamed to a private name, so that of two
        processes reclaiming at once only one removes it; if the renamed file is not the stale one (a fresh lock
        replaced it meanwhile), it is put back."""
        import uuid

        grave = self.path.with_name(f"{self.path.name}.{uuid.uuid4().hex}.stale")
        try:
            os.rename(self.path, grave)
        except FileNotFoundError:
            return
        try:
            if grave.read_text() != seen:
                try:
                    os.link(grave, self.path)
                except FileExistsError:
                    pass
        finally:
            os.unlink(grave)

    @classmethod
    def clear(cls, run_dir: str | Path, host: str) -> bool:
        """Delete the lock of ``run_dir`` if a process on ``host`` holds it: a person's word that the process is gone
        (its node crashed, its job ended). A lock of a live process on this host is kept. True if one was deleted."""
        import socket

        lk = cls(run_dir)
        try:
            text = lk.path.read_text()
        except FileNotFoundError:
            return False
        owner = cls.parse_owner(text)
        if owner is None or (owner[0] or socket.gethostname()) != host:
            return False
        if host == socket.gethostname() and _pid_alive(owner[1]):
            return False
        lk._reclaim(text)
        return not lk.path.exists() or lk.path.read_text() != text

    def acquire(self) -> "RunLock":
        import socket
        import time

        self.path.parent.mkdir(parents=True, exist_ok=True)
        here = socket.gethostname()
        for _ in range(5):
            if self._create():
                self.held = True
                return self
            try:
                text = self.path.read_text()
                age = time.time() - self.path.stat().st_mtime
            except FileNotFoundError:  # released meanwhile
                continue
            except OSError:
                text, age = "", 0.0
            owner = self.parse_owner(text)
            if owner is None:
                if age < self.STALE_UNREADABLE_S:
                    raise RunLockedError(f"run {self.path.parent} has an unreadable lock file {self.path} written "
                                         f"{age:.0f} s ago; retry in a minute, or delete it if no impkit process "
                                         "uses this run") from None
                self._reclaim(text)
                continue
            host, pid = owner
            if host is not None and host != here:
                raise RunLockedError(
                    f"run {self.path.parent} is locked by process {pid} on host {host!r} (lock file {self.path}); "
                    f"impkit cannot check a process on another host: if it is no longer running there (the host is "
                    f"down or its job ended), delete {self.path} and retry") from None
            if pid == os.getpid() or _pid_alive(pid):
                raise RunLockedError(f"run {self.path.parent} is locked by running process {pid} on this host "
                                     f"({here}); wait for it to finish (remove {self.path} only if that process is "
                                     "not impkit)") from None
            self._reclaim(text)  # stale lock of a dead process on this host
        raise RunLockedError(f"could not acquire lock {self.path} (it keeps changing hands; retry)")

    def release(self) -> None:
        if self.held:
            try:
                # only our own lock: a lock someone reclaimed from us (they judged it stale) is theirs now
                if self.path.read_text().strip() == self.owner:
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
