"""Application factory (Flask) and Celery wiring.

`create_app()` serves the API and the pages. `make_celery()` builds the Celery application that
`recouvre worker` runs when RECOUVRE_BROKER_URL is set; its one task runs a job from the job
table by id, so a message delivered twice, or late, cannot run a job twice.
"""
from __future__ import annotations

import logging

from flask import Flask

from bootstrap import Container, build_container
from settings import Settings

__all__ = ["create_app", "make_celery", "worker_container"]


def create_app(settings: Settings | None = None, container: Container | None = None) -> Flask:
    container = container or build_container(settings)
    logging.basicConfig(level=container.settings.log_level,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    app = Flask(__name__)
    app.json.ensure_ascii = False
    app.json.sort_keys = False
    app.config["MAX_CONTENT_LENGTH"] = container.settings.max_upload_bytes + 1024 * 1024
    app.secret_key = container.secret_key
    app.extensions["recouvre"] = container
    from api import register_api
    register_api(app)
    import web
    if hasattr(web, "register_pages"):
        web.register_pages(app)
    return app


_WORKER_CONTAINER: Container | None = None


def worker_container() -> Container:
    """One container per worker process, built after the fork (database pools do not survive one)."""
    global _WORKER_CONTAINER
    if _WORKER_CONTAINER is None:
        _WORKER_CONTAINER = build_container()
    return _WORKER_CONTAINER


def make_celery(broker_url: str):
    from celery import Celery
    celery = Celery("recouvre", broker=broker_url)
    celery.conf.update(
        task_acks_late=True,                 # ack after the job ran; the job table dedupes redeliveries
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_serializer="json", accept_content=["json"], task_ignore_result=True,
        broker_transport_options={"visibility_timeout": 3600},
        broker_connection_retry_on_startup=True,
        worker_hijack_root_logger=False,
    )

    @celery.task(name="recouvre.run_job")
    def run_job(job_id: str) -> None:
        from jobs import execute
        execute(worker_container(), job_id)

    return celery
