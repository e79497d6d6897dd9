"""Who is signed in, what they may do, and the CSRF check every form goes through.

Sessions live on the server (table web_sessions): the signed cookie carries a random token,
the table its SHA-256, so signing out revokes the row and a copy of the cookie taken before is
worth nothing; a stolen database gives no usable token. A session ends after IDLE_LIMIT without
a request and ABSOLUTE_LIFETIME after sign-in, whatever the activity. A changed password or a
disabled account revokes the user's rows (accounts.users), which ends every session at once.
Signing in starts a brand-new session (new token, new CSRF token) so a cookie planted before
login is worth nothing after it.
"""
from __future__ import annotations

import datetime as dt
import functools
import hashlib
import hmac
import secrets
import threading
import time
from urllib.parse import urlsplit

from flask import abort, current_app, g, redirect, request, session, url_for
from sqlalchemy import delete, insert, select, update

from accounts import allowed
from accounts.users import User, revoke_sessions, user_from_row
from persistence.tables import users, web_sessions

__all__ = ["current_user", "login_required", "start_session", "end_session", "csrf_token", "check_csrf",
           "safe_next", "container", "IDLE_LIMIT", "ABSOLUTE_LIFETIME", "CsrfError", "LoginThrottle"]

IDLE_LIMIT = dt.timedelta(hours=2)
ABSOLUTE_LIFETIME = dt.timedelta(hours=12)    # a working day, however active
_TOUCH_EVERY = dt.timedelta(minutes=1)        # last_seen_at is written at most once a minute per session
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class LoginThrottle:
    """Slows password guessing: after `per_email` failures for one address, or `per_client`
    from one network address (a whole office may share one), within `window` seconds, further
    attempts are refused until the window has passed.

    Kept in process memory: with several server processes each counts on its own, which still
    bounds guessing to a few dozen attempts per quarter of an hour.
    """

    def __init__(self, per_email: int = 10, per_client: int = 100, window: float = 900.0):
        self.limits = {"email": per_email, "ip": per_client}
        self.window = window
        self._failures: dict[str, list[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, key: str, now: float) -> list[float]:
        kept = [t for t in self._failures.get(key, []) if now - t < self.window]
        if kept:
            self._failures[key] = kept
        else:
            self._failures.pop(key, None)
        return kept

    def blocked(self, *keys: str) -> bool:
        now = time.monotonic()
        with self._lock:
            return any(len(self._recent(k, now)) >= self.limits[k.split(":", 1)[0]] for k in keys)

    def failed(self, *keys: str) -> None:
        now = time.monotonic()
        with self._lock:
            if len(self._failures) > 50_000:       # bounded memory under a spray of addresses
                self._failures.clear()
            for k in keys:
                self._failures.setdefault(k, []).append(now)

    def succeeded(self, *keys: str) -> None:
        with self._lock:
            for k in keys:
                self._failures.pop(k, None)


class CsrfError(Exception):
    """A form arrived without the token of the session that displayed it."""


def container():
    return current_app.extensions["recouvre"]


def csrf_token() -> str:
    token = session.get("csrf")
    if not token:
        token = session["csrf"] = secrets.token_urlsafe(32)
    return token


def check_csrf() -> None:
    if request.method in _SAFE_METHODS:
        return
    expected = session.get("csrf")
    sent = request.form.get("csrf_token") or request.headers.get("X-CSRF-Token") or ""
    if not expected or not hmac.compare_digest(str(expected), str(sent)):
        raise CsrfError()


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def _session_id(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start_session(user: User) -> None:
    token, moment = secrets.token_urlsafe(32), _now()
    with container().db.write() as conn:
        if old := session.get("sid"):
            revoke_sessions(conn, session_id=_session_id(str(old)), at=moment)
        conn.execute(delete(web_sessions).where(web_sessions.c.user_id == user.id,   # long over: no use kept
                                                web_sessions.c.expires_at < moment - dt.timedelta(days=30)))
        conn.execute(insert(web_sessions).values(id=_session_id(token), user_id=user.id, created_at=moment,
                                                 last_seen_at=moment, expires_at=moment + ABSOLUTE_LIFETIME))
    session.clear()
    session.permanent = True
    session.update(sid=token, csrf=secrets.token_urlsafe(32))
    g.user = user


def end_session() -> None:
    if token := session.get("sid"):
        with container().db.write() as conn:
            revoke_sessions(conn, session_id=_session_id(str(token)), at=_now())
    session.clear()
    g.user = None


def _live(row, moment: dt.datetime) -> bool:
    return (row is not None and row["revoked_at"] is None and not row["disabled"] and moment < row["expires_at"]
            and moment - row["last_seen_at"] <= IDLE_LIMIT)


_SESSION_USER = (select(web_sessions.c.revoked_at, web_sessions.c.expires_at, web_sessions.c.last_seen_at,
                        users.c.id, users.c.tenant_id, users.c.email, users.c.role, users.c.display_name,
                        users.c.disabled)
                 .join_from(web_sessions, users, web_sessions.c.user_id == users.c.id))


def current_user() -> User | None:
    """The signed-in user: one query per request, and a write at most once a minute (last_seen_at)."""
    if "user" in g:
        return g.user
    user = None
    if token := session.get("sid"):
        moment, sid = _now(), _session_id(str(token))
        with container().db.read() as conn:
            row = conn.execute(_SESSION_USER.where(web_sessions.c.id == sid)).mappings().first()
        if _live(row, moment):
            user = user_from_row(row)
            if moment - row["last_seen_at"] >= _TOUCH_EVERY:
                with container().db.write() as conn:    # conditional: concurrent requests write it once
                    conn.execute(update(web_sessions).where(web_sessions.c.id == sid,
                                                            web_sessions.c.last_seen_at <= moment - _TOUCH_EVERY)
                                 .values(last_seen_at=moment))
        else:
            if row is not None and row["revoked_at"] is None:
                with container().db.write() as conn:
                    revoke_sessions(conn, session_id=sid, at=moment)
            session.clear()
    g.user = user
    return user


def safe_next(target: str | None) -> str | None:
    """Only our own pages are valid return addresses (no open redirect)."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not parts.path.startswith("/app/") or "\\" in target:
        return None
    return target


def login_required(permission: str | None = None):
    """Anonymous visitors go to the sign-in page; a role without `permission` gets 403."""
    def wrap(view):
        @functools.wraps(view)
        def inner(*args, **kwargs):
            user = current_user()
            if user is None:
                nxt = request.full_path.rstrip("?") if request.method == "GET" else None
                return redirect(url_for("web.login", next=safe_next(nxt)))
            if permission and not allowed(user.role, permission):
                abort(403)
            return view(*args, **kwargs)
        return inner
    return wrap
