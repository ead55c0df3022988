"""The run store: atomic files, corrupt-file errors, locks, and creating run directories.

What the files are called and what they hold is :mod:`impkit.runformat`'s; this module only reads and writes them:
every write goes to a temp file in the same directory, is fsynced, then ``os.replace``d into place (a failed write
-- full disk, file-size limit -- leaves the previous file intact and no temp file behind, and raises
:class:`StoreWriteError` naming the file and the fix); files get the process umask's permissions (0644 under the
usual 022), not the 0600 of a private temp file; npz files are written with ``np.savez`` and read with
``allow_pickle=False``; checkpoints with ``torch.save`` and read with ``torch.load(weights_only=True)`` (no arbitrary
unpickling). A truncated or corrupted file raises :class:`CorruptFileError` naming it and what to delete
(:func:`impkit.runformat.repair_hint`).

Run directories: :func:`check_run_dir` refuses, before anything is created, a directory that holds another config
(naming the settings that differ) or a run that diverged; :func:`prepare_run_dir` creates one;
:func:`verify_run_dir` checks a stored ``config.json`` against the run's name and identity record (a hand-edited
config is caught and the changed setting named).
"""
from __future__ import annotations

import errno
import io
import json
import os
import secrets
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import torch

from impkit.config import ConfigError, RunConfig, config_hash, identity, non_default, run_name
from impkit.runformat import DIVERGED, RunFiles, repair_hint


class StoreError(RuntimeError):
    """A problem with a run directory (locked, mismatched config, corrupted file)."""


class CorruptFileError(StoreError):
    """A run file that cannot be read; the message names it and what to delete."""


class ConfigMismatchError(StoreError):
    """A run directory whose config is not the one expected (another run's, or edited by hand)."""


class RunLockedError(StoreError):
    pass


class StoreWriteError(StoreError):
    """A file or directory could not be written (disk full, file-size limit, permissions, a file in the way); the
    message names the path and the fix. What was stored before is intact."""


class RunDivergedError(StoreError):
    """A run whose training diverged before: rerunning the same settings would diverge again."""


# ------------------------------------------------------------------------------------------------
# errors of the file system, in words
# ------------------------------------------------------------------------------------------------
_RESUME = "then rerun the same command: finished rounds are kept and the run resumes"


def os_error_message(e: OSError, path: str | Path | None = None, action: str = "write") -> str:
    """One line for an :class:`OSError` on ``path`` (default: the error's own file name): what failed, the system's
    reason, and what to do about it."""
    path = path if path is not None else (e.filename or "?")
    reason = e.strerror or str(e)
    code = e.errno
    if code in (errno.ENOSPC, getattr(errno, "EDQUOT", -1)):
        fix = f"free disk space on the file system of {path} (or pass another --out), {_RESUME}"
    elif code == errno.EFBIG:
        fix = (f"the file exceeds the file-size limit of this process or file system: raise it (`ulimit -f "
               f"unlimited`) or write to another file system (--out), {_RESUME}")
    elif code in (errno.EACCES, errno.EPERM, errno.EROFS):
        fix = (f"make {path} readable for this user" if action == "read" else
               f"make {Path(path).parent} writable for this user (or pass another --out), {_RESUME}")
    elif code in (errno.ENOTDIR, errno.EEXIST):
        fix = "a file is in the way of a directory: pass another directory (--out DIR) or move that file away"
    else:
        fix = _RESUME
    return f"could not {action} {path}: {reason} [errno {code}]; {fix}"


def check_dir_path(path: str | Path, what: str = "directory") -> None:
    """:class:`StoreWriteError` if a file stands where directory ``path`` (or one of its parents) must be; creates
    nothing (so bad input is refused before anything is written)."""
    path = Path(path)
    in_the_way = next((p for p in (path, *path.parents) if p.exists() and not p.is_dir()), None)
    if in_the_way is not None:
        raise StoreWriteError(f"{what} {path}: {in_the_way} is a file, not a directory; pass a directory "
                              f"(e.g. --out runs) or move {in_the_way} away")


