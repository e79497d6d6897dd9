"""How a generation job fails: retried with backoff when LibreOffice or the network hiccups, at
once when the template or a pièce is bad; and a retried job never mixes the files of two runs."""
from __future__ import annotations

import datetime as dt
import io
import shutil

import pytest
from docx import Document
from sqlalchemy import select, update

import documents
from generators import TEMPLATES_DIR
from jobs import execute
from persistence.tables import documents as documents_table
from persistence.tables import jobs


def request(tenant, container, case_id, kind, as_of="2026-04-15"):
    r = tenant.lawyer.post(f"/v1/cases/{case_id}/documents", json={"kind": kind, "as_of": as_of})
    assert r.status_code == 202, r.json
    with container.db.read() as conn:
        return r.json["id"], documents.get_document(conn, tenant.id, r.json["id"])["job_id"]


def job(container, job_id):
    with container.db.read() as conn:
        return conn.execute(select(jobs).where(jobs.c.id == job_id)).mappings().one()


def due_now(container, job_id):
    """Skip the backoff delay, as the clock would."""
    with container.db.write() as conn:
        conn.execute(update(jobs).where(jobs.c.id == job_id).values(
            run_after=dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=1)))


def document(tenant, doc_id):
    return tenant.lawyer.get(f"/v1/documents/{doc_id}").json


@pytest.fixture
def b2b(tenant, b2b_case):
    return tenant.integrator.post("/v1/cases", json=b2b_case).json


def test_a_conversion_timeout_is_retried_with_backoff(tenant, container, b2b, monkeypatch):
    pool = container.pipeline.converter
    doc_id, job_id = request(tenant, container, b2b["id"], "decompte", "2026-03-01")
    monkeypatch.setattr(pool, "timeout", 0.001)
    assert execute(container, job_id)
    queued = job(container, job_id)
    assert queued["status"] == "queued" and queued["attempts"] == 1 and "exceeded" in queued["last_error"]
    assert queued["run_after"].replace(tzinfo=dt.timezone.utc) > dt.datetime.now(dt.timezone.utc)  # backoff
    assert document(tenant, doc_id)["status"] == "pending"
    monkeypatch.setattr(pool, "timeout", 60.0)
    due_now(container, job_id)
    assert execute(container, job_id)
    assert document(tenant, doc_id)["status"] == "ready"
    assert job(container, job_id)["attempts"] == 2


def test_a_transient_failure_that_never_clears_fails_the_document_naming_the_step(tenant, container, b2b,
                                                                                  monkeypatch):
    monkeypatch.setattr(container.pipeline.converter, "timeout", 0.001)
    doc_id, job_id = request(tenant, container, b2b["id"], "decompte", "2026-03-01")
    for _ in range(3):                       # max_attempts of document jobs
        due_now(container, job_id)
        assert execute(container, job_id)
    doc = document(tenant, doc_id)
    assert job(container, job_id)["status"] == "failed"
    assert doc["status"] == "failed" and doc["error"]["step"] == "convert" and "exceeded" in doc["error"]["message"]


def test_a_template_error_fails_at_once(tenant, container, b2b, tmp_path, monkeypatch):
    for f in TEMPLATES_DIR.glob("*.docx"):
        shutil.copy(f, tmp_path / f.name)
    broken = Document(str(tmp_path / "decompte.docx"))
    broken.add_paragraph("{% if creance.commercial %}sans fin")
    broken.save(str(tmp_path / "decompte.docx"))
    monkeypatch.setattr(container.pipeline, "templates_dir", tmp_path)
    doc_id, job_id = request(tenant, container, b2b["id"], "decompte", "2026-03-01")
    assert execute(container, job_id)
    assert job(container, job_id)["status"] == "failed" and job(container, job_id)["attempts"] == 1
    doc = document(tenant, doc_id)
    assert doc["status"] == "failed" and doc["error"]["step"] == "render"


