"""Server-rendered pages under /app for lawyers and clerks (French, no JavaScript framework).

`register_pages(app)` is called by `create_app`. The pages reuse the domain services the API
calls, with the tenant taken from the signed-in user, never from the URL.
"""
from __future__ import annotations

from flask import Flask, redirect, request
from flask.sessions import SecureCookieSessionInterface

__all__ = ["register_pages", "HSTS"]

HSTS = "max-age=31536000"     # one year; no includeSubDomains: other services may share the domain


class _SessionInterface(SecureCookieSessionInterface):
    """Marks the cookie Secure when configured, and also whenever the request itself came over
    HTTPS. `request.is_secure` is what the WSGI server says: gunicorn believes X-Forwarded-Proto
    only from the addresses in its forwarded_allow_ips (127.0.0.1 by default), so a remote
    client cannot claim HTTPS it does not have."""

    def get_cookie_secure(self, app: Flask) -> bool:
        return bool(app.config["SESSION_COOKIE_SECURE"]) or request.is_secure


def register_pages(app: Flask) -> None:
    from .blueprint import bp, refused_characters_page
    from .security import IDLE_LIMIT, LoginThrottle
    # importing the page modules attaches their routes to bp
    from . import auth_pages, case_pages, document_pages, evidence_pages, mailing_pages  # noqa: F401

    settings = app.extensions["recouvre"].settings
    secure = bool(settings.cookie_secure)
    app.config.update(
        # __Host- binds the cookie to this exact origin over HTTPS (no Domain, Path=/).
        SESSION_COOKIE_NAME="__Host-recouvre" if secure else "recouvre_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=secure,
        SESSION_COOKIE_PATH="/",
        PERMANENT_SESSION_LIFETIME=IDLE_LIMIT,   # the server enforces it too (web_sessions); refreshed on each request
    )
    app.session_interface = _SessionInterface()
    app.extensions["recouvre_login_throttle"] = LoginThrottle()
    app.extensions["recouvre_refused_characters_page"] = refused_characters_page
    app.register_blueprint(bp)

    @app.get("/")
    def _home():
        return redirect("/app/", code=302)

    @app.after_request
    def _hsts(resp):
        """Over HTTPS (or when configured so), browsers are told to come back over HTTPS only."""
        if secure or request.is_secure:
            resp.headers.setdefault("Strict-Transport-Security", HSTS)
        return resp
