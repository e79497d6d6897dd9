"""Request plumbing shared by the API views: authentication, permissions, JSON bodies,
idempotency keys and the write transaction that makes a request all-or-nothing."""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from decimal import Decimal
from collections.abc import Callable, Mapping
from typing import Any

from flask import Response, current_app, g, request
from sqlalchemy import Connection, insert, select
from sqlalchemy.exc import IntegrityError, OperationalError

from accounts import Principal, allowed, authenticate
from casefiles.errors import Conflict, DomainError, InvalidInput, NotFound, Unprocessable
from persistence.tables import idempotency_keys

from .problems import Problem

__all__ = ["container", "principal", "require", "json_body", "json_response", "run_write", "run_read",
           "authenticate_request", "domain_problem", "bool_arg", "parsed_body", "screen_path_and_query",
           "forbidden_character_errors", "has_forbidden_characters", "FORBIDDEN_CHARACTERS_DETAIL"]


def container():
    return current_app.extensions["recouvre"]


def authenticate_request() -> Principal:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Problem(401, "Authentication required", "send Authorization: Bearer <API key>",
                      headers={"WWW-Authenticate": 'Bearer realm="recouvre"'})
    token = token.strip()
    c = container()
    found = c.key_cache.get(token)
    if found is None:
        with c.db.read() as conn:
            found = authenticate(conn, token)
        if found is None:
            raise Problem(401, "Unknown API key", "the key is unknown or revoked",
                          headers={"WWW-Authenticate": 'Bearer realm="recouvre", error="invalid_token"'})
        c.key_cache.put(token, found)
    return found


def principal() -> Principal:
    p = getattr(g, "principal", None)
    if p is None:
        p = g.principal = authenticate_request()
    return p


def require(permission: str) -> Principal:
    p = principal()
    if not allowed(p.role, permission):
        raise Problem(403, "Forbidden", f"the role {p.role!r} may not do this ({permission})")
    return p


# C0 control characters other than tab, line feed and carriage return, and unpaired UTF-16
# surrogates (JSON "\ud800"): PostgreSQL refuses NUL in text, no encoder can write a lone surrogate,
# and none of them has a place in a name, an address or a note. Tab, line feed and carriage return
# stay allowed in every string, not only in free text (a reminder summary needs them): this check
# knows nothing of the fields, and the domain models decide what a field may hold beyond it.
_FORBIDDEN_CHARACTERS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff]")
FORBIDDEN_CHARACTERS_DETAIL = "control characters (other than tab and line breaks) and unpaired surrogates are not allowed"


def has_forbidden_characters(text: str) -> bool:
    return _FORBIDDEN_CHARACTERS.search(text) is not None


def _pointer_token(name: str) -> str:
    return name.replace("~", "~0").replace("/", "~1")


def forbidden_character_errors(value: Any, base: str = "") -> list[dict[str, str]]:
    """One error per string (member name or value) of a parsed JSON document holding a forbidden character.

    Walks the document with an explicit stack: the parser accepts nestings deeper than a recursive
    walk could follow.
    """
    errors: list[dict[str, str]] = []
    stack: list[tuple[str, Any]] = [(base, value)]
    while stack:
        pointer, node = stack.pop()
        if isinstance(node, str):
            if has_forbidden_characters(node):
                errors.append({"pointer": pointer, "detail": FORBIDDEN_CHARACTERS_DETAIL})
        elif isinstance(node, dict):
            for name, item in reversed(list(node.items())):
                here = f"{pointer}/{_pointer_token(name)}"
                if has_forbidden_characters(name):
                    errors.append({"pointer": here, "detail": "the member name holds a control character"})
                else:
                    stack.append((here, item))
        elif isinstance(node, list):
            stack.extend((f"{pointer}/{i}", item) for i, item in reversed(list(enumerate(node))))
    return errors


