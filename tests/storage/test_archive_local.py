"""LocalArchive: write-once, atomic, verified, with safe keys."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import stat
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from storage import (
    ArchiveConfigError,
    ArchiveConflict,
    ArchiveIntegrityError,
    InvalidKey,
    LocalArchive,
    ObjectNotFound,
    RetentionPolicy,
    open_archive,
    validate_key,
)

from .storage_helpers import forge_local

PDF = b"%PDF-1.7\n" + os.urandom(4096)


@pytest.fixture
def store(tmp_path) -> LocalArchive:
    store = open_archive(None, tmp_path)
    store.check()
    return store


def _files(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def test_default_location_and_file_url(tmp_path):
    assert open_archive(None, tmp_path).root == tmp_path / "archive"
    assert open_archive(f"file://{tmp_path}/elsewhere", tmp_path).root == tmp_path / "elsewhere"
    for bad in ("file://relative/path", "ftp://host/x", "s3://"):
        with pytest.raises(ArchiveConfigError):
            open_archive(bad, tmp_path)


def test_put_then_get(store):
    stored = store.put("dossiers/D-2026-0042/mise-en-demeure.pdf", PDF, "application/pdf")
    assert stored.sha256 == hashlib.sha256(PDF).hexdigest()
    assert stored.size == len(PDF) and stored.version_id is None
    assert stored.url.startswith("file:///") and stored.url.endswith("/mise-en-demeure.pdf")
    assert stored.content_type == "application/pdf"
    assert store.get(stored.key) == PDF
    assert b"".join(store.iter_chunks(stored.key, chunk_size=1000)) == PDF
    assert store.exists(stored.key) and store.head(stored.key) == stored
    assert store.presigned_url(stored.key) is None


def test_retain_until_follows_the_policy(tmp_path):
    store = open_archive(None, tmp_path, RetentionPolicy(mode="GOVERNANCE", years=6))
    stored = store.put("a.pdf", PDF, "application/pdf")
    expected = dt.datetime.now(dt.timezone.utc).replace(year=dt.datetime.now().year + 6)
    assert stored.retain_until.tzinfo is not None
    assert abs(stored.retain_until - expected) < dt.timedelta(minutes=1)


def test_identical_retry_is_idempotent(store):
    first = store.put("a/b.pdf", PDF, "application/pdf")
    path = store.root / "a" / "b.pdf"
    mtime = path.stat().st_mtime_ns
    assert store.put("a/b.pdf", PDF, "application/pdf") == first
    assert path.stat().st_mtime_ns == mtime


def test_different_bytes_are_refused(store):
    store.put("a/b.pdf", PDF, "application/pdf")
    with pytest.raises(ArchiveConflict):
        store.put("a/b.pdf", PDF + b"x", "application/pdf")
    assert store.get("a/b.pdf") == PDF


def test_files_are_read_only(store):
    store.put("a/b.pdf", PDF, "application/pdf")
    for name in _files(store.root):
        if name != ".lock":
            assert stat.S_IMODE((store.root / name).stat().st_mode) == 0o444, name


def test_failed_write_leaves_no_trace(store, monkeypatch):
    real_fsync = os.fsync
    calls = {"n": 0}

    def failing_fsync(fd):
        calls["n"] += 1
        if calls["n"] == 3:  # sidecar file, sidecar dir, then the data file
            raise OSError(28, "No space left on device")
        return real_fsync(fd)

    monkeypatch.setattr(os, "fsync", failing_fsync)
    with pytest.raises(OSError, match="No space"):
        store.put("a/b.pdf", PDF, "application/pdf")
    monkeypatch.setattr(os, "fsync", real_fsync)
    assert _files(store.root) == [".lock"]
    assert not store.exists("a/b.pdf")
    assert store.put("a/b.pdf", PDF, "application/pdf").size == len(PDF)


def test_corruption_behind_the_stores_back_is_detected(store):
    store.put("a/b.pdf", PDF, "application/pdf")
    path = store.root / "a" / "b.pdf"
    os.chmod(path, 0o644)
    data = bytearray(path.read_bytes())
    data[100] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(ArchiveIntegrityError):
        store.get("a/b.pdf")
    with pytest.raises(ArchiveIntegrityError):
        b"".join(store.iter_chunks("a/b.pdf"))
    with pytest.raises(ArchiveConflict):  # a retry never "repairs" by overwriting
        store.put("a/b.pdf", bytes(data), "application/pdf")


def test_missing_sidecar_is_an_integrity_error(store):
    store.put("a/b.pdf", PDF, "application/pdf")
    (store.root / "a" / ".b.pdf.meta.json").unlink()
    with pytest.raises(ArchiveIntegrityError):
        store.get("a/b.pdf")


def test_missing_objects(store):
    assert store.head("nope.pdf") is None and not store.exists("nope.pdf")
    with pytest.raises(ObjectNotFound):
        store.get("nope.pdf")
    store.put("a.pdf", PDF, "application/pdf")
    with pytest.raises(ObjectNotFound):
        store.get("a.pdf", version_id="v1")


def test_legal_hold_is_recorded(store):
    assert store.put("a.pdf", PDF, "application/pdf", legal_hold=True).legal_hold
    store.set_legal_hold("a.pdf", False)
    assert not store.head("a.pdf").legal_hold
    assert store.get("a.pdf") == PDF


@pytest.mark.parametrize(
    "key",
    [
        "",
        "/etc/passwd",
        "../x",
        "a/../../x",
        "a/./b",
        "a//b",
        "a/",
        ".hidden",
        "a/.meta",
        "espace .pdf",
        "é.pdf",
        "a\\b",
        "a\x00b",
        "x" * 600,
    ],
)
def test_unsafe_keys_are_refused(store, key):
    with pytest.raises(InvalidKey):
        store.put(key, PDF, "application/pdf")
    with pytest.raises(ValueError):
        store.get(key)


@given(st.text(alphabet="abc./-_\\\x00é", max_size=20))
def test_accepted_keys_stay_inside_the_root(key):
    try:
        validate_key(key)
    except InvalidKey:
        return
    root = Path("/archive")
    resolved = Path(os.path.normpath(root.joinpath(*key.split("/"))))
    assert resolved.is_relative_to(root) and resolved != root
    assert not any(segment.startswith(".") for segment in key.split("/"))


def test_check_refuses_an_unwritable_directory(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(ArchiveConfigError, match="not writable"):
        LocalArchive(blocker / "archive").check()


@pytest.mark.parametrize(
    ("env", "variable"),
    [
        ({"RECOUVRE_RETENTION_MODE": "forever"}, "RECOUVRE_RETENTION_MODE"),
        ({"RECOUVRE_RETENTION_YEARS": "ten"}, "RECOUVRE_RETENTION_YEARS"),
        ({"RECOUVRE_RETENTION_YEARS": "0"}, "RECOUVRE_RETENTION_YEARS"),
        ({"RECOUVRE_RETENTION_YEARS": "-3"}, "RECOUVRE_RETENTION_YEARS"),
    ],
)
def test_retention_policy_errors_name_the_variable(env, variable):
    with pytest.raises(ArchiveConfigError, match=variable):
        RetentionPolicy.from_env(env)


def test_retention_policy_defaults_and_leap_day():
    assert RetentionPolicy.from_env({}) == RetentionPolicy("COMPLIANCE", 10)
    assert RetentionPolicy.from_env(
        {"RECOUVRE_RETENTION_MODE": "governance", "RECOUVRE_RETENTION_YEARS": "3"}
    ) == (RetentionPolicy("GOVERNANCE", 3))
    leap = dt.datetime(2028, 2, 29, 12, tzinfo=dt.timezone.utc)
    assert RetentionPolicy(years=1).retain_until(leap) == dt.datetime(
        2029, 2, 28, 12, tzinfo=dt.timezone.utc
    )


def test_retry_asking_for_a_legal_hold_applies_it(store):
    store.put("a.pdf", PDF, "application/pdf")
    assert store.put("a.pdf", PDF, "application/pdf", legal_hold=True).legal_hold
    assert store.head("a.pdf").legal_hold


def test_keys_cannot_be_both_file_and_folder(store):
    store.put("a/b.pdf", PDF, "application/pdf")
    with pytest.raises(ArchiveConflict):
        store.put("a", PDF, "application/pdf")
    with pytest.raises(ArchiveConflict):
        store.put("a/b.pdf/c.pdf", PDF, "application/pdf")
    assert _files(store.root) == [".lock", "a/.b.pdf.meta.json", "a/b.pdf"]


def test_public_api_is_curated():
    import storage

    assert {
        "ArchiveStore",
        "StoredObject",
        "open_archive",
        "ArchiveConflict",
        "ArchiveIntegrityError",
        "ArchiveConfigError",
        "ObjectNotFound",
        "RetentionPolicy",
    } <= set(storage.__all__)


def test_reads_check_the_digest_the_caller_recorded(store):
    recorded = store.put("a/b.pdf", PDF, "application/pdf").sha256
    assert store.get("a/b.pdf", expected_sha256=recorded) == PDF
    assert b"".join(store.iter_chunks("a/b.pdf", expected_sha256=recorded)) == PDF
    forge_local(store.root, "a/b.pdf", b"%PDF-forged", fix_sidecar=True)
    assert store.get("a/b.pdf") == b"%PDF-forged"       # the sidecar alone vouches for anything
    with pytest.raises(ArchiveIntegrityError, match="recorded"):
        store.get("a/b.pdf", expected_sha256=recorded)
    chunks = store.iter_chunks("a/b.pdf", expected_sha256=recorded)
    with pytest.raises(ArchiveIntegrityError):
        next(chunks)                                    # refused before the first byte


def test_the_last_chunk_is_held_back_until_the_digest_matches(store):
    recorded = store.put("a/b.pdf", PDF, "application/pdf").sha256
    data = bytearray(PDF)
    data[-1] ^= 0xFF                                    # the sidecar still claims the old digest
    forge_local(store.root, "a/b.pdf", bytes(data), fix_sidecar=False)
    received = []
    with pytest.raises(ArchiveIntegrityError):
        for chunk in store.iter_chunks("a/b.pdf", chunk_size=1000, expected_sha256=recorded):
            received.append(chunk)
    assert 0 < len(b"".join(received)) < len(PDF)
    assert PDF.startswith(b"".join(received))           # the wrong last byte was never handed out


def test_a_key_whose_file_was_deleted_keeps_its_bytes(store):
    store.put("a/b.pdf", PDF, "application/pdf")
    (store.root / "a" / "b.pdf").unlink()
    assert store.head("a/b.pdf") is None
    with pytest.raises(ArchiveConflict, match="archived before"):
        store.put("a/b.pdf", b"%PDF-other", "application/pdf")
    restored = store.put("a/b.pdf", PDF, "application/pdf")   # an interrupted write may complete
    assert restored.sha256 == hashlib.sha256(PDF).hexdigest()
    assert store.get("a/b.pdf", expected_sha256=restored.sha256) == PDF
