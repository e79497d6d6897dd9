"""Signing in and out."""
from __future__ import annotations

from flask import current_app, flash, redirect, render_template, request, url_for

from accounts.users import authenticate_user, normalize_email

from .blueprint import bp
from .security import container, csrf_token, current_user, end_session, login_required, safe_next, start_session

_HOME = {"lawyer": "web.cases", "clerk": "web.mailings"}


def home_for(role: str) -> str:
    return url_for(_HOME.get(role, "web.cases"))


@bp.get("/")
def index():
    user = current_user()
    return redirect(home_for(user.role) if user else url_for("web.login"))


@bp.route("/login", methods=["GET", "POST"])
def login():
    nxt = safe_next(request.values.get("next"))
    if request.method == "GET":
        if current_user() is not None:
            return redirect(nxt or home_for(current_user().role))
        csrf_token()
        return render_template("login.html", email="", errors={}, next=nxt)
    email = (request.form.get("email") or "").strip()
    password = request.form.get("password") or ""
    errors = {}
    if not email:
        errors["email"] = "Saisissez votre adresse e-mail."
    if not password:
        errors["password"] = "Saisissez votre mot de passe."
    if errors:
        return render_template("login.html", email=email, errors=errors, next=nxt), 422
    keys = (f"email:{normalize_email(email)}", f"ip:{request.remote_addr}")
    throttle = current_app.extensions["recouvre_login_throttle"]
    if throttle.blocked(*keys):
        errors["form"] = ("Trop de tentatives de connexion infructueuses. Patientez un quart d'heure, "
                          "ou demandez à un administrateur de vérifier votre compte.")
        return render_template("login.html", email=email, errors=errors, next=nxt), 429
    with container().db.write() as conn:
        user = authenticate_user(conn, email, password)
    if user is None:
        throttle.failed(*keys)
        errors["form"] = "Adresse e-mail ou mot de passe incorrect."
        return render_template("login.html", email=email, errors=errors, next=nxt), 422
    throttle.succeeded(keys[0])
    start_session(user)
    return redirect(nxt or home_for(user.role), code=303)


@bp.route("/logout", methods=["GET", "POST"])
@login_required()
def logout():
    """GET asks for confirmation: signing out changes state, so it takes a form with its token."""
    if request.method == "GET":
        return render_template("logout.html")
    end_session()
    flash("Vous êtes déconnecté(e).", "info")
    return redirect(url_for("web.login"), code=303)
