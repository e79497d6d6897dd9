"""Server-rendered pages under /app for lawyers and clerks (French, no JavaScript framework).

`register_pages(app)` is called by `create_app`. The pages reuse the domain services the API
calls, with the tenant taken from the signed-in user, never from the URL.
"""
from __future__ import annotations

import datetime as dt

from flask import Flask, redirect

__all__ = ["register_pages"]


def register_pages(app: Flask) -> None:
    from .blueprint import bp
    from .security import LoginThrottle
    from . import auth_pages, case_pages, document_pages, mailing_pages  # noqa: F401 - routes attach to bp

    settings = app.extensions["recouvre"].settings
    secure = bool(settings.cookie_secure)
    app.config.update(
        # __Host- binds the cookie to this exact origin over HTTPS (no Domain, Path=/).
        SESSION_COOKIE_NAME="__Host-recouvre" if secure else "recouvre_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=secure,
        SESSION_COOKIE_PATH="/",
        PERMANENT_SESSION_LIFETIME=dt.timedelta(hours=2),   # idle limit; refreshed on each request
    )
    app.extensions["recouvre_login_throttle"] = LoginThrottle()
    app.register_blueprint(bp)

    @app.get("/")
    def _home():
        return redirect("/app/", code=302)