def json_body() -> Any:
    """The parsed JSON body: 415 if it is not JSON, 400 if malformed, 422 if a string holds a control character."""
    mimetype = request.mimetype or ""
    if mimetype != "application/json" and not mimetype.endswith("+json"):
        raise Problem(415, "Unsupported media type", "send the body as application/json")
    raw = request.get_data(cache=True)
    try:
        # Fractional JSON numbers stay exact (Decimal) and are then refused where a string is due.
        body = json.loads(raw, parse_float=Decimal)
    except RecursionError:
        raise Problem(400, "Malformed JSON", "the body is nested too deeply") from None
    except ValueError as exc:
        raise Problem(400, "Malformed JSON", f"the body is not valid JSON: {exc}") from None
    # json.loads refuses raw control characters inside strings: they, and lone surrogates, can
    # only arrive as \u escapes, so a body without one needs no walk.
    if b"\\u" in raw and (errors := forbidden_character_errors(body)):
        raise Problem(422, "Invalid input", FORBIDDEN_CHARACTERS_DETAIL, errors=errors)
    return body


def screen_path_and_query() -> None:
    """A control character in the path (400) or a query parameter (422) never reaches the database."""
    if has_forbidden_characters(request.path):
        raise Problem(400, "Malformed request", f"the path holds a control character; {FORBIDDEN_CHARACTERS_DETAIL}")
    errors = [{"pointer": f"/{_pointer_token(name)}", "detail": FORBIDDEN_CHARACTERS_DETAIL}
              for name in request.args
              if has_forbidden_characters(name) or any(has_forbidden_characters(v) for v in request.args.getlist(name))]
    if errors:
        raise Problem(422, "Invalid input", FORBIDDEN_CHARACTERS_DETAIL, errors=errors)


def bool_arg(name: str, default: bool | None = None) -> bool | None:
    """A boolean query parameter: exactly `true` or `false`, anything else is the client's error."""
    raw = request.args.get(name)
    if raw is None:
        return default
    if raw not in ("true", "false"):
        raise Problem(422, "Invalid input", errors=[{"pointer": f"/{name}", "detail": "must be true or false"}])
    return raw == "true"


def parsed_body(model, body: Any):
    """The body validated by a pydantic model, or a 422 with one pointer per faulty field."""
    from casefiles.model import parse_model
    obj, errors = parse_model(model, body)
    if errors:
        raise domain_problem(InvalidInput(errors))
    return obj


def json_response(status: int, body: Any, headers: Mapping[str, str] | None = None) -> Response:
    resp = Response(json.dumps(body, ensure_ascii=False, default=str), status=status, mimetype="application/json")
    for k, v in (headers or {}).items():
        resp.headers[k] = v
    return resp


def domain_problem(exc: DomainError) -> Problem:
    if isinstance(exc, InvalidInput):
        return Problem(422, "Invalid input", exc.detail, errors=[e.to_dict() for e in exc.errors])
    if isinstance(exc, NotFound):
        return Problem(404, "Not found", exc.detail)
    if isinstance(exc, Conflict):
        return Problem(409, "Conflict", exc.detail)
    if isinstance(exc, Unprocessable):
        return Problem(422, "Unprocessable request", exc.detail, errors=[], **exc.extra)
    return Problem(400, exc.title, exc.detail)


_FORM_TYPES = ("multipart/form-data", "application/x-www-form-urlencoded")


def _request_fingerprint() -> str:
    """What makes two requests "the same" for an Idempotency-Key: method, path, query and body.

    A JSON body counts by its canonical form (key order and spacing do not matter). A form body
    has been parsed by the view already (its stream is consumed, `get_data()` is empty), so it
    counts by its fields and by each file's name and SHA-256.
    """
    h = hashlib.sha256()
    h.update(f"{request.method} {request.path}?{request.query_string.decode('latin-1')}\n".encode())
    if request.mimetype in _FORM_TYPES:
        parts: list[Any] = [["field", name, request.form.getlist(name)] for name in sorted(request.form)]
        for name in sorted(request.files):
            for upload in request.files.getlist(name):
                parts.append(["file", name, upload.filename, _stream_sha256(upload.stream)])
        h.update(json.dumps(parts, ensure_ascii=False).encode("utf-8", "surrogatepass"))
        return h.hexdigest()
    raw = request.get_data(cache=True)
    try:
        body = json.dumps(json.loads(raw), sort_keys=True, separators=(",", ":")).encode("utf-8", "surrogatepass")
    except (ValueError, RecursionError):
        body = raw
    h.update(body)
    return h.hexdigest()


