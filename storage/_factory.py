"""Pick the archive backend from a URL."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from ._errors import ArchiveConfigError
from ._local import LocalArchive
from ._model import ArchiveStore, RetentionPolicy

__all__ = ["open_archive"]


def open_archive(
    url: str | None,
    data_dir: Path,
    retention: RetentionPolicy = RetentionPolicy(),
    *,
    s3_client: Any = None,
) -> ArchiveStore:
    """``None`` or ``file:///abs/path`` → local files; ``s3://bucket/prefix`` → S3.

    The S3 client comes from boto3's own environment (AWS_ENDPOINT_URL,
    AWS_ACCESS_KEY_ID, AWS_DEFAULT_REGION...) unless ``s3_client`` is given.
    """
    if not url:
        return LocalArchive(Path(data_dir) / "archive", retention)
    parts = urlsplit(url)
    if parts.scheme == "file":
        if parts.netloc not in ("", "localhost") or not parts.path.startswith("/"):
            raise ArchiveConfigError(f"archive URL {url!r}: use file:///absolute/path")
        return LocalArchive(Path(unquote(parts.path)), retention)
    if parts.scheme == "s3":
        if not parts.netloc:
            raise ArchiveConfigError(f"archive URL {url!r}: missing bucket, use s3://bucket/prefix")
        from ._s3 import S3Archive

        return S3Archive(s3_client or _s3_client(), parts.netloc, parts.path.strip("/"), retention)
    raise ArchiveConfigError(f"archive URL {url!r}: expected file:// or s3://")


def _s3_client() -> Any:
    import boto3
    from botocore.config import Config

    return boto3.client(
        "s3",
        config=Config(
            s3={"addressing_style": "path"}, retries={"max_attempts": 5, "mode": "standard"}
        ),
    )
