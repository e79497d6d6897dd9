"""Tenants and API keys. Keys are shown once and stored as SHA-256 digests.

A key reads `rcv_<prefix>_<secret>`: the prefix finds the row, the secret's digest is compared
in constant time. Keys are high-entropy random strings, so a fast hash is enough (no KDF).
"""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
import secrets
import threading
import time
import uuid
from dataclasses import dataclass

from sqlalchemy import Connection, insert, select

from persistence.tables import api_keys, tenants

from .roles import ROLES

__all__ = ["Principal", "create_tenant", "get_or_create_tenant", "create_api_key", "authenticate", "KeyCache"]


@dataclass(frozen=True)
class Principal:
    tenant_id: str
    actor: str          # "key:<id>" or "user:<id>", written into ledger events
    role: str


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def create_tenant(conn: Connection, name: str) -> str:
    tid = str(uuid.uuid4())
    conn.execute(insert(tenants).values(id=tid, name=name, created_at=_now()))
    return tid


def get_or_create_tenant(conn: Connection, name: str) -> str:
    tid = conn.execute(select(tenants.c.id).where(tenants.c.name == name)).scalar()
    return tid or create_tenant(conn, name)


def create_api_key(conn: Connection, tenant_id: str, role: str, label: str | None = None) -> tuple[str, str]:
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}: choose one of {', '.join(sorted(ROLES))}")
    prefix = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    key_id = str(uuid.uuid4())
    conn.execute(insert(api_keys).values(
        id=key_id, tenant_id=tenant_id, role=role, prefix=prefix, label=label,
        secret_hash=hashlib.sha256(secret.encode()).hexdigest(), created_at=_now()))
    return key_id, f"rcv_{prefix}_{secret}"


# What create_api_key makes (hex prefix, URL-safe secret), with room to spare. Anything else is
# refused before the look-up: a NUL or a non-ASCII character would make the database fail, not answer.
_KEY_SHAPE = re.compile(r"rcv_[0-9a-f]{1,64}_[A-Za-z0-9_-]{1,256}")


def authenticate(conn: Connection, presented: str) -> Principal | None:
    if not _KEY_SHAPE.fullmatch(presented):
        return None
    parts = presented.split("_", 2)
    row = conn.execute(select(api_keys).where(api_keys.c.prefix == parts[1])).mappings().first()
    if row is None or row["revoked_at"] is not None:
        return None
    if not hmac.compare_digest(row["secret_hash"], hashlib.sha256(parts[2].encode()).hexdigest()):
        return None
    return Principal(tenant_id=row["tenant_id"], actor=f"key:{row['id']}", role=row["role"])


class KeyCache:
    """Remembers verified keys briefly so a busy client does not cost a query per request."""

    def __init__(self, ttl: float = 30.0, size: int = 4096):
        self.ttl, self.size = ttl, size
        self._items: dict[str, tuple[float, Principal]] = {}
        self._lock = threading.Lock()

    def get(self, presented: str) -> Principal | None:
        with self._lock:
            item = self._items.get(presented)
        if item and item[0] > time.monotonic():
            return item[1]
        return None

    def put(self, presented: str, principal: Principal) -> None:
        with self._lock:
            if len(self._items) >= self.size:
                self._items.clear()
            self._items[presented] = (time.monotonic() + self.ttl, principal)
