"""Document pipeline throughput: 200 mises en demeure generated, signed and archived by two workers.

Set-up as in a PostgreSQL deployment: a fresh schema of the PostgreSQL test database, Redis
as the Celery broker, and `recouvre worker --concurrency 2` (Celery prefork: two worker
processes, each with its own LibreOffice converter and signer) as a subprocess.

The bench process creates the cases through the service layer (not timed), warms the workers
with a few documents requested one at a time (their request → ready times are the unloaded
latency), then requests the 200 documents at once (`request_document`, which enqueues a
`document.generate` job per document) and waits until every one is `ready`.

Reported: documents per second (200 / time from the first request to the last `ready`), and
the per-document latency request → ready (median, p90, max) from the documents' own
timestamps; in a burst this latency is mostly time spent waiting in the queue.

Run ``python -m bench.bench_pipeline``.
"""
from __future__ import annotations

import datetime as dt
import json
import os
import statistics
import tempfile
import time
import uuid
from pathlib import Path
from urllib.parse import urlparse, urlunparse

from bench._support import (
    FIXTURES,
    REDIS_URL,
    admin_connection,
    descendants,
    machine,
    machine_busy_seconds,
    percentile,
    pg_backend_pids,
    pg_schema,
    proc_table,
    run_cli,
    service_env,
    start_process,
    stop_process,
    tail,
)

__all__ = ["run"]

DOCUMENTS = 200
CONCURRENCY = 2
WARMUP_DOCUMENTS = 6
APP_NAME = "recouvre-bench-pipeline"
TIMEOUT_S = 900
# A Redis database of its own (the test suite uses /15), so no other Celery worker takes our jobs.
BROKER_DB = 13


def _broker_url() -> str:
    parsed = urlparse(REDIS_URL)
    return urlunparse(parsed._replace(path=f"/{BROKER_DB}"))


def _case(reference: str) -> dict:
    case = json.loads((FIXTURES / "case-b2b.json").read_text())
    case["reference"] = reference
    return case


def _wait_ready(container, doc_ids: list[str], timeout: float, worker, log_path: Path) -> list[dict]:
    from sqlalchemy import select

    from persistence.tables import documents
    deadline = time.monotonic() + timeout
    while True:
        with container.db.read() as conn:
            rows = conn.execute(select(documents.c.id, documents.c.status, documents.c.created_at,
                                       documents.c.updated_at, documents.c.error)
                                .where(documents.c.id.in_(doc_ids))).mappings().all()
        pending = [r for r in rows if r["status"] == "pending"]
        if not pending and len(rows) == len(doc_ids):
            return [dict(r) for r in rows]
        if worker.poll() is not None:
            raise RuntimeError(f"worker exited ({worker.returncode}): {tail(log_path)}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"{len(pending)} of {len(doc_ids)} documents still pending after {timeout:.0f} s: "
                               f"{tail(log_path)}")
        time.sleep(0.1)


def _cpu(worker_pid: int, admin) -> dict[str, float]:
    """CPU seconds so far of the worker processes (with their LibreOffice converters), of our
    PostgreSQL backends, of this process, and of the whole machine."""
    table = proc_table()
    pg = pg_backend_pids(admin, APP_NAME)
    own = os.times()
    return {"workers": sum(table[p][3] for p in descendants(table, worker_pid) if p in table),
            "postgres": sum(row[3] for pid, row in table.items() if pid in pg),
            "bench": own.user + own.system,
            "machine": machine_busy_seconds()}


def _request(container, tenant_id: str, case_ids: list[str], actor: str) -> list[str]:
    from documents.service import request_document
    ids = []
    for case_id in case_ids:
        with container.db.write() as conn:   # one transaction each, as one API call would
            ids.append(request_document(conn, container, tenant_id, actor, case_id, "mise_en_demeure")["id"])
    return ids


def _latencies_ms(rows: list[dict]) -> list[float]:
    return [(r["updated_at"] - r["created_at"]).total_seconds() * 1000 for r in rows]


