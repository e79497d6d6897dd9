"""Filesystem archive: the embedded default when no S3 bucket is configured.

The filesystem cannot enforce retention the way S3 Object Lock does; this
store only guarantees write-once through its own API, records retain-until
and legal hold, and makes files read-only. Identical bytes re-put are
idempotent, any other write to a key that held bytes is refused; a key whose
data file was deleted keeps its sidecar, so only the recorded bytes may
complete it again (S3 refuses every put under a delete marker).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import hashlib
import json
import os
import secrets
import threading
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

from ._errors import ArchiveConfigError, ArchiveConflict, ArchiveIntegrityError, ObjectNotFound
from ._model import (
    ArchiveStore,
    RetentionPolicy,
    StoredObject,
    check_digest,
    check_recorded,
    held_back,
    validate_key,
)

__all__ = ["LocalArchive"]

_READ_ONLY = 0o444
_LOCK_NAME = ".lock"


class LocalArchive(ArchiveStore):
    def __init__(self, root: Path, retention: RetentionPolicy = RetentionPolicy()) -> None:
        self.root = Path(root).absolute()
        self.retention = retention
        self._thread_lock = threading.Lock()

    def __repr__(self) -> str:
        return f"LocalArchive({str(self.root)!r})"

    def check(self) -> None:
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            probe = self.root / f".probe-{secrets.token_hex(8)}"
            fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            try:
                os.write(fd, b"probe")
                os.fsync(fd)
            finally:
                os.close(fd)
                probe.unlink()
        except OSError as e:
            raise ArchiveConfigError(f"archive directory {self.root} is not writable: {e}") from e

    def put(
        self, key: str, data: bytes, content_type: str, legal_hold: bool = False
    ) -> StoredObject:
        path = self._path(key)
        digest = hashlib.sha256(data).hexdigest()
        with self._locked():
            existing = self.head(key)
            if existing is not None:
                if existing.sha256 != digest:
                    raise ArchiveConflict(f"{key} is already archived with different content")
                if not (legal_hold and not existing.legal_hold):
                    return existing
                self._write_legal_hold(key, True)  # a retry must reach the requested state
                return replace(existing, legal_hold=True)
            if path.exists():
                raise ArchiveConflict(f"{key} is a folder holding other keys")
            if _meta_path(path).exists():
                return self._complete_or_refuse(key, path, data, digest, legal_hold)
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
            except (FileExistsError, NotADirectoryError):
                raise ArchiveConflict(f"{key}: a parent of this key is itself a key") from None
            meta = {
                "sha256": digest,
                "size": len(data),
                "content_type": content_type,
                "stored_at": _now().isoformat(),
                "retain_until": self.retention.retain_until().isoformat(),
                "retention_mode": self.retention.mode,
                "legal_hold": bool(legal_hold),
            }
            # The sidecar goes first; linking the data file is the commit point.
            _write_atomic(_meta_path(path), json.dumps(meta, indent=1).encode(), replace=True)
            try:
                _write_atomic(path, bytes(data), replace=False)
            except BaseException:
                if not path.exists():
                    with contextlib.suppress(FileNotFoundError):
                        _meta_path(path).unlink()
                raise
        stored = self.head(key)
        assert stored is not None
        return stored

    def _complete_or_refuse(
        self, key: str, path: Path, data: bytes, digest: str, legal_hold: bool
    ) -> StoredObject:
        """A sidecar without its data file: a write interrupted before its commit point,
        or a file deleted behind the store's back. Either way the key stays bound to the
        digest the sidecar recorded: only those bytes may (re)complete it."""
        try:
            recorded = json.loads(_meta_path(path).read_bytes()).get("sha256")
        except ValueError as e:
            raise ArchiveIntegrityError(f"{key}: unreadable sidecar: {e}") from e
        if recorded != digest:
            raise ArchiveConflict(
                f"{key} was archived before with other content (its data file is gone): "
                "write-once keys are never reused"
            )
        _write_atomic(path, bytes(data), replace=False)
        if legal_hold:
            self._write_legal_hold(key, True)
        stored = self.head(key)
        assert stored is not None
        return stored

    def get(
        self, key: str, version_id: str | None = None, expected_sha256: str | None = None
    ) -> bytes:
        meta = self._meta(key, version_id)
        check_recorded(key, expected_sha256, meta["sha256"])
        try:
            data = self._path(key).read_bytes()
        except FileNotFoundError:
            raise ObjectNotFound(key) from None
        actual = hashlib.sha256(data).hexdigest()
        check_recorded(key, expected_sha256, actual)
        check_digest(key, meta["sha256"], actual)
        return data

    def iter_chunks(
        self,
        key: str,
        version_id: str | None = None,
        chunk_size: int = 65536,
        expected_sha256: str | None = None,
    ) -> Iterator[bytes]:
        meta = self._meta(key, version_id)
        check_recorded(key, expected_sha256, meta["sha256"])
        try:
            fh = self._path(key).open("rb")
        except FileNotFoundError:
            raise ObjectNotFound(key) from None

        def read() -> Iterator[bytes]:
            with fh:
                while chunk := fh.read(chunk_size):
                    yield chunk

        yield from held_back(key, read(), meta["sha256"], expected_sha256)

    def head(self, key: str, version_id: str | None = None) -> StoredObject | None:
        try:
            meta = self._meta(key, version_id)
        except ObjectNotFound:
            return None
        path = self._path(key)
        return StoredObject(
            key=key,
            sha256=meta["sha256"],
            size=int(meta["size"]),
            version_id=None,
            retain_until=dt.datetime.fromisoformat(meta["retain_until"]),
            url=path.as_uri(),
            content_type=meta.get("content_type"),
            legal_hold=bool(meta.get("legal_hold")),
        )

    def set_legal_hold(self, key: str, on: bool, version_id: str | None = None) -> None:
        with self._locked():
            self._meta(key, version_id)  # ObjectNotFound for unknown keys and versions
            self._write_legal_hold(key, on)

    def _write_legal_hold(self, key: str, on: bool) -> None:
        meta = self._meta(key, None)
        meta["legal_hold"] = bool(on)
        _write_atomic(
            _meta_path(self._path(key)), json.dumps(meta, indent=1).encode(), replace=True
        )

    def _path(self, key: str) -> Path:
        return self.root.joinpath(*validate_key(key).split("/"))

    def _meta(self, key: str, version_id: str | None) -> dict:
        path = self._path(key)
        if version_id is not None or not path.is_file():
            raise ObjectNotFound(key if version_id is None else f"{key} (version {version_id})")
        try:
            return json.loads(_meta_path(path).read_bytes())
        except FileNotFoundError:
            raise ArchiveIntegrityError(f"{key}: no recorded SHA-256 (sidecar missing)") from None
        except ValueError as e:
            raise ArchiveIntegrityError(f"{key}: unreadable sidecar: {e}") from e

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        """Serialise writers across threads and worker processes."""
        self.root.mkdir(parents=True, exist_ok=True)
        with self._thread_lock:
            fd = os.open(self.root / _LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                yield
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)
                os.close(fd)


def _meta_path(path: Path) -> Path:
    # hidden sibling: keys cannot have segments starting with a dot, so no clash
    return path.with_name(f".{path.name}.meta.json")


def _write_atomic(path: Path, data: bytes, *, replace: bool) -> None:
    """Temp file in the same directory, fsync, then rename (or link: never overwrite)."""
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
            os.fchmod(fd, _READ_ONLY)
        finally:
            os.close(fd)
        if replace:
            os.replace(tmp, path)
        else:
            try:
                os.link(tmp, path)  # fails if the name exists, unlike rename
            except FileExistsError:
                raise ArchiveConflict(f"{path} appeared concurrently") from None
        _fsync_dir(path.parent)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)
