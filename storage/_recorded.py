"""An archived file as our records know it: key, version and the digest the database or the
ledger recorded. Downloads go through it, so what is served is what was recorded, or nothing whole.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass

from ._disposition import content_disposition
from ._errors import ArchiveError, ArchiveIntegrityError, ObjectNotFound
from ._model import ArchiveStore, check_recorded

__all__ = ["RecordedFile", "open_recorded"]

log = logging.getLogger("recouvre.storage")

DEFAULT_MEDIA_TYPE = "application/octet-stream"
PRESIGNED_SECONDS = 300  # a presigned URL is a bearer token: keep it short


@dataclass(frozen=True)
class RecordedFile:
    archive: ArchiveStore
    key: str
    sha256: str
    size: int
    version_id: str | None = None
    media_type: str = DEFAULT_MEDIA_TYPE
    filename: str | None = None

    def read(self) -> bytes:
        return self.archive.get(self.key, version_id=self.version_id, expected_sha256=self.sha256)

    def chunks(self, chunk_size: int = 65536) -> Iterator[bytes]:
        """The bytes, the last chunk held back until the recorded digest matches.

        A mismatch (or more bytes than ``size``, the announced Content-Length), like any
        archive failure midway, is logged and raised: the response ends short of its length
        instead of serving a wrong file.
        """
        sent = 0
        try:
            for chunk in self.archive.iter_chunks(
                self.key,
                version_id=self.version_id,
                chunk_size=chunk_size,
                expected_sha256=self.sha256,
            ):
                sent += len(chunk)
                if sent > self.size:
                    raise ArchiveIntegrityError(
                        f"{self.key}: longer than the {self.size} bytes it was stored with"
                    )
                yield chunk
        except ArchiveError as e:
            log.error(
                "download of %s%s stopped after %d of %d bytes: %s",
                self.key,
                f" (version {self.version_id})" if self.version_id else "",
                sent,
                self.size,
                e,
            )
            raise

    def headers(self) -> dict[str, str]:
        """What a download of these bytes answers with: its name (Latin-1-safe), the recorded
        digest the client can check, and the length ``chunks()`` delivers."""
        name = self.filename or self.key.rsplit("/", 1)[-1]
        return {
            "Content-Disposition": content_disposition(name),
            "X-Content-SHA256": self.sha256,
            "Content-Length": str(self.size),
        }

    def presigned_url(self, expires: int = PRESIGNED_SECONDS) -> str | None:
        """A URL of this exact version, or None (local store, or no version recorded:
        the latest version of a key need not be the one we recorded)."""
        if self.version_id is None:
            return None
        return self.archive.presigned_url(
            self.key,
            version_id=self.version_id,
            expires=expires,
            filename=self.filename,
            content_type=self.media_type,
        )


def open_recorded(
    archive: ArchiveStore,
    key: str,
    *,
    sha256: str | None,
    version_id: str | None = None,
    media_type: str | None = None,
    filename: str | None = None,
) -> RecordedFile:
    """Look the file up (ObjectNotFound if gone) and check its stored digest against the
    recorded one before anything is sent (ArchiveIntegrityError).

    ``sha256=None`` is for rows written before their digest was recorded: the object's
    own digest is then all there is, and the download says so in the log.
    """
    head = archive.head(key, version_id)
    if head is None:
        raise ObjectNotFound(key if version_id is None else f"{key} (version {version_id})")
    if sha256 is None:
        log.warning("%s: no recorded SHA-256, serving it against its own metadata", key)
        sha256 = head.sha256
    try:
        check_recorded(key, sha256, head.sha256)
    except ArchiveIntegrityError as e:
        log.error("%s not served: %s", key, e)
        raise
    return RecordedFile(
        archive=archive,
        key=key,
        sha256=sha256.lower(),
        size=head.size,
        version_id=version_id,
        media_type=media_type or head.content_type or DEFAULT_MEDIA_TYPE,
        filename=filename,
    )
