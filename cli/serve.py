"""`recouvre serve`: gunicorn with threads, plus the embedded job runner in each worker."""
from __future__ import annotations

import gc
import logging

from gunicorn.app.base import BaseApplication

from settings import Settings

__all__ = ["run_server"]

log = logging.getLogger("recouvre.serve")


class _Gunicorn(BaseApplication):
    def __init__(self, settings: Settings, options: dict):
        self.settings, self.options = settings, options
        super().__init__()

    def load_config(self):
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self):
        from app import create_app
        return create_app(self.settings)


def _post_worker_init(worker) -> None:
    # Objects loaded so far live as long as the process: freezing them keeps full garbage
    # collections from walking them, which stalled a worker for 100-450 ms under load (make bench).
    gc.collect()
    gc.freeze()
    app = worker.wsgi if hasattr(worker, "wsgi") else None
    try:
        from jobs import start_embedded_runner
    except ModuleNotFoundError:
        return
    container = app.extensions["recouvre"] if app is not None else None
    if container is not None and container.settings.embedded_queue:
        start_embedded_runner(container)


def run_server(settings: Settings, host: str, port: int, workers: int | None) -> None:
    """Checks everything the workers will need before forking them: a configuration error stops
    start-up here with one message, instead of workers failing to boot one after the other."""
    from bootstrap import build_container
    from settings import ConfigError
    container = build_container(settings)
    try:
        container.require_database()
        if settings.is_sqlite:   # embedded: migrate on start; PostgreSQL: operators run `recouvre db upgrade`
            container.db.upgrade()
        # An archive that cannot keep documents immutable (e.g. no Object Lock) stops start-up:
        # the ArchiveConfigError goes up to the command line, which prints it naming RECOUVRE_ARCHIVE.
        container.archive.check()
        container.signer          # loads the key now; logs the warning if it is a development certificate
        try:
            container.secret_key
        except OSError as exc:
            raise ConfigError("RECOUVRE_DATA_DIR", f"the session secret cannot be kept in {settings.data_dir}: "
                                                   f"{exc.strerror or exc}") from None
    finally:
        container.close()
    options = {
        "bind": f"{host}:{port}",
        "workers": workers or settings.web_workers,
        "worker_class": "gthread",
        "threads": 4,
        "timeout": 120,
        "accesslog": "-",
        "post_worker_init": _post_worker_init,
    }
    log.info("serving on http://%s:%s (%s)", host, port,
             "embedded job queue" if settings.embedded_queue else f"broker {settings.broker_url}")
    _Gunicorn(settings, options).run()
