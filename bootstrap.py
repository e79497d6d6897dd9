"""The composition root: the one place that picks adapters from configuration.

Embedded defaults (SQLite, local write-once archive, in-process job runner, development
signing certificate) or infrastructure (PostgreSQL, S3 Object Lock, Celery on Redis, PKCS#11
or PKCS#12 keys, an RFC 3161 TSA). Everything else receives these objects; nothing else reads
the environment.
"""
from __future__ import annotations

import logging
import threading
from functools import cached_property

from accounts import KeyCache
from persistence.database import Database
from settings import Settings

__all__ = ["Container", "build_container"]

log = logging.getLogger("recouvre")


class Container:
    def __init__(self, settings: Settings):
        self.settings = settings
        self.db = Database(settings.database_url)
        self.key_cache = KeyCache()
        self._lock = threading.Lock()

    @cached_property
    def archive(self):
        from storage import RetentionPolicy, open_archive
        return open_archive(self.settings.archive_url, self.settings.data_dir,
                            RetentionPolicy.from_env(self.settings.environ))

    @cached_property
    def queue(self):
        from jobs import CeleryQueue, EmbeddedQueue
        if self.settings.embedded_queue:
            return EmbeddedQueue()
        from app import make_celery
        return CeleryQueue(make_celery(self.settings.broker_url))

    @cached_property
    def secret_key(self) -> str:
        """Session-cookie secret: configured, or generated once and kept in the data directory."""
        if self.settings.secret_key:
            return self.settings.secret_key
        path = self.settings.data_dir / "secret_key"
        if not path.exists():
            import os
            import secrets
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as f:
                f.write(secrets.token_urlsafe(48))
        return path.read_text().strip()

    @cached_property
    def rates(self):
        from law import load_rate_book
        return load_rate_book(self.settings.data_dir / "rates")

    def close(self) -> None:
        self.db.dispose()


def build_container(settings: Settings | None = None) -> Container:
    settings = settings or Settings.from_env()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    return Container(settings)