def run(documents: int = DOCUMENTS, concurrency: int = CONCURRENCY) -> dict:
    from accounts import get_or_create_tenant
    from bootstrap import build_container
    from casefiles import services
    from settings import Settings
    from signing import dev_certificate

    started = time.perf_counter()
    broker = _broker_url()
    result: dict = {"documents": documents, "kind": "mise_en_demeure (fixture case-b2b, 2 invoices)",
                    "workers": f"recouvre worker --concurrency {concurrency} (Celery prefork, Redis broker)",
                    "database": "PostgreSQL (fresh schema)", "archive": "local write-once files",
                    "signature": "PAdES B-B, RSA-3072 development certificate", **machine()}
    with tempfile.TemporaryDirectory(prefix="recouvre-bench-pipeline-") as tmp, pg_schema("bench_pipe") as db_url, \
            admin_connection() as admin:
        tmp_path = Path(tmp)
        db_url = f"{db_url}&application_name={APP_NAME}"
        data_dir = tmp_path / "data"
        env = service_env(data_dir, db_url, broker, RECOUVRE_LOG_LEVEL="WARNING")
        run_cli(["db", "upgrade"], env)
        dev_certificate(data_dir)   # generated once here rather than inside the first job
        container = build_container(Settings.from_env(env))
        log_path = tmp_path / "worker.log"
        worker = None
        try:
            with container.db.write() as conn:
                tenant_id = get_or_create_tenant(conn, "bench-pipeline")
            actor = "key:bench"
            tag = uuid.uuid4().hex[:6]
            case_ids = []
            for n in range(WARMUP_DOCUMENTS + documents):
                with container.db.write() as conn:
                    case_ids.append(services.create_case(conn, tenant_id, actor, _case(f"PIPE-{tag}-{n:04d}"))["id"])
            worker = start_process(["worker", "--concurrency", str(concurrency)], env, log_path)
            run_cli(["jobs", "ping"], env, timeout=120)   # returns once a worker process ran a job
            # Warm-up, `concurrency` documents at a time so that every worker process starts its
            # converter and loads the key; the rounds after the first give the unloaded latency.
            warm_ms = []
            for i in range(0, WARMUP_DOCUMENTS, concurrency):
                ids = _request(container, tenant_id, case_ids[i:i + concurrency], actor)
                ms = _latencies_ms(_wait_ready(container, ids, 180, worker, log_path))
                if i == 0:
                    cold_ms = ms
                else:
                    warm_ms += ms
            # The burst.
            cpu0 = _cpu(worker.pid, admin)
            t0 = time.perf_counter()
            first_request = dt.datetime.now(dt.timezone.utc)
            doc_ids = _request(container, tenant_id, case_ids[WARMUP_DOCUMENTS:], actor)
            request_s = time.perf_counter() - t0
            rows = _wait_ready(container, doc_ids, TIMEOUT_S, worker, log_path)
            wall = time.perf_counter() - t0
            cpu1 = _cpu(worker.pid, admin)
        finally:
            if worker is not None:
                stop_process(worker, timeout=60)
            container.close()
    failed = [r for r in rows if r["status"] != "ready"]
    ready = [r for r in rows if r["status"] == "ready"]
    last_ready = max(r["updated_at"] for r in ready) if ready else first_request
    span = (last_ready - first_request).total_seconds()
    lat = _latencies_ms(ready)
    result.update({
        "ready": len(ready),
        "failed": len(failed),
        "errors": [r["error"] for r in failed[:3]],
        "docs_per_s": round(len(ready) / span, 2) if span > 0 else None,
        "seconds": round(span, 2),
        "wall_seconds_until_seen_ready": round(wall, 2),
        "request_seconds": round(request_s, 2),
        "latency_ms": {"median": round(statistics.median(lat), 1), "p90": round(percentile(lat, 90), 1),
                       "max": round(max(lat), 1)} if lat else None,
        "unloaded_latency_ms": {"median": round(statistics.median(warm_ms), 1), "samples": len(warm_ms)}
        if warm_ms else None,
        "first_document_ms": round(max(cold_ms), 1),
        "cpu_s_per_doc": {k: round((cpu1[k] - cpu0[k]) / max(1, len(ready)), 3)
                          for k in ("workers", "postgres", "bench")},
        "cores_busy": round(sum(cpu1[k] - cpu0[k] for k in ("workers", "postgres", "bench")) / wall, 2),
        # CPU used meanwhile by everything else on the machine (Redis included): other jobs skew the figure
        "other_cores_busy": round(max(0.0, (cpu1["machine"] - cpu0["machine"])
                                      - sum(cpu1[k] - cpu0[k] for k in ("workers", "postgres", "bench"))) / wall, 2),
        "bench_seconds": round(time.perf_counter() - started, 1),
    })
    return result


if __name__ == "__main__":
    print(json.dumps(run(), indent=2, ensure_ascii=False))
