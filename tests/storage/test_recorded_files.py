"""open_recorded: an archived file served against the digest and version our records hold."""

from __future__ import annotations

import hashlib
import logging
import os
import urllib.request

import pytest

from storage import ArchiveIntegrityError, ObjectNotFound, open_archive, open_recorded

PDF = b"%PDF-1.7\n" + os.urandom(200_000)
DIGEST = hashlib.sha256(PDF).hexdigest()


@pytest.fixture
def local(tmp_path):
    return open_archive(None, tmp_path)


@pytest.fixture
def s3_store(boto_env, locked_bucket, tmp_path):
    return open_archive(f"s3://{locked_bucket}/recouvre", tmp_path)


def test_a_local_file_streams_whole_with_its_recorded_digest(local):
    local.put("d/a.pdf", PDF, "application/pdf")
    file = open_recorded(local, "d/a.pdf", sha256=DIGEST, filename="a.pdf")
    assert (file.size, file.media_type, file.sha256) == (len(PDF), "application/pdf", DIGEST)
    chunks = list(file.chunks(chunk_size=65536))
    assert len(chunks) == 4 and b"".join(chunks) == PDF
    assert file.read() == PDF
    assert file.presigned_url() is None                  # nothing to redirect to: stream it


def test_a_stored_digest_other_than_the_recorded_one_is_refused_before_any_byte(local, caplog):
    local.put("d/a.pdf", b"%PDF-something else", "application/pdf")
    with caplog.at_level(logging.ERROR, logger="recouvre.storage"):
        with pytest.raises(ArchiveIntegrityError):
            open_recorded(local, "d/a.pdf", sha256=DIGEST)
    assert any("not served" in r.getMessage() for r in caplog.records)
    with pytest.raises(ObjectNotFound):
        open_recorded(local, "d/missing.pdf", sha256=DIGEST)


def test_tampered_bytes_stop_the_stream_short_and_are_logged(local, caplog):
    local.put("d/a.pdf", PDF, "application/pdf")
    path = local.root / "d" / "a.pdf"
    os.chmod(path, 0o644)
    path.write_bytes(PDF[:-1] + b"X")                     # same size, sidecar untouched
    file = open_recorded(local, "d/a.pdf", sha256=DIGEST)
    received = []
    with caplog.at_level(logging.ERROR, logger="recouvre.storage"):
        with pytest.raises(ArchiveIntegrityError):
            for chunk in file.chunks():
                received.append(chunk)
    assert sum(map(len, received)) < file.size
    assert [r.getMessage() for r in caplog.records if "stopped after" in r.getMessage()]


def test_an_s3_file_is_pinned_to_its_recorded_version(s3_store, s3):
    stored = s3_store.put("d/a.pdf", PDF, "application/pdf")
    forged = b"%PDF-forged"
    s3.put_object(Bucket=s3_store.bucket, Key="recouvre/d/a.pdf", Body=forged, ChecksumAlgorithm="SHA256",
                  Metadata={"sha256": hashlib.sha256(forged).hexdigest()})
    with pytest.raises(ArchiveIntegrityError):           # the latest version is not the recorded one
        open_recorded(s3_store, "d/a.pdf", sha256=DIGEST)
    file = open_recorded(s3_store, "d/a.pdf", sha256=DIGEST, version_id=stored.version_id,
                         media_type="application/pdf", filename="mise-en-demeure.pdf")
    assert b"".join(file.chunks()) == PDF
    url = file.presigned_url(expires=60)
    assert f"versionId={stored.version_id}" in url and "X-Amz-Expires=60" in url
    with urllib.request.urlopen(url, timeout=10) as response:
        assert response.read() == PDF
        assert 'filename="mise-en-demeure.pdf"' in response.headers["Content-Disposition"]


def test_no_presigned_url_without_a_recorded_version(s3_store):
    s3_store.put("d/a.pdf", PDF, "application/pdf")
    assert open_recorded(s3_store, "d/a.pdf", sha256=DIGEST).presigned_url() is None


def test_headers_name_the_file_in_ascii_and_in_utf_8(local):
    """Header values are Latin-1 at most: a Cyrillic or Polish reference still downloads, under
    an ASCII fallback and its exact UTF-8 name."""
    from storage import content_disposition
    local.put("d/a.pdf", PDF, "application/pdf")
    file = open_recorded(local, "d/a.pdf", sha256=DIGEST, filename="ДЕЛО-7 Łódź \"x\".pdf")
    headers = file.headers()
    assert headers == {
        "Content-Disposition": "attachment; filename=\"____-7 _odz _x_.pdf\"; "
                               "filename*=UTF-8''%D0%94%D0%95%D0%9B%D0%9E-7%20%C5%81%C3%B3d%C5%BA%20%22x%22.pdf",
        "X-Content-SHA256": DIGEST,
        "Content-Length": str(len(PDF)),
    }
    assert all(value.encode("latin-1") for value in headers.values())
    assert content_disposition("Relevé\r\n.pdf") == \
        "attachment; filename=\"Releve__.pdf\"; filename*=UTF-8''Relev%C3%A9%0D%0A.pdf"
