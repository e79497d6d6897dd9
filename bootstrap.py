"""The composition root: the one place that picks adapters from configuration.

Embedded defaults (SQLite, local write-once archive, in-process job runner, development
signing certificate) or infrastructure (PostgreSQL, S3 Object Lock, Celery on Redis, PKCS#11
or PKCS#12 keys, an RFC 3161 TSA). Everything else receives these objects; nothing else reads
the environment.
"""
from __future__ import annotations

import threading
from functools import cached_property

from accounts import KeyCache
from persistence.database import Database
from settings import ConfigError, Settings

__all__ = ["Container", "build_container"]



class Container:
    def __init__(self, settings: Settings):
        self.settings = settings
        self.db = Database(settings.database_url)
        self.db.job_dispatcher = self._dispatch
        self.key_cache = KeyCache()
        self._lock = threading.Lock()

    @cached_property
    def archive(self):
        from storage import RetentionPolicy, open_archive
        return open_archive(self.settings.archive_url, self.settings.data_dir,
                            RetentionPolicy.from_env(self.settings.environ))

    def _dispatch(self, job_ids: list[str]) -> None:
        for job_id in job_ids:
            self.queue.dispatch(job_id)

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
    def signer(self):
        """Loaded once per process: parsing the key and sizing the signature are the slow parts."""
        from signing import SignerConfig, build_signer
        return build_signer(SignerConfig.from_env(self.settings.environ, self.settings.data_dir))  # warns if dev cert

    @cached_property
    def pipeline(self):
        from generators import ConverterPool, DocumentPipeline
        pool = ConverterPool(size=self.settings.converters, work_dir=self.settings.data_dir / "converters")
        return DocumentPipeline(converter=pool)

    @cached_property
    def rates(self):
        from law import load_rate_book
        return load_rate_book(self.settings.data_dir / "rates")

    def require_database(self) -> None:
        """Raises a ConfigError naming RECOUVRE_DATABASE_URL when the database cannot be reached."""
        from sqlalchemy import text
        from sqlalchemy.engine import make_url
        try:
            with self.db.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        except Exception as exc:  # noqa: BLE001 - whatever the driver says, the database is not answering
            where = make_url(self.settings.database_url).render_as_string(hide_password=True)
            reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
            raise ConfigError("RECOUVRE_DATABASE_URL", f"the database {where} cannot be reached: {reason}") from None

    def close(self) -> None:
        if "pipeline" in self.__dict__:
            self.pipeline.converter.close()
        self.db.dispose()


def build_container(settings: Settings | None = None) -> Container:
    settings = settings or Settings.from_env()
    try:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:   # e.g. the path is a file, or a parent is not writable
        raise ConfigError("RECOUVRE_DATA_DIR", f"{settings.data_dir} cannot be used as the data directory: "
                                               f"{exc.strerror or exc}") from None
    return Container(settings)
