"""Application factory (Flask) and Celery wiring.

`create_app()` serves the API and the pages; `celery_app` is the Celery application used by
`recouvre worker` when RECOUVRE_BROKER_URL is set.
"""
from __future__ import annotations

import logging

from flask import Flask

from bootstrap import Container, build_container
from settings import Settings

__all__ = ["create_app"]


def create_app(settings: Settings | None = None, container: Container | None = None) -> Flask:
    container = container or build_container(settings)
    logging.basicConfig(level=container.settings.log_level,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    app = Flask(__name__)
    app.json.ensure_ascii = False
    app.json.sort_keys = False
    app.config["MAX_CONTENT_LENGTH"] = container.settings.max_upload_bytes + 1024 * 1024
    app.extensions["recouvre"] = container
    from api import register_api
    register_api(app)
    return app
