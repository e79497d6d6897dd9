"""The service configured with RECOUVRE_ARCHIVE=s3://…: start-up check and archived uploads."""
from __future__ import annotations

import io
import os
import subprocess
from pathlib import Path

from tests.conftest import make_tenant, load_fixture

from .storage_helpers import make_bucket

ROOT = Path(__file__).resolve().parents[2]
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def _serve(env, tmp_path):
    return subprocess.run([str(ROOT / ".venv/bin/recouvre"), "serve", "--port", "0"], capture_output=True, text=True,
                          env=env, timeout=120)


def test_serve_refuses_a_bucket_without_object_lock(s3, aws_env, tmp_path):
    bucket = make_bucket(s3, object_lock=False)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RECOUVRE_", "AWS_"))}
    env.update(aws_env, RECOUVRE_DATA_DIR=str(tmp_path), RECOUVRE_ARCHIVE=f"s3://{bucket}/recouvre")
    r = _serve(env, tmp_path)
    assert r.returncode != 0
    assert "RECOUVRE_ARCHIVE" in r.stderr and "Object Lock" in r.stderr


def test_evidence_is_archived_in_s3_with_retention(s3, boto_env, tmp_path):
    from app import create_app
    from bootstrap import build_container
    from settings import Settings
    bucket = make_bucket(s3)
    container = build_container(Settings.from_env({
        "RECOUVRE_DATA_DIR": str(tmp_path), "RECOUVRE_ARCHIVE": f"s3://{bucket}/recouvre",
        "RECOUVRE_RETENTION_MODE": "GOVERNANCE", "RECOUVRE_RETENTION_YEARS": "10"}))
    container.db.upgrade()
    container.archive.check()
    app = create_app(container=container)
    tenant = make_tenant(app, container)
    case = tenant.integrator.post("/v1/cases", json=load_fixture("case-b2b.json")).json
    r = tenant.integrator.post(f"/v1/cases/{case['id']}/evidence", data={
        "kind": "contract", "title": "Devis signé", "file": (io.BytesIO(PDF), "devis.pdf")},
        content_type="multipart/form-data")
    assert r.status_code == 201, r.json
    head = s3.head_object(Bucket=bucket, Key=f"recouvre/{r.json['archive_key']}", ChecksumMode="ENABLED")
    assert head["ObjectLockMode"] == "GOVERNANCE" and head["ObjectLockRetainUntilDate"].year >= 2036
    assert container.archive.get(r.json["archive_key"]) == PDF