def test_an_unreadable_piece_fails_at_once(tenant, container, b2b):
    r = tenant.integrator.post(f"/v1/cases/{b2b['id']}/evidence", data={
        "kind": "other", "title": "Conditions générales", "file": (io.BytesIO(b"%PDF-1.7 not really"), "cgv.pdf")},
        content_type="multipart/form-data")
    assert r.status_code == 201, r.json
    doc_id, job_id = request(tenant, container, b2b["id"], "dossier_injonction_de_payer")
    assert execute(container, job_id)
    assert job(container, job_id)["attempts"] == 1 and job(container, job_id)["status"] == "failed"
    doc = document(tenant, doc_id)
    assert doc["status"] == "failed" and doc["error"]["step"] == "assemble" and "illisible" in doc["error"]["message"]


def test_a_failed_archive_write_regenerates_every_file_under_new_keys(tenant, container, b2b, monkeypatch):
    """The first run's PDF reached the archive, its ZIP did not: the retry must not ship that PDF
    with a ZIP signed in another run."""
    archive = container.archive
    real_put = archive.put
    first_run: dict[str, str] = {}

    def put(key, data, media, *args, **kw):
        if not first_run.get("zip_failed"):
            if key.endswith(".zip"):
                first_run["zip_failed"] = key
                raise OSError("S3 unavailable")
            first_run.setdefault("pdf", key)
        return real_put(key, data, media, *args, **kw)

    monkeypatch.setattr(archive, "put", put)
    doc_id, job_id = request(tenant, container, b2b["id"], "dossier_injonction_de_payer")
    assert execute(container, job_id)
    assert document(tenant, doc_id)["status"] == "pending" and archive.head(first_run["pdf"]) is not None
    due_now(container, job_id)
    assert execute(container, job_id)
    assert document(tenant, doc_id)["status"] == "ready"
    with container.db.read() as conn:
        row = conn.execute(select(documents_table).where(documents_table.c.id == doc_id)).mappings().one()
    run_dir = row["pdf_key"].rsplit("/", 1)[0]
    assert row["zip_key"].rsplit("/", 1)[0] == run_dir
    assert row["pdf_key"] != first_run["pdf"] and not first_run["pdf"].startswith(run_dir + "/")
    assert archive.head(row["pdf_key"]).sha256 == row["sha256"]
    assert archive.head(row["zip_key"]).sha256 == row["zip_sha256"]


def test_a_crash_after_archiving_reuses_the_archived_run_without_signing_again(tenant, container, b2b, monkeypatch):
    from jobs import _store
    real_save = _store.save_checkpoint
    crashed: list[str] = []

    def save(db, job_id, name, value):
        if name == "artefacts" and not crashed:
            crashed.append(name)
            raise ConnectionError("database went away")
        return real_save(db, job_id, name, value)

    generations = []
    real_generate = container.pipeline.generate
    monkeypatch.setattr(_store, "save_checkpoint", save)
    monkeypatch.setattr(container.pipeline, "generate", lambda *a, **kw: generations.append(1) or real_generate(*a, **kw))
    doc_id, job_id = request(tenant, container, b2b["id"], "mise_en_demeure", "2026-03-01")
    assert execute(container, job_id)
    assert crashed and document(tenant, doc_id)["status"] == "pending"
    due_now(container, job_id)
    assert execute(container, job_id)
    doc = document(tenant, doc_id)
    assert doc["status"] == "ready" and len(generations) == 1
    with container.db.read() as conn:
        row = conn.execute(select(documents_table).where(documents_table.c.id == doc_id)).mappings().one()
    (run,) = [v for k, v in job(container, job_id)["checkpoints"].items() if k.startswith("run:")]
    assert run["files"]["pdf"] == {"key": row["pdf_key"], "sha256": row["sha256"]}
    assert run["files"]["docx"] == {"key": row["docx_key"], "sha256": row["docx_sha256"]}
