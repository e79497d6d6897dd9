"""S3Archive against moto's server over loopback HTTP."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import os
import urllib.request

import pytest
from botocore.exceptions import ClientError

from storage import (
    ArchiveConfigError,
    ArchiveConflict,
    ArchiveIntegrityError,
    InvalidKey,
    ObjectNotFound,
    RetentionPolicy,
    S3Archive,
    open_archive,
)

from .storage_helpers import make_bucket

PDF = b"%PDF-1.7\n" + os.urandom(10_000)


@pytest.fixture
def store(boto_env, locked_bucket, tmp_path) -> S3Archive:
    store = open_archive(f"s3://{locked_bucket}/recouvre/prod", tmp_path)
    store.check()
    return store


def _full_key(store, key):
    return f"{store.prefix}/{key}"


def test_open_archive_builds_a_path_style_client_from_boto_env(store, boto_env):
    assert isinstance(store, S3Archive)
    assert store.bucket.startswith("archives-") and store.prefix == "recouvre/prod"
    assert store.client.meta.endpoint_url == boto_env["AWS_ENDPOINT_URL"]
    assert store.client.meta.config.s3["addressing_style"] == "path"


def test_put_locks_the_version_with_retention_and_checksum(store, s3):
    stored = store.put("D-0042/mise-en-demeure.pdf", PDF, "application/pdf")
    assert stored.url == f"s3://{store.bucket}/recouvre/prod/D-0042/mise-en-demeure.pdf"
    assert stored.version_id
    assert stored.sha256 == hashlib.sha256(PDF).hexdigest()
    head = s3.head_object(
        Bucket=store.bucket,
        Key=_full_key(store, stored.key),
        VersionId=stored.version_id,
        ChecksumMode="ENABLED",
    )
    assert head["ObjectLockMode"] == "COMPLIANCE"
    ten_years = dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=365 * 10)
    assert abs(head["ObjectLockRetainUntilDate"] - ten_years) < dt.timedelta(days=3)
    assert abs(head["ObjectLockRetainUntilDate"] - stored.retain_until) < dt.timedelta(seconds=1)
    assert base64.b64decode(head["ChecksumSHA256"]).hex() == stored.sha256
    assert head["ContentType"] == "application/pdf"
    assert store.head(stored.key) == stored


def test_get_and_stream_by_version(store):
    stored = store.put("a.pdf", PDF, "application/pdf")
    assert store.get("a.pdf") == PDF
    assert store.get("a.pdf", version_id=stored.version_id) == PDF
    assert (
        b"".join(store.iter_chunks("a.pdf", version_id=stored.version_id, chunk_size=4096)) == PDF
    )


def test_write_once(store, s3):
    first = store.put("a.pdf", PDF, "application/pdf")
    assert store.put("a.pdf", PDF, "application/pdf") == first
    with pytest.raises(ArchiveConflict):
        store.put("a.pdf", PDF + b"x", "application/pdf")
    versions = s3.list_object_versions(Bucket=store.bucket, Prefix=_full_key(store, "a.pdf"))[
        "Versions"
    ]
    assert [v["VersionId"] for v in versions] == [first.version_id]


def test_conditional_put_refuses_an_existing_key(store, s3):
    """IfNoneMatch='*' closes the head/put race: moto honours it too."""
    store.put("a.pdf", PDF, "application/pdf")
    with pytest.raises(ClientError) as excinfo:
        s3.put_object(
            Bucket=store.bucket,
            Key=_full_key(store, "a.pdf"),
            Body=b"other",
            IfNoneMatch="*",
            ChecksumAlgorithm="SHA256",
        )
    assert excinfo.value.response["Error"]["Code"] == "PreconditionFailed"


def test_bytes_replaced_behind_our_back_are_detected(store, s3):
    store.put("a.pdf", PDF, "application/pdf")
    s3.put_object(
        Bucket=store.bucket,
        Key=_full_key(store, "a.pdf"),
        Body=b"forged",
        Metadata={"sha256": hashlib.sha256(PDF).hexdigest()},
        ChecksumAlgorithm="SHA256",
    )
    with pytest.raises(ArchiveIntegrityError):
        store.get("a.pdf")
    with pytest.raises(ArchiveIntegrityError):
        b"".join(store.iter_chunks("a.pdf"))


def test_locked_compliance_version_cannot_be_deleted(store, s3):
    stored = store.put("a.pdf", PDF, "application/pdf")
    for bypass in (False, True):
        with pytest.raises(ClientError) as excinfo:
            s3.delete_object(
                Bucket=store.bucket,
                Key=_full_key(store, "a.pdf"),
                VersionId=stored.version_id,
                BypassGovernanceRetention=bypass,
            )
        assert excinfo.value.response["Error"]["Code"] == "AccessDenied"
    assert store.get("a.pdf", version_id=stored.version_id) == PDF


def test_legal_hold_blocks_deletion_until_released(boto_env, locked_bucket, s3, tmp_path):
    store = open_archive(
        f"s3://{locked_bucket}", tmp_path, RetentionPolicy(mode="GOVERNANCE", years=1)
    )
    stored = store.put("hold.pdf", PDF, "application/pdf", legal_hold=True)
    head = s3.head_object(Bucket=locked_bucket, Key="hold.pdf", VersionId=stored.version_id)
    assert head["ObjectLockLegalHoldStatus"] == "ON" and head["ObjectLockMode"] == "GOVERNANCE"
    assert store.head("hold.pdf").legal_hold
    delete = {
        "Bucket": locked_bucket,
        "Key": "hold.pdf",
        "VersionId": stored.version_id,
        "BypassGovernanceRetention": True,
    }
    with pytest.raises(ClientError) as excinfo:
        s3.delete_object(**delete)
    assert excinfo.value.response["Error"]["Code"] == "AccessDenied"

    store.set_legal_hold("hold.pdf", False, version_id=stored.version_id)
    hold = s3.get_object_legal_hold(
        Bucket=locked_bucket, Key="hold.pdf", VersionId=stored.version_id
    )
    assert hold["LegalHold"]["Status"] == "OFF"
    store.set_legal_hold("hold.pdf", True)
    assert (
        s3.get_object_legal_hold(Bucket=locked_bucket, Key="hold.pdf")["LegalHold"]["Status"]
        == "ON"
    )
    store.set_legal_hold("hold.pdf", False)
    s3.delete_object(**delete)  # GOVERNANCE without hold: an administrator may bypass
    assert store.head("hold.pdf") is None


def test_presigned_url_downloads_the_bytes(store):
    stored = store.put("a.pdf", PDF, "application/pdf")
    for version in (None, stored.version_id):
        url = store.presigned_url("a.pdf", version_id=version, expires=60)
        assert "X-Amz-Signature=" in url and "X-Amz-Expires=60" in url
        with urllib.request.urlopen(url, timeout=10) as response:
            assert response.read() == PDF


def test_missing_objects(store):
    assert store.head("nope.pdf") is None and not store.exists("nope.pdf")
    with pytest.raises(ObjectNotFound):
        store.get("nope.pdf")
    with pytest.raises(ObjectNotFound):
        list(store.iter_chunks("nope.pdf"))
    with pytest.raises(ObjectNotFound):
        store.set_legal_hold("nope.pdf", True)
    with pytest.raises(InvalidKey):
        store.put("../escape.pdf", PDF, "application/pdf")


def test_check_refuses_a_bucket_without_object_lock(boto_env, s3, tmp_path):
    plain = make_bucket(s3, object_lock=False)
    with pytest.raises(ArchiveConfigError) as excinfo:
        open_archive(f"s3://{plain}", tmp_path).check()
    assert str(excinfo.value) == (
        f"bucket {plain} has no Object Lock configuration: "
        "create it with ObjectLockEnabledForBucket=True"
    )


def test_check_refuses_a_missing_bucket(boto_env, tmp_path):
    with pytest.raises(ArchiveConfigError, match="does not exist"):
        open_archive("s3://no-such-bucket-here", tmp_path).check()


def test_retry_asking_for_a_legal_hold_applies_it(store, s3):
    stored = store.put("a.pdf", PDF, "application/pdf")
    assert store.put("a.pdf", PDF, "application/pdf", legal_hold=True).legal_hold
    hold = s3.get_object_legal_hold(
        Bucket=store.bucket, Key=_full_key(store, "a.pdf"), VersionId=stored.version_id
    )
    assert hold["LegalHold"]["Status"] == "ON"


def test_forged_server_checksum_is_still_caught(store, s3):
    """moto accepts a wrong ChecksumSHA256 (real S3 would not): the bytes are checked anyway."""
    store.put("a.pdf", PDF, "application/pdf")
    digest = hashlib.sha256(PDF).digest()
    s3.put_object(
        Bucket=store.bucket,
        Key=_full_key(store, "a.pdf"),
        Body=b"forged",
        ChecksumSHA256=base64.b64encode(digest).decode(),
        Metadata={"sha256": digest.hex()},
    )
    assert store.head("a.pdf").sha256 == digest.hex()
    with pytest.raises(ArchiveIntegrityError):
        store.get("a.pdf")
    with pytest.raises(ArchiveIntegrityError):
        b"".join(store.iter_chunks("a.pdf"))


def _forge_new_version(store, s3, key: str, forged: bytes) -> None:
    """A newer version whose own metadata agrees with its forged bytes."""
    s3.put_object(
        Bucket=store.bucket,
        Key=_full_key(store, key),
        Body=forged,
        Metadata={"sha256": hashlib.sha256(forged).hexdigest()},
        ChecksumAlgorithm="SHA256",
    )


def test_reads_check_the_recorded_digest_and_version(store, s3):
    stored = store.put("a.pdf", PDF, "application/pdf")
    _forge_new_version(store, s3, "a.pdf", b"%PDF-forged")
    assert store.get("a.pdf") == b"%PDF-forged"          # the object's own metadata vouches for it
    with pytest.raises(ArchiveIntegrityError, match="recorded"):
        store.get("a.pdf", expected_sha256=stored.sha256)
    with pytest.raises(ArchiveIntegrityError):
        next(store.iter_chunks("a.pdf", expected_sha256=stored.sha256))
    assert store.get("a.pdf", version_id=stored.version_id, expected_sha256=stored.sha256) == PDF
    chunks = store.iter_chunks(
        "a.pdf", version_id=stored.version_id, chunk_size=4096, expected_sha256=stored.sha256
    )
    assert b"".join(chunks) == PDF


def test_the_last_chunk_is_held_back_until_the_digest_matches(store, s3):
    store.put("a.pdf", PDF, "application/pdf")
    forged = PDF[:-1] + bytes([PDF[-1] ^ 0xFF])
    digest = hashlib.sha256(PDF).digest()
    s3.put_object(                                       # metadata and checksum claim the genuine digest
        Bucket=store.bucket,
        Key=_full_key(store, "a.pdf"),
        Body=forged,
        ChecksumSHA256=base64.b64encode(digest).decode(),
        Metadata={"sha256": digest.hex()},
    )
    received = []
    with pytest.raises(ArchiveIntegrityError):
        for chunk in store.iter_chunks("a.pdf", chunk_size=1000):
            received.append(chunk)
    assert 0 < len(b"".join(received)) < len(PDF) and PDF.startswith(b"".join(received))


def test_a_deleted_key_is_never_written_again(store, s3):
    stored = store.put("a.pdf", PDF, "application/pdf")
    marker = s3.delete_object(Bucket=store.bucket, Key=_full_key(store, "a.pdf"))
    assert marker["DeleteMarker"] is True and store.head("a.pdf") is None
    for data in (b"%PDF-other", PDF):
        with pytest.raises(ArchiveConflict, match="archived before"):
            store.put("a.pdf", data, "application/pdf")
    versions = s3.list_object_versions(Bucket=store.bucket, Prefix=_full_key(store, "a.pdf"))
    assert [v["VersionId"] for v in versions["Versions"]] == [stored.version_id]
    assert store.get("a.pdf", version_id=stored.version_id, expected_sha256=stored.sha256) == PDF


def test_a_longer_key_sharing_the_prefix_is_no_history(store):
    store.put("a.pdf.bak", PDF, "application/pdf")
    assert store.put("a.pdf", PDF, "application/pdf").version_id


def test_presigned_url_of_a_version_names_the_file(store, s3):
    stored = store.put("a.pdf", PDF, "application/pdf")
    _forge_new_version(store, s3, "a.pdf", b"%PDF-forged")
    url = store.presigned_url(
        "a.pdf", version_id=stored.version_id, filename="Lettre é.pdf", content_type="application/pdf"
    )
    with urllib.request.urlopen(url, timeout=10) as response:
        assert response.read() == PDF
        assert response.headers["Content-Type"] == "application/pdf"
        assert "filename*=UTF-8''Lettre%20%C3%A9.pdf" in response.headers["Content-Disposition"]


def _calls(store) -> list[str]:
    made: list[str] = []
    store.client.meta.events.register(
        "before-call.s3.*", lambda model, **kw: made.append(model.name), unique_id=f"count-{id(made)}"
    )
    return made


def test_put_asks_once_and_writes_once(store):
    """The delete marker shows in the HEAD's 404 (x-amz-delete-marker): no version listing, and no
    s3:ListBucketVersions permission, to know a key is new."""
    made = _calls(store)
    store.put("new.pdf", PDF, "application/pdf")
    assert made == ["HeadObject", "PutObject"]
    made.clear()
    store.put("new.pdf", PDF, "application/pdf")            # the identical retry
    assert made == ["HeadObject"]


def test_presigned_url_names_a_file_whose_name_is_not_latin_1(store):
    stored = store.put("a.pdf", PDF, "application/pdf")
    url = store.presigned_url("a.pdf", version_id=stored.version_id, filename="ДЕЛО-1 Łódź.pdf")
    with urllib.request.urlopen(url, timeout=10) as response:
        assert response.read() == PDF
        disposition = response.headers["Content-Disposition"]
    assert disposition == (
        "attachment; filename=\"____-1 _odz.pdf\"; "
        "filename*=UTF-8''%D0%94%D0%95%D0%9B%D0%9E-1%20%C5%81%C3%B3d%C5%BA.pdf"
    )
