"""The HTTP API under /v1: JSON in, JSON or RFC 9457 problem+json out."""
from __future__ import annotations

from flask import Blueprint, Flask, Response, current_app, request
from werkzeug.exceptions import HTTPException

from ._http import require, screen_request
from .cases import bp as cases_bp
from .openapi import build_spec, render_docs, operation
from .problems import Problem, problem_response
from .schemas import HealthOut

__all__ = ["register_api", "Problem"]

API_VERSION = "1.0.0"


def _root_blueprint() -> Blueprint:
    bp = Blueprint("root", __name__)

    @bp.get("/healthz")
    @operation("Liveness and database check", tags=("service",), responses={200: HealthOut, 503: HealthOut})
    def healthz():
        ok = current_app.extensions["recouvre"].db.ping()
        return ({"status": "ok"}, 200) if ok else ({"status": "unavailable"}, 503)

    @bp.get("/v1/openapi.json")
    def openapi_json():
        return current_app.extensions["recouvre_spec"]()

    @bp.get("/v1/docs")
    def docs():
        return Response(render_docs(current_app.extensions["recouvre_spec"]()), mimetype="text/html")

    return bp


def register_api(app: Flask) -> None:
    app.register_blueprint(_root_blueprint())
    v1 = Blueprint("v1", __name__, url_prefix="/v1")
    v1.register_blueprint(cases_bp)
    for extra in _extra_blueprints():
        v1.register_blueprint(extra)
    app.register_blueprint(v1)

    cache: dict = {}

    def spec():
        if "spec" not in cache:
            cache["spec"] = build_spec(app, title="Recouvre API", version=API_VERSION)
            cache["spec"]["paths"] = {k: v for k, v in cache["spec"]["paths"].items()
                                      if k.startswith("/v1") or k == "/healthz"}
        return cache["spec"]
    app.extensions["recouvre_spec"] = spec

    @app.before_request
    def _authenticate_before_reading_anything():
        """401 and 403 come before any body is read: an unknown client must not make us parse 20 MB.

        Uses the permission each operation declares with @operation; operations without one (health,
        the OpenAPI document, provider webhooks that authenticate by HMAC) are public here.
        """
        doc = _operation_doc(app)
        if doc is not None and doc.permission and request.method != "OPTIONS":   # OPTIONS only lists methods
            require(doc.permission)

    @app.before_request
    def _refuse_control_characters():
        """The path, query parameters and form fields of every request, the pages' included: they
        write the same columns. The pages answer with their own (French) page, when they are served."""
        try:
            screen_request()
        except Problem:
            page = app.extensions.get("recouvre_refused_characters_page")
            if _is_api_path() or page is None:
                raise
            return page()

    @app.before_request
    def _refuse_unknown_query_parameters():
        """A misspelt parameter (`as_off=`) must not silently fall back to a default."""
        doc = _operation_doc(app)
        if doc is None or not request.args:
            return None
        known = {p.name for p in doc.params if p.where == "query"}
        unknown = sorted(k for k in request.args if k not in known)
        if unknown:
            return problem_response(422, "Invalid input", "unknown query parameter", instance=request.path,
                                    errors=[{"pointer": f"/{k}", "detail": "unknown query parameter"} for k in unknown])
        return None

    @app.errorhandler(Problem)
    def _problem(exc: Problem):
        return exc.response(instance=request.path)

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException):
        if _is_api_path():
            headers = {"Allow": exc.valid_methods and ", ".join(exc.valid_methods)} if getattr(exc, "valid_methods", None) else {}
            return problem_response(exc.code or 500, exc.name, exc.description, headers=headers, instance=request.path)
        return exc

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):
        current_app.logger.exception("unhandled error on %s %s", request.method, request.path)
        return problem_response(500, "Internal error", "the error was logged", instance=request.path)


def _is_api_path() -> bool:
    return request.path.startswith("/v1") or request.path == "/healthz"


def _operation_doc(app: Flask):
    view = app.view_functions.get(request.endpoint or "")
    return getattr(view, "__openapi__", None)


def _extra_blueprints() -> list[Blueprint]:
    """Blueprints of the other capabilities (claims, documents, mailings…), registered when present."""
    import importlib
    out = []
    for name in ("api.claims", "api.documents", "api.signatures", "api.mailings", "api.webhooks", "api.proofs",
                 "api.archive"):
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
            continue
        out.append(module.bp)
    return out
