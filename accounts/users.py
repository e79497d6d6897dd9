"""People who sign in to the pages: lawyers and clerks, each in exactly one tenant.

E-mail addresses are unique across tenants, so signing in needs no tenant name. Changing the
password or disabling the account revokes the user's page sessions (web_sessions rows) in the
same transaction, so every session opened before ends at once, on every device.
"""
from __future__ import annotations

import datetime as dt
import re
import uuid
from dataclasses import dataclass

from sqlalchemy import Connection, insert, select, update

from persistence.tables import users, web_sessions

from .passwords import hash_password, needs_rehash, password_problem, verify_password

__all__ = ["USER_ROLES", "User", "UserError", "normalize_email", "create_user", "authenticate_user",
           "user_from_row", "set_password", "set_disabled", "revoke_sessions", "list_users"]

USER_ROLES = ("lawyer", "clerk")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class UserError(ValueError):
    """A user cannot be created or changed as asked; the message is meant for the operator."""


@dataclass(frozen=True)
class User:
    id: str
    tenant_id: str
    email: str
    role: str
    display_name: str | None

    @property
    def actor(self) -> str:
        """How the ledger names this person."""
        return f"user:{self.id}"

    @property
    def label(self) -> str:
        return self.display_name or self.email


def user_from_row(row) -> User:
    """A User from a row holding the users table's id, tenant_id, email, role and display_name."""
    return User(row["id"], row["tenant_id"], row["email"], row["role"], row["display_name"])


def normalize_email(email: str) -> str:
    return email.strip().lower()


def create_user(conn: Connection, tenant_id: str, email: str, password: str, role: str,
                display_name: str | None = None) -> User:
    email = normalize_email(email)
    if role not in USER_ROLES:
        raise UserError(f"unknown role {role!r}: choose one of {', '.join(USER_ROLES)}")
    if not _EMAIL.match(email) or len(email) > 254:
        raise UserError(f"not a valid e-mail address: {email!r}")
    if problem := password_problem(password):
        raise UserError(problem)
    if conn.execute(select(users.c.id).where(users.c.email == email)).first() is not None:
        raise UserError(f"a user with e-mail {email!r} already exists")
    row = dict(id=str(uuid.uuid4()), tenant_id=tenant_id, email=email, password_hash=hash_password(password),
               role=role, display_name=(display_name or "").strip() or None,
               created_at=dt.datetime.now(dt.timezone.utc), disabled=False)
    conn.execute(insert(users).values(**row))
    return user_from_row(row)


def authenticate_user(conn: Connection, email: str, password: str) -> User | None:
    """The active user with these credentials, or None. Upgrades an outdated hash in place,
    so `conn` should be a write transaction."""
    row = conn.execute(select(users).where(users.c.email == normalize_email(email))).mappings().first()
    if not verify_password(row["password_hash"] if row else None, password) or row is None or row["disabled"]:
        return None
    if needs_rehash(row["password_hash"]):   # the same password: open sessions stay open
        conn.execute(update(users).where(users.c.id == row["id"]).values(password_hash=hash_password(password)))
    return user_from_row(row)


def set_password(conn: Connection, user_id: str, password: str) -> None:
    if problem := password_problem(password):
        raise UserError(problem)
    done = conn.execute(update(users).where(users.c.id == user_id).values(password_hash=hash_password(password)))
    if done.rowcount != 1:
        raise UserError(f"no user {user_id}")
    revoke_sessions(conn, user_id=user_id)


def set_disabled(conn: Connection, user_id: str, disabled: bool) -> None:
    done = conn.execute(update(users).where(users.c.id == user_id).values(disabled=disabled))
    if done.rowcount != 1:
        raise UserError(f"no user {user_id}")
    if disabled:
        revoke_sessions(conn, user_id=user_id)


def revoke_sessions(conn: Connection, *, user_id: str | None = None, session_id: str | None = None,
                    at: dt.datetime | None = None) -> None:
    """Ends open page sessions: one (signing out, signing in again) or all of a user's (a new
    password, a disabled account), whatever device holds them."""
    if (user_id is None) == (session_id is None):
        raise ValueError("revoke the sessions of a user or one session, not both or neither")
    which = web_sessions.c.user_id == user_id if user_id is not None else web_sessions.c.id == session_id
    conn.execute(update(web_sessions).where(which, web_sessions.c.revoked_at.is_(None))
                 .values(revoked_at=at or dt.datetime.now(dt.timezone.utc)))


def list_users(conn: Connection, tenant_id: str) -> list[dict]:
    rows = conn.execute(select(users.c.id, users.c.email, users.c.role, users.c.display_name, users.c.disabled,
                               users.c.created_at).where(users.c.tenant_id == tenant_id)
                        .order_by(users.c.email)).mappings().all()
    return [dict(r) for r in rows]
