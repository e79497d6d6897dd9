"""S3 archive with Object Lock: retention and legal holds protect each version.

We compute and compare SHA-256 digests ourselves: S3-compatible servers (and
moto) do not all verify the checksums they are sent.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import hashlib
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError, FlexibleChecksumError

from ._disposition import content_disposition
from ._errors import (
    ArchiveConfigError,
    ArchiveConflict,
    ArchiveError,
    ArchiveIntegrityError,
    ObjectNotFound,
)
from ._model import (
    ArchiveStore,
    RetentionPolicy,
    StoredObject,
    check_digest,
    check_recorded,
    held_back,
    validate_key,
)

__all__ = ["S3Archive"]

_NOT_FOUND = {"404", "NoSuchKey", "NoSuchVersion", "NotFound"}
_SHA256_META = "sha256"


class S3Archive(ArchiveStore):
    def __init__(
        self,
        client: Any,
        bucket: str,
        prefix: str = "",
        retention: RetentionPolicy = RetentionPolicy(),
    ) -> None:
        self.client = client
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.retention = retention

    def __repr__(self) -> str:
        return f"S3Archive({self.bucket!r}, prefix={self.prefix!r})"

    def check(self) -> None:
        try:
            self.client.head_bucket(Bucket=self.bucket)
        except ClientError as e:
            if _code(e) in _NOT_FOUND | {"NoSuchBucket"}:
                raise ArchiveConfigError(f"bucket {self.bucket} does not exist") from e
            raise ArchiveConfigError(f"bucket {self.bucket} is not accessible: {_code(e)}") from e
        except BotoCoreError as e:
            raise ArchiveConfigError(
                f"S3 endpoint unreachable for bucket {self.bucket}: {e}"
            ) from e
        try:
            config = self.client.get_object_lock_configuration(Bucket=self.bucket)
            enabled = config["ObjectLockConfiguration"].get("ObjectLockEnabled") == "Enabled"
        except ClientError as e:
            if _code(e) != "ObjectLockConfigurationNotFoundError":
                raise ArchiveConfigError(
                    f"cannot read the Object Lock configuration of bucket {self.bucket}: {_code(e)}"
                ) from e
            enabled = False
        if not enabled:
            raise ArchiveConfigError(
                f"bucket {self.bucket} has no Object Lock configuration: "
                "create it with ObjectLockEnabledForBucket=True"
            )

    def put(
        self, key: str, data: bytes, content_type: str, legal_hold: bool = False
    ) -> StoredObject:
        full_key = self._full_key(key)
        raw_digest = hashlib.sha256(data).digest()
        digest = raw_digest.hex()
        existing = self._head(key, None, deleted_is_conflict=True)
        if existing is not None:
            return self._same_or_conflict(key, existing, digest, legal_hold)
        retain_until = self.retention.retain_until()
        params: dict[str, Any] = {
            "Bucket": self.bucket,
            "Key": full_key,
            "Body": data,
            "ContentType": content_type,
            "ChecksumAlgorithm": "SHA256",
            "ChecksumSHA256": base64.b64encode(raw_digest).decode("ascii"),
            "Metadata": {_SHA256_META: digest},
            "ObjectLockMode": self.retention.mode,
            "ObjectLockRetainUntilDate": retain_until,
            "IfNoneMatch": "*",  # closes the race between head_object and put_object
        }
        if legal_hold:
            params["ObjectLockLegalHoldStatus"] = "ON"
        try:
            response = self.client.put_object(**params)
        except ClientError as e:
            if _code(e) in ("PreconditionFailed", "ConditionalRequestConflict"):
                existing = self._head(key, None, deleted_is_conflict=True)
                if existing is not None:
                    return self._same_or_conflict(key, existing, digest, legal_hold)
            raise ArchiveError(f"cannot archive {key} in bucket {self.bucket}: {_code(e)}") from e
        echoed = response.get("ChecksumSHA256")
        if echoed is not None:
            check_digest(key, digest, _b64_to_hex(echoed))
        return StoredObject(
            key=key,
            sha256=digest,
            size=len(data),
            version_id=response.get("VersionId"),
            retain_until=retain_until,
            url=self._url(full_key),
            content_type=content_type,
            legal_hold=legal_hold,
        )

    def get(
        self, key: str, version_id: str | None = None, expected_sha256: str | None = None
    ) -> bytes:
        response = self._get_object(key, version_id)
        body = response["Body"]
        try:
            own = self._expected_digest(key, response)
            check_recorded(key, expected_sha256, own)
            with _reading(key):
                data = body.read()
        finally:
            body.close()
        actual = hashlib.sha256(data).hexdigest()
        check_recorded(key, expected_sha256, actual)
        check_digest(key, own, actual)
        return data

    def iter_chunks(
        self,
        key: str,
        version_id: str | None = None,
        chunk_size: int = 65536,
        expected_sha256: str | None = None,
    ) -> Iterator[bytes]:
        response = self._get_object(key, version_id)
        body = response["Body"]
        try:
            own = self._expected_digest(key, response)
            check_recorded(key, expected_sha256, own)

            def read() -> Iterator[bytes]:
                with _reading(key):
                    yield from body.iter_chunks(chunk_size)

            yield from held_back(key, read(), own, expected_sha256)
        finally:
            body.close()

    def head(self, key: str, version_id: str | None = None) -> StoredObject | None:
        return self._head(key, version_id, deleted_is_conflict=False)

    def _head(
        self, key: str, version_id: str | None, *, deleted_is_conflict: bool
    ) -> StoredObject | None:
        """``deleted_is_conflict``: a key whose current version is a delete marker raises
        ArchiveConflict. A plain delete_object only hides the locked version behind the marker,
        and IfNoneMatch would let a new version in under it; S3 answers the HEAD of such a key
        404 with ``x-amz-delete-marker: true``, so put needs no version listing."""
        try:
            response = self.client.head_object(
                Bucket=self.bucket,
                Key=self._full_key(key),
                ChecksumMode="ENABLED",
                **_version(version_id),
            )
        except ClientError as e:
            if _code(e) in _NOT_FOUND:
                if deleted_is_conflict and _is_delete_marker(e):
                    raise ArchiveConflict(
                        f"{key} was archived before (its current version is a delete marker): "
                        "write-once keys are never reused"
                    ) from None
                return None
            raise ArchiveError(f"cannot read {key} from bucket {self.bucket}: {_code(e)}") from e
        return StoredObject(
            key=key,
            sha256=self._expected_digest(key, response),
            size=int(response["ContentLength"]),
            version_id=response.get("VersionId"),
            retain_until=_utc(response.get("ObjectLockRetainUntilDate")),
            url=self._url(self._full_key(key)),
            content_type=response.get("ContentType"),
            legal_hold=response.get("ObjectLockLegalHoldStatus") == "ON",
        )

    def presigned_url(
        self,
        key: str,
        version_id: str | None = None,
        expires: int = 300,
        *,
        filename: str | None = None,
        content_type: str | None = None,
    ) -> str | None:
        params = {"Bucket": self.bucket, "Key": self._full_key(key), **_version(version_id)}
        if filename:
            params["ResponseContentDisposition"] = content_disposition(filename)
        if content_type:
            params["ResponseContentType"] = content_type
        return self.client.generate_presigned_url("get_object", Params=params, ExpiresIn=expires)

    def set_legal_hold(self, key: str, on: bool, version_id: str | None = None) -> None:
        if self.head(key, version_id) is None:  # moto answers HTTP 500, not NoSuchKey
            raise ObjectNotFound(key if version_id is None else f"{key} (version {version_id})")
        try:
            self.client.put_object_legal_hold(
                Bucket=self.bucket,
                Key=self._full_key(key),
                LegalHold={"Status": "ON" if on else "OFF"},
                ChecksumAlgorithm="SHA256",
                **_version(version_id),
            )
        except ClientError as e:
            if _code(e) in _NOT_FOUND:
                raise ObjectNotFound(key) from e
            raise ArchiveError(f"cannot set legal hold on {key}: {_code(e)}") from e

    def _get_object(self, key: str, version_id: str | None) -> dict:
        try:
            return self.client.get_object(
                Bucket=self.bucket,
                Key=self._full_key(key),
                ChecksumMode="ENABLED",
                **_version(version_id),
            )
        except ClientError as e:
            if _code(e) in _NOT_FOUND:
                raise ObjectNotFound(
                    key if version_id is None else f"{key} (version {version_id})"
                ) from e
            raise ArchiveError(f"cannot read {key} from bucket {self.bucket}: {_code(e)}") from e
        except BotoCoreError as e:
            raise ArchiveError(f"cannot read {key} from bucket {self.bucket}: {e}") from e

    def _expected_digest(self, key: str, response: dict) -> str:
        """Our metadata digest, cross-checked with the server's ChecksumSHA256 when present."""
        recorded = (response.get("Metadata") or {}).get(_SHA256_META)
        server = response.get("ChecksumSHA256")
        server_hex = _b64_to_hex(server) if server and "-" not in server else None
        if recorded and server_hex and recorded != server_hex:
            raise ArchiveIntegrityError(
                f"{key}: recorded SHA-256 {recorded} differs from the server's {server_hex}"
            )
        digest = recorded or server_hex
        if not digest:
            raise ArchiveIntegrityError(f"{key}: no SHA-256 recorded for this object")
        return digest

    def _same_or_conflict(
        self, key: str, existing: StoredObject, digest: str, legal_hold: bool
    ) -> StoredObject:
        if existing.sha256 != digest:
            raise ArchiveConflict(f"{key} is already archived with different content")
        if legal_hold and not existing.legal_hold:  # a retry must reach the requested state
            self.set_legal_hold(key, True, version_id=existing.version_id)
            return replace(existing, legal_hold=True)
        return existing

    def _full_key(self, key: str) -> str:
        validate_key(key)
        return f"{self.prefix}/{key}" if self.prefix else key

    def _url(self, full_key: str) -> str:
        return f"s3://{self.bucket}/{full_key}"


@contextlib.contextmanager
def _reading(key: str) -> Iterator[None]:
    """botocore checks the server's checksum while streaming: same meaning as ours."""
    try:
        yield
    except FlexibleChecksumError as e:
        raise ArchiveIntegrityError(f"{key}: {e}") from e
    except (BotoCoreError, OSError) as e:
        raise ArchiveError(f"{key}: download interrupted: {e}") from e


def _is_delete_marker(error: ClientError) -> bool:
    headers = error.response.get("ResponseMetadata", {}).get("HTTPHeaders", {})
    return str(headers.get("x-amz-delete-marker", "")).lower() == "true"


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def _version(version_id: str | None) -> dict[str, str]:
    return {"VersionId": version_id} if version_id else {}


def _b64_to_hex(value: str) -> str:
    return base64.b64decode(value).hex()


def _utc(value: dt.datetime | None) -> dt.datetime | None:
    return value.astimezone(dt.timezone.utc) if value is not None else None
