"""The /app blueprint: CSRF on every form, French error pages, headers every page carries."""
from __future__ import annotations

import datetime as dt

from flask import Blueprint, abort, current_app, render_template, request
from werkzeug.exceptions import HTTPException

from accounts import allowed
from api import Problem
from api._http import int_arg

from .formatting import FILTERS, LABELS, PARIS
from .security import CsrfError, check_csrf, csrf_token, current_user

__all__ = ["bp", "today", "paris_now", "int_param", "page_error", "refused_characters_page"]

bp = Blueprint("web", __name__, url_prefix="/app", template_folder="templates",
               static_folder="static", static_url_path="/static")

_CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")

_ERRORS = {
    400: ("Requête invalide", "La demande n'a pas pu être comprise. Revenez à la page précédente et recommencez."),
    403: ("Accès refusé", "Votre rôle ne permet pas cette action. Demandez-la à un avocat ou à un assistant "
                          "juridique selon le cas."),
    404: ("Page introuvable", "Cette page n'existe pas, ou ce dossier n'appartient pas à votre cabinet."),
    405: ("Action impossible", "Cette adresse ne s'utilise pas ainsi. Passez par les boutons de la page."),
    413: ("Fichier trop volumineux", "Le fichier envoyé dépasse la taille autorisée."),
    500: ("Erreur interne", "Une erreur inattendue s'est produite ; elle a été journalisée. Réessayez dans un "
                            "instant."),
}


def paris_now() -> dt.datetime:
    return dt.datetime.now(PARIS)


def today() -> dt.date:
    """The Paris calendar day: legal deadlines are counted in French days."""
    return paris_now().date()


def page_error(status: int, detail: str | None = None, title: str | None = None):
    default_title, default_detail = _ERRORS.get(status, _ERRORS[400])
    return render_template("error.html", status=status, title=title or default_title,
                           detail=detail or default_detail), status


def int_param(name: str, default: int, *, minimum: int, maximum: int) -> int:
    """An integer query parameter of a page (api int_arg's rule); a hand-edited or stale address
    falls back to the default instead of an error page."""
    try:
        return int_arg(name, default, minimum=minimum, maximum=maximum)
    except Problem:
        return default


def refused_characters_page():
    """What the pages answer when the app-wide screen (api.screen_request) finds a control character."""
    return page_error(400, title="Caractère non autorisé",
                      detail="L'adresse ou un champ du formulaire contient un caractère de contrôle (un caractère "
                             "invisible, souvent venu d'un copier-coller). Retirez-le ou retapez le texte, puis "
                             "recommencez.")


@bp.before_request
def _csrf():
    check_csrf()


@bp.app_template_global()
def csrf_field_value() -> str:
    return csrf_token()


@bp.context_processor
def _context():
    user = current_user()
    return {"user": user, "labels": LABELS, "can": lambda p: bool(user and allowed(user.role, p)),
            "today": today()}


for _name, _fn in FILTERS.items():
    bp.add_app_template_filter(_fn, _name)


@bp.after_request
def _headers(resp):
    resp.headers.setdefault("Content-Security-Policy", _CSP)
    resp.headers.setdefault("X-Content-Type-Options", "nosniff")
    resp.headers.setdefault("Referrer-Policy", "same-origin")
    resp.headers.setdefault("X-Frame-Options", "DENY")
    if request.endpoint != "web.static":
        resp.headers.setdefault("Cache-Control", "no-store")   # pages carry client data: keep them out of caches
    return resp


@bp.errorhandler(CsrfError)
def _csrf_refused(_exc):
    return page_error(400, title="Formulaire refusé",
                      detail="Ce formulaire a expiré ou ne provient pas de cette application (jeton de sécurité "
                             "absent ou invalide). Rechargez la page, puis envoyez-le à nouveau. Si le problème "
                             "persiste, vérifiez que votre navigateur accepte les cookies.")


@bp.errorhandler(HTTPException)
def _http(exc: HTTPException):
    code = exc.code or 500
    if code in (301, 302, 303, 307, 308):
        return exc
    if code == 413:
        limit = current_app.extensions["recouvre"].settings.max_upload_bytes // (1024 * 1024)
        return page_error(413, f"Le fichier envoyé dépasse la limite de {limit} Mo. Réduisez sa résolution "
                               "ou scannez-le en noir et blanc, puis recommencez.")
    return page_error(code if code in _ERRORS else 400)


@bp.errorhandler(Exception)
def _unexpected(exc: Exception):
    current_app.logger.exception("unhandled error on %s %s", request.method, request.path)
    return page_error(500)


@bp.route("/<path:_rest>", methods=["GET", "POST"])
def _unknown(_rest: str):
    """Unknown /app addresses get the French 404 page, not the API's JSON one."""
    abort(404)
