"""Configuration from the environment, checked once at start-up.

Every variable the service reads is declared here. A misspelt `RECOUVRE_*` variable stops
start-up with a message naming it, rather than being silently ignored in production.
"""
from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

__all__ = ["Settings", "ConfigError", "KNOWN_VARIABLES"]

KNOWN_VARIABLES: dict[str, str] = {
    "RECOUVRE_DATA_DIR": "directory for the SQLite file, the local archive, the embedded queue (default ./var)",
    "RECOUVRE_DATABASE_URL": "SQLAlchemy URL, e.g. postgresql+psycopg://user@host/db (default SQLite in the data dir)",
    "RECOUVRE_BROKER_URL": "Celery broker, e.g. redis://127.0.0.1:6379/0 (default: embedded queue)",
    "RECOUVRE_ARCHIVE": "file:///path or s3://bucket/prefix (default file://<data dir>/archive)",
    "RECOUVRE_RETENTION_MODE": "S3 Object Lock mode: COMPLIANCE or GOVERNANCE (default COMPLIANCE)",
    "RECOUVRE_RETENTION_YEARS": "retention in years (default 10, Code de commerce L123-22)",
    "RECOUVRE_SIGNING_P12": "PKCS#12 file of the signing key",
    "RECOUVRE_SIGNING_P12_PASSWORD": "its password",
    "RECOUVRE_PKCS11_MODULE": "PKCS#11 module path",
    "RECOUVRE_PKCS11_TOKEN": "PKCS#11 token label",
    "RECOUVRE_PKCS11_KEY": "PKCS#11 key label",
    "RECOUVRE_PKCS11_CERT": "PKCS#11 certificate label (default: the key label)",
    "RECOUVRE_PKCS11_PIN": "PKCS#11 user PIN",
    "RECOUVRE_TSA_URL": "RFC 3161 time-stamping authority URL (PAdES B-T and ledger timestamps)",
    "RECOUVRE_PADES_LEVEL": "B-B, B-T, B-LT or B-LTA",
    "RECOUVRE_SIGNING_TRUST_ROOTS": "PEM bundle of trust roots for signature validation",
    "RECOUVRE_SIGNING_FONT": "TrueType font of the visible signature stamp (default Liberation Sans)",
    "RECOUVRE_MAX_UPLOAD_MB": "largest accepted evidence upload in MB (default 20)",
    "RECOUVRE_SECRET_KEY": "secret for session cookies (default: generated once in the data dir)",
    "RECOUVRE_CONVERTERS": "LibreOffice converter processes per service process (default 1)",
    "RECOUVRE_WEB_WORKERS": "HTTP worker processes for `recouvre serve` (default 2)",
    "RECOUVRE_LOG_LEVEL": "DEBUG, INFO, WARNING or ERROR (default INFO)",
    "RECOUVRE_COOKIE_SECURE": "1 to mark session cookies Secure (default 0 for plain-HTTP local use)",
    "RECOUVRE_HOOK_SECRET_LAPOSTE": "HMAC secret of the La Poste tracking webhook",
}
_PREFIXES = ("RECOUVRE_HOOK_SECRET_",)
# Read by the test suite or the Makefile, never by the service itself.
_TOOLING = {"RECOUVRE_TEST_DATABASE_URL", "RECOUVRE_TEST_REDIS_URL", "RECOUVRE_SCHEMA_EXPLORE"}


class ConfigError(ValueError):
    def __init__(self, variable: str, message: str):
        super().__init__(f"{variable}: {message}")
        self.variable = variable


def _int(env: Mapping[str, str], name: str, default: int, lo: int, hi: int) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(name, f"must be an integer, got {raw!r}") from None
    if not lo <= value <= hi:
        raise ConfigError(name, f"must be between {lo} and {hi}, got {value}")
    return value


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    database_url: str
    broker_url: str | None = None
    archive_url: str | None = None
    max_upload_bytes: int = 20 * 1024 * 1024
    converters: int = 1
    web_workers: int = 2
    log_level: str = "INFO"
    cookie_secure: bool = False
    secret_key: str | None = None
    environ: Mapping[str, str] = field(default_factory=dict, repr=False)

    @property
    def embedded_queue(self) -> bool:
        return self.broker_url is None

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides) -> Settings:
        env = dict(os.environ if environ is None else environ)
        for name in env:
            if name.startswith("RECOUVRE_") and name not in KNOWN_VARIABLES and name not in _TOOLING \
                    and not name.startswith(_PREFIXES):
                raise ConfigError(name, "unknown configuration variable (see `recouvre config` for the list)")
        data_dir = Path(env.get("RECOUVRE_DATA_DIR") or "var").expanduser().resolve()
        db_url = env.get("RECOUVRE_DATABASE_URL") or f"sqlite:///{data_dir / 'recouvre.sqlite3'}"
        scheme = db_url.split(":", 1)[0]
        if not (scheme.startswith("sqlite") or scheme.startswith("postgresql")):
            raise ConfigError("RECOUVRE_DATABASE_URL", f"unsupported database {scheme!r}: use sqlite:/// or postgresql+psycopg://")
        if scheme == "postgresql" or scheme == "postgresql+psycopg2":
            db_url = "postgresql+psycopg" + db_url[len(scheme):]
        broker = env.get("RECOUVRE_BROKER_URL") or None
        if broker and urlparse(broker).scheme not in {"redis", "rediss", "amqp", "pyamqp"}:
            raise ConfigError("RECOUVRE_BROKER_URL", f"unsupported broker {broker!r}: use redis://host:port/db")
        archive = env.get("RECOUVRE_ARCHIVE") or None
        if archive:
            parsed = urlparse(archive)
            if parsed.scheme == "file" and not parsed.path.startswith("/"):
                raise ConfigError("RECOUVRE_ARCHIVE", "file archive needs an absolute path: file:///abs/path")
            if parsed.scheme == "s3" and not parsed.netloc:
                raise ConfigError("RECOUVRE_ARCHIVE", "S3 archive needs a bucket: s3://bucket/prefix")
            if parsed.scheme not in {"file", "s3"}:
                raise ConfigError("RECOUVRE_ARCHIVE", f"unsupported archive {archive!r}: use file:///path or s3://bucket/prefix")
        level = (env.get("RECOUVRE_LOG_LEVEL") or "INFO").upper()
        if level not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
            raise ConfigError("RECOUVRE_LOG_LEVEL", f"must be DEBUG, INFO, WARNING or ERROR, got {level!r}")
        secure = env.get("RECOUVRE_COOKIE_SECURE", "0")
        if secure not in {"0", "1"}:
            raise ConfigError("RECOUVRE_COOKIE_SECURE", "must be 0 or 1")
        values = dict(
            data_dir=data_dir,
            database_url=db_url,
            broker_url=broker,
            archive_url=archive,
            max_upload_bytes=_int(env, "RECOUVRE_MAX_UPLOAD_MB", 20, 1, 2048) * 1024 * 1024,
            converters=_int(env, "RECOUVRE_CONVERTERS", 1, 1, 16),
            web_workers=_int(env, "RECOUVRE_WEB_WORKERS", 2, 1, 64),
            log_level=level,
            cookie_secure=secure == "1",
            secret_key=env.get("RECOUVRE_SECRET_KEY") or None,
            environ=env,
        )
        values.update(overrides)
        return cls(**values)
