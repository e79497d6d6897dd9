"""Value types and the store interface shared by the local and S3 archives."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Literal

from ._errors import ArchiveConfigError, ArchiveIntegrityError, InvalidKey

__all__ = [
    "ArchiveStore",
    "RetentionPolicy",
    "StoredObject",
    "check_digest",
    "check_recorded",
    "held_back",
    "validate_key",
]

RetentionMode = Literal["COMPLIANCE", "GOVERNANCE"]
RETENTION_MODE = "RECOUVRE_RETENTION_MODE"
RETENTION_YEARS = "RECOUVRE_RETENTION_YEARS"
DEFAULT_RETENTION_YEARS = 10  # Code de commerce, art. L123-22: keep business records ten years
MAX_RETENTION_YEARS = 100


@dataclass(frozen=True)
class RetentionPolicy:
    """How long stored versions stay locked, and how strictly."""

    mode: RetentionMode = "COMPLIANCE"
    years: int = DEFAULT_RETENTION_YEARS

    def __post_init__(self) -> None:
        if self.mode not in ("COMPLIANCE", "GOVERNANCE"):
            raise ArchiveConfigError(
                f"{RETENTION_MODE}={self.mode!r}: expected COMPLIANCE or GOVERNANCE"
            )
        if (
            isinstance(self.years, bool)
            or not isinstance(self.years, int)
            or not (1 <= self.years <= MAX_RETENTION_YEARS)
        ):
            raise ArchiveConfigError(
                f"{RETENTION_YEARS}={self.years!r}: expected a whole number of years "
                f"between 1 and {MAX_RETENTION_YEARS}"
            )

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> RetentionPolicy:
        mode = (environ.get(RETENTION_MODE) or "COMPLIANCE").strip().upper()
        raw_years = (environ.get(RETENTION_YEARS) or str(DEFAULT_RETENTION_YEARS)).strip()
        try:
            years = int(raw_years)
        except ValueError:
            raise ArchiveConfigError(
                f"{RETENTION_YEARS}={raw_years!r}: expected a whole number of years"
            ) from None
        return cls(mode=mode, years=years)  # type: ignore[arg-type]

    def retain_until(self, now: dt.datetime | None = None) -> dt.datetime:
        """Same calendar day ``years`` later (28 February for a 29 February start)."""
        now = now or dt.datetime.now(dt.timezone.utc)
        if now.tzinfo is None:
            raise ValueError("retain_until needs a timezone-aware datetime")
        now = now.astimezone(dt.timezone.utc).replace(microsecond=0)
        try:
            return now.replace(year=now.year + self.years)
        except ValueError:
            return now.replace(year=now.year + self.years, day=28)


@dataclass(frozen=True)
class StoredObject:
    key: str
    sha256: str
    size: int
    version_id: str | None
    retain_until: dt.datetime | None
    url: str
    content_type: str | None = None
    legal_hold: bool = False


_SEGMENT = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9._-]*")
MAX_KEY_LENGTH = 512


def validate_key(key: str) -> str:
    """Keys are relative paths of ``[A-Za-z0-9._-]`` segments; no ``..``, no hidden segments."""
    if not isinstance(key, str) or not key or len(key) > MAX_KEY_LENGTH:
        raise InvalidKey(f"invalid archive key {key!r}: empty or longer than {MAX_KEY_LENGTH}")
    segments = key.split("/")
    for segment in segments:
        if not _SEGMENT.fullmatch(segment) or segment == "..":
            raise InvalidKey(
                f"invalid archive key {key!r}: segments must match [A-Za-z0-9_-][A-Za-z0-9._-]*"
            )
    return key


class ArchiveStore(ABC):
    """Write-once store of documents with their SHA-256.

    ``put`` of the bytes a key already holds is idempotent (it answers the stored
    object); any other write to a key that held bytes raises ArchiveConflict. A key
    deleted behind the store's back stays bound to what it held: on S3 (a delete
    marker over the locked version) every put is refused, identical bytes too, the
    version being still readable by its id; locally (a data file gone, its sidecar
    left) only the recorded bytes may complete it again.

    Reads verify the bytes against the object's own digest and, given
    ``expected_sha256`` (the digest our database or ledger recorded), against
    that one: the object's metadata alone can be forged along with the bytes.
    """

    retention: RetentionPolicy

    @abstractmethod
    def check(self) -> None:
        """Raise ArchiveConfigError unless the backend can hold locked documents."""

    @abstractmethod
    def put(
        self, key: str, data: bytes, content_type: str, legal_hold: bool = False
    ) -> StoredObject: ...

    @abstractmethod
    def get(
        self, key: str, version_id: str | None = None, expected_sha256: str | None = None
    ) -> bytes: ...

    @abstractmethod
    def head(self, key: str, version_id: str | None = None) -> StoredObject | None: ...

    def exists(self, key: str) -> bool:
        return self.head(key) is not None

    def presigned_url(
        self,
        key: str,
        version_id: str | None = None,
        expires: int = 300,
        *,
        filename: str | None = None,
        content_type: str | None = None,
    ) -> str | None:
        """A short-lived GET URL; ``filename`` and ``content_type`` set the response's
        Content-Disposition and Content-Type. None here: a backend without such URLs (local
        files) is downloaded through the service."""
        return None

    @abstractmethod
    def set_legal_hold(self, key: str, on: bool, version_id: str | None = None) -> None: ...

    @abstractmethod
    def iter_chunks(
        self,
        key: str,
        version_id: str | None = None,
        chunk_size: int = 65536,
        expected_sha256: str | None = None,
    ) -> Iterator[bytes]:
        """Stream the bytes, holding the last chunk back until the digest is checked.

        On a mismatch ArchiveIntegrityError is raised in place of the last chunk,
        so a consumer never passes on the whole of a wrong file.
        """


def check_digest(key: str, expected: str, actual: str) -> None:
    if expected != actual:
        raise ArchiveIntegrityError(
            f"{key}: SHA-256 {actual} does not match the recorded {expected}"
        )


def check_recorded(key: str, recorded: str | None, actual: str) -> None:
    """Compare with the digest the caller's records hold, when it has one."""
    if recorded is not None and recorded.lower() != actual:
        raise ArchiveIntegrityError(
            f"{key}: SHA-256 {actual} is not the {recorded} recorded for this file"
        )


def held_back(
    key: str, chunks: Iterable[bytes], own: str, recorded: str | None
) -> Iterator[bytes]:
    """Yield ``chunks`` one behind: the last one only once the whole digest matches
    ``own`` (the object's metadata) and ``recorded`` (the caller's records)."""
    hasher = hashlib.sha256()
    pending: bytes | None = None
    for chunk in chunks:
        if not chunk:
            continue
        hasher.update(chunk)
        if pending is not None:
            yield pending
        pending = chunk
    actual = hasher.hexdigest()
    check_recorded(key, recorded, actual)
    check_digest(key, own, actual)
    if pending is not None:
        yield pending