def _stream_sha256(stream) -> str:
    """Digest of an uploaded file's whole content, leaving the stream rewound for its reader."""
    h = hashlib.sha256()
    stream.seek(0)
    for chunk in iter(lambda: stream.read(65536), b""):
        h.update(chunk)
    stream.seek(0)
    return h.hexdigest()


def _replay(row: Mapping[str, Any], fingerprint: str) -> Response:
    if row["request_hash"] != fingerprint:
        raise Problem(409, "Idempotency key reused", "this Idempotency-Key was used with a different request")
    resp = Response(row["response_body"], status=row["status_code"])
    for k, v in row["response_headers"].items():
        resp.headers[k] = v
    resp.headers["Idempotent-Replayed"] = "true"
    return resp


_IDEMPOTENCY_KEY = re.compile(r"[\x21-\x7e]{1,255}")   # as documented in the OpenAPI parameter
Effect = Callable[[Connection, Principal], tuple[int, Any, Mapping[str, str]] | Response]


def run_write(effect: Effect, permission: str) -> Response:
    """Runs `effect` in one transaction with its idempotency record; nothing is kept on failure.

    With an Idempotency-Key, the answer of a request that succeeded is recorded with the request's
    fingerprint and replayed for the same request (409 for another one). A refused request (any
    4xx or 5xx problem) rolls back with everything else: nothing is recorded, the key stays free,
    and the client may retry with the same key once it has corrected the request.
    """
    p = require(permission)
    key = request.headers.get("Idempotency-Key")
    c = container()
    fingerprint = _request_fingerprint() if key else ""
    if key is not None and not _IDEMPOTENCY_KEY.fullmatch(key):
        raise Problem(400, "Invalid Idempotency-Key", "the key must be 1 to 255 visible ASCII characters")
    if key:
        with c.db.read() as conn:
            row = conn.execute(select(idempotency_keys).where(idempotency_keys.c.tenant_id == p.tenant_id,
                                                              idempotency_keys.c.key == key)).mappings().first()
        if row:
            return _replay(row, fingerprint)
    try:
        with c.db.write() as conn:
            result = effect(conn, p)
            resp = result if isinstance(result, Response) else json_response(*result)
            if key and resp.status_code < 500:
                headers = {k: v for k, v in resp.headers.items() if k in ("Content-Type", "Location")}
                conn.execute(insert(idempotency_keys).values(
                    tenant_id=p.tenant_id, key=key, request_hash=fingerprint, status_code=resp.status_code,
                    response_body=resp.get_data(), response_headers=headers, created_at=_utcnow()))
    except DomainError as exc:
        raise domain_problem(exc) from None
    except IntegrityError as exc:
        if key:
            with c.db.read() as conn:
                row = conn.execute(select(idempotency_keys).where(idempotency_keys.c.tenant_id == p.tenant_id,
                                                                  idempotency_keys.c.key == key)).mappings().first()
            if row:
                return _replay(row, fingerprint)
        raise Problem(409, "Conflict", _constraint_message(exc)) from None
    except OperationalError as exc:
        current_app.logger.warning("database unavailable: %s", exc)
        raise Problem(503, "Database unavailable", "retry later", headers={"Retry-After": "2"}) from None
    return resp


def _constraint_message(exc: IntegrityError) -> str:
    from casefiles.services import CONSTRAINT_MESSAGES
    text = str(exc.orig)
    return next((message for markers, message in CONSTRAINT_MESSAGES if any(m in text for m in markers)),
                "a concurrent request changed the same resource; retry")


def run_read(fn: Callable[[Connection, Principal], Any], permission: str) -> Any:
    p = require(permission)
    try:
        with container().db.read() as conn:
            return fn(conn, p)
    except DomainError as exc:
        raise domain_problem(exc) from None


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)