def ensure_dir(path: str | Path, what: str = "directory") -> Path:
    """``path`` as an existing directory (created if missing); :class:`StoreWriteError` naming it when a file is in
    the way or it cannot be created."""
    path = Path(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        check_dir_path(path, what)
        raise StoreWriteError(os_error_message(e, path, f"create {what}")) from None
    return path


# ------------------------------------------------------------------------------------------------
# atomic writes
# ------------------------------------------------------------------------------------------------
def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically: a reader sees the old file or the new one, never a mix; on failure the
    old file is untouched, the temp file removed, and :class:`StoreWriteError` names ``path`` and the fix."""
    path = Path(path)
    ensure_dir(path.parent)
    tmp = None
    try:
        # os.open with mode 0o666 lets the umask decide the permissions (tempfile.mkstemp would force 0600, leaving
        # the runs unreadable to a group sharing runs/); O_EXCL + a random name keeps concurrent writers apart
        for _ in range(100):
            tmp = path.parent / f".{path.name}.{secrets.token_hex(4)}.tmp"
            try:
                fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
                break
            except FileExistsError:
                tmp = None
        else:
            raise FileExistsError(errno.EEXIST, "no free temp-file name", str(path))
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException as e:
        if tmp is not None:
            try:
                os.unlink(tmp)
            except FileNotFoundError:
                pass
        if isinstance(e, OSError):
            raise StoreWriteError(os_error_message(e, path)) from None
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


_UNREADABLE = (errno.EACCES, errno.EPERM, errno.EIO, errno.EISDIR)


def _corrupt(path: Path, e: BaseException, what: str = "run file") -> StoreError:
    if isinstance(e, OSError) and e.errno in _UNREADABLE:
        # the file may be fine: never advise deleting results the user merely cannot read
        return StoreError(os_error_message(e, path, "read"))
    return CorruptFileError(f"corrupted or truncated {what} {path}: {e}; {repair_hint(path)}")


def load_json(path: str | Path) -> Any:
    path = Path(path)
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise
    except (json.JSONDecodeError, UnicodeDecodeError, OSError) as e:
        raise _corrupt(path, e) from None


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
        raise _corrupt(path, e) from None


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
        raise _corrupt(path, e, "checkpoint") from None


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
def _flat(d: dict, prefix: str = "") -> dict:
    """Dotted keys of a nested identity dict (``data.options`` kept whole, as in :func:`impkit.config.non_default`)."""
    out = {}
    for k, v in d.items():
        if isinstance(v, dict) and k != "options":
            out.update(_flat(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = v
    return out


def _normal(obj: Any) -> Any:
    """``obj`` as it reads back from JSON (tuples become lists, non-finite floats None): what is compared."""
    return json.loads(json.dumps(_clean(obj), sort_keys=True, default=str))


def settings_of(cfg_or_settings: RunConfig | dict) -> dict:
    """Every result-changing setting as ``{dotted key: value}`` (``data.options`` whole): of a config, or of the
    non-default settings of an identity record (the rest filled in with the defaults)."""
    if isinstance(cfg_or_settings, RunConfig):
        return _normal(_flat(identity(cfg_or_settings)))
    return {**_normal(_flat(identity(RunConfig()))), **_normal(cfg_or_settings)}


def config_differences(a: dict, b: dict, a_name: str, b_name: str) -> str:
    """``"train.lr is 0.2 in config.json, 0.1 in the run's record"`` for every setting that differs between the
    flat settings dicts ``a`` and ``b`` (see :func:`settings_of`), joined by "; "."""
    missing = "(unset)"
    return "; ".join(f"{k} is {a.get(k, missing)!r} in {a_name}, {b.get(k, missing)!r} in {b_name}"
                     for k in sorted(set(a) | set(b)) if a.get(k, missing) != b.get(k, missing))


def read_config(path: str | Path) -> RunConfig:
    """The :class:`RunConfig` stored in run directory ``path``; :class:`CorruptFileError` (naming the file and the
    fix) when ``config.json`` is truncated or not a run config."""
    f = RunFiles(path).config
    d = load_json(f)
    try:
        if not isinstance(d, dict):
            raise ConfigError(f"expected a JSON object, got {type(d).__name__}")
        return RunConfig.from_dict(d)
    except (ConfigError, TypeError, ValueError) as e:
        raise CorruptFileError(f"{f} is not a run config ({e}); {repair_hint(f)}") from None


def _identity_record(cfg: RunConfig) -> dict:
    return {"name": run_name(cfg), "hash": config_hash(cfg), "settings": non_default(cfg)}


def verify_run_dir(path: str | Path, cfg: RunConfig) -> None:
    """:class:`ConfigMismatchError` unless ``cfg`` (read from ``path``'s ``config.json``) is the config the run was
    created with: its :func:`~impkit.config.run_name` must be the directory's name (dataset, method, seed and the
    hash of every other result-changing setting) and its settings those of the identity record. The message names
    the settings that differ and what to do."""
    path = Path(path)
    f = RunFiles(path)
    fix = (f"restore the original settings in {f.config}, or delete {path} and rerun the command that made it "
           "(results are only valid for the settings they were trained with)")
    record = None
    if f.identity.exists():
        record = load_json(f.identity)
        if not isinstance(record, dict) or not isinstance(record.get("settings"), dict):
            raise CorruptFileError(f"{f.identity} is not an identity record; {repair_hint(f.identity)}")
    if record is not None:
        diff = config_differences(settings_of(cfg), settings_of(record["settings"]), f.config.name,
                                  "the settings the run was created with")
        if diff:
            raise ConfigMismatchError(f"{f.config} was edited after the run was created: {diff} (recorded in "
                                      f"{f.identity.name}); {fix}")
    if path.name != run_name(cfg):
        # without an identity record (older runs) only the name can tell; list what config.json says instead
        shown = ", ".join(f"{k}={v!r}" for k, v in non_default(cfg).items()) or "all defaults"
        raise ConfigMismatchError(f"{f.config} does not match its run directory: its settings ({shown}) give the "
                                  f"name {run_name(cfg)}, not {path.name} (edited by hand, or the directory was "
                                  f"renamed, or written by an impkit whose defaults differed); {fix}")


def check_run_dir(path: str | Path, cfg: RunConfig) -> None:
    """Refuse, before anything is written, to train ``cfg`` in ``path`` if that directory exists and holds another
    config (:class:`ConfigMismatchError` naming the settings that differ) or a run that diverged
    (:class:`RunDivergedError`: the same settings diverge again). A missing directory is fine."""
    path = Path(path)
    f = RunFiles(path)
    check_dir_path(path, "run directory")
    if f.config.exists():
        old = read_config(path)
        diff = config_differences(settings_of(old), settings_of(cfg), f.config.name, "the requested config")
        if diff:
            raise ConfigMismatchError(f"run directory {path} holds a different config ({diff}); refusing to "
                                      f"overwrite it. If {f.config} was edited by hand, restore it; otherwise "
                                      f"delete {path} or pass another --out")
    if f.status.exists():
        st = load_json(f.status)
        if isinstance(st, dict) and st.get("status") == DIVERGED:
            raise RunDivergedError(
                f"run {path} diverged before (round {st.get('round')}, step {st.get('step')}, loss {st.get('loss')}; "
                f"recorded in {f.status}) and the same settings diverge again: {st.get('advice', 'change them')}, "
                f"or delete {f.status} to retry unchanged")


def prepare_run_dir(root: str | Path, cfg: RunConfig) -> Path:
    """Create (or reuse) the run directory of ``cfg`` under ``root``; refuse one holding a different config or a
    diverged run (:func:`check_run_dir`) and a ``root`` that is a file (:class:`StoreWriteError`)."""
    ensure_dir(root, "run root")
    path = Path(root) / run_name(cfg)
    check_run_dir(path, cfg)
    f = RunFiles(path)
    if f.config.exists():
        return path
    ensure_dir(path, "run directory")
    save_json(f.identity, _identity_record(cfg))
    save_json(f.config, cfg.to_dict())  # last: a directory with config.json is a run (RunFiles.is_run)
    return path


def mark_diverged(path: str | Path, record: dict) -> None:
    """Record in ``path``'s ``status.json`` that the run diverged (``record``: round, step, loss, advice, ...)."""
    save_json(RunFiles(path).status, {"status": DIVERGED, **record})


def read_status(path: str | Path) -> dict | None:
    """The failure record of run ``path`` (``{"status": "diverged", ...}``), or None when it has none."""
    f = RunFiles(path).status
    if not f.exists():
        return None
    st = load_json(f)
    if not isinstance(st, dict):
        raise CorruptFileError(f"{f} is not a status record; {repair_hint(f)}")
    return st


__all__ = ["atomic_write_bytes", "save_json", "load_json", "save_npz", "load_npz", "save_checkpoint",
           "load_checkpoint", "RunLock", "StoreError", "CorruptFileError", "ConfigMismatchError", "RunLockedError",
           "StoreWriteError", "RunDivergedError", "prepare_run_dir", "check_run_dir", "verify_run_dir",
           "read_config", "settings_of", "config_differences", "ensure_dir", "check_dir_path", "os_error_message",
           "mark_diverged", "read_status"]
