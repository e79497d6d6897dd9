"""Write-once archive of signed documents: local files or S3 with Object Lock."""

from ._errors import (
    ArchiveConfigError,
    ArchiveConflict,
    ArchiveError,
    ArchiveIntegrityError,
    InvalidKey,
    ObjectNotFound,
)
from ._disposition import content_disposition
from ._factory import open_archive
from ._local import LocalArchive
from ._model import ArchiveStore, RetentionPolicy, StoredObject, validate_key
from ._recorded import RecordedFile, open_recorded
from ._s3 import S3Archive

__all__ = [
    "ArchiveConfigError",
    "ArchiveConflict",
    "ArchiveError",
    "ArchiveIntegrityError",
    "ArchiveStore",
    "InvalidKey",
    "LocalArchive",
    "ObjectNotFound",
    "RecordedFile",
    "RetentionPolicy",
    "S3Archive",
    "StoredObject",
    "content_disposition",
    "open_archive",
    "open_recorded",
    "validate_key",
]
