"""Who is signed in, what they may do, and the CSRF check every form goes through.

Sessions are Flask's signed cookies holding the user id and the user's session version; the
user row is re-read on every request, so a disabled account or a changed password ends the
session at once. Signing in starts a brand-new session (new CSRF token) so a cookie planted
before login is worth nothing after it.
"""
from __future__ import annotations

import functools
import hmac
import secrets
import threading
import time
from urllib.parse import urlsplit

from flask import abort, current_app, g, redirect, request, session, url_for

from accounts import allowed
from accounts.users import User, get_user

__all__ = ["current_user", "login_required", "start_session", "end_session", "csrf_token", "check_csrf",
           "safe_next", "container", "ABSOLUTE_LIFETIME", "CsrfError", "LoginThrottle"]

ABSOLUTE_LIFETIME = 12 * 3600   # a working day; the idle limit is the cookie's own lifetime
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


def start_session(user: User) -> None:
    session.clear()
    session.permanent = True
    session.update(uid=user.id, ver=user.session_version, t=int(time.time()), csrf=secrets.token_urlsafe(32))


def end_session() -> None:
    session.clear()


def current_user() -> User | None:
    if "user" in g:
        return g.user
    user = None
    uid, ver, started = session.get("uid"), session.get("ver"), session.get("t", 0)
    if uid:
        if time.time() - started <= ABSOLUTE_LIFETIME:
            with container().db.read() as conn:
                user = get_user(conn, uid)
        if user is None or not hmac.compare_digest(user.session_version, str(ver)):
            user = None
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
