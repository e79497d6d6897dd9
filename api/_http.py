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
from casefiles.model import FORBIDDEN_CHARACTERS_DETAIL, has_forbidden_characters
from persistence.tables import idempotency_keys

from .problems import Problem

__all__ = ["container", "principal", "require", "json_body", "screen_json", "json_response", "run_write", "run_read",
           "authenticate_request", "domain_problem", "bool_arg", "int_arg", "parsed_body", "screen_request",
           "remember_upload_digest", "upload_digest", "forbidden_character_errors", "has_forbidden_characters",
           "FORBIDDEN_CHARACTERS_DETAIL"]


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


def screen_json(raw: bytes) -> Any:
    """The parsed JSON text: 400 unless it is UTF-8 and valid JSON, 422 if a string holds a forbidden character.

    json.loads(bytes) would also take UTF-16 and UTF-32, and decodes surrogate bytes as lone
    surrogates: decoding strictly first leaves \\u escapes as the only way in for a control
    character or a lone surrogate (the parser refuses raw control characters), so a text without
    one needs no walk. A leading UTF-8 byte order mark is ignored, as RFC 8259 allows.
    """
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise Problem(400, "Malformed JSON", f"the body is not UTF-8: {exc.reason} at byte {exc.start}") from None
    try:
        # Fractional JSON numbers stay exact (Decimal) and are then refused where a string is due.
        body = json.loads(text, parse_float=Decimal)
    except RecursionError:
        raise Problem(400, "Malformed JSON", "the body is nested too deeply") from None
    except ValueError as exc:
        raise Problem(400, "Malformed JSON", f"the body is not valid JSON: {exc}") from None
    if "\\u" in text and (errors := forbidden_character_errors(body)):
        raise Problem(422, "Invalid input", FORBIDDEN_CHARACTERS_DETAIL, errors=errors)
    return body


def json_body() -> Any:
    """The parsed JSON body: 415 if it is not JSON, else as screen_json."""
    mimetype = request.mimetype or ""
    if mimetype != "application/json" and not mimetype.endswith("+json"):
        raise Problem(415, "Unsupported media type", "send the body as application/json")
    return screen_json(request.get_data(cache=True))


_FORM_TYPES = ("multipart/form-data", "application/x-www-form-urlencoded")


def _field_errors(fields) -> list[dict[str, str]]:
    return [{"pointer": f"/{_pointer_token(name)}", "detail": FORBIDDEN_CHARACTERS_DETAIL} for name in fields
            if has_forbidden_characters(name) or any(has_forbidden_characters(v) for v in fields.getlist(name))]


def screen_request() -> None:
    """A control character in the path (400), a query parameter or a form field (422) never reaches the database.

    Runs for every request, pages included. A form body is parsed here, so this runs after the
    API's authentication. Uploaded files' names are the domain's to judge (record_evidence).
    """
    if has_forbidden_characters(request.path):
        raise Problem(400, "Malformed request", f"the path holds a control character; {FORBIDDEN_CHARACTERS_DETAIL}")
    errors = _field_errors(request.args)
    if request.mimetype in _FORM_TYPES:
        errors += _field_errors(request.form)
        errors += [{"pointer": f"/{_pointer_token(name)}", "detail": FORBIDDEN_CHARACTERS_DETAIL}
                   for name in request.files if has_forbidden_characters(name)]
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


_ASCII_DIGITS = re.compile(r"[0-9]+")


def int_arg(name: str, default: int, *, minimum: int, maximum: int) -> int:
    """An integer query parameter written in ASCII digits, from `minimum` to `maximum`.

    int() alone would take "٥", " 5", "+5" and "1_0".
    """
    raw = request.args.get(name)
    if raw is None:
        return default
    if _ASCII_DIGITS.fullmatch(raw) and len(raw) <= len(str(maximum)) and minimum <= int(raw) <= maximum:
        return int(raw)
    raise Problem(422, "Invalid input", errors=[{"pointer": f"/{name}",
                                                 "detail": f"{name} must be an integer from {minimum} to {maximum}"}])


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


def _request_fingerprint() -> str:
    """What makes two requests "the same" for an Idempotency-Key: method, path, query and body.

    A JSON body counts by its canonical form (key order and spacing do not matter). A form body
    has been parsed by the view already (its stream is consumed, `get_data()` is empty), so it
    counts by its fields and by each file's name and SHA-256 (the view's, when it hashed the file).
    """
    h = hashlib.sha256()
    h.update(f"{request.method} {request.path}?{request.query_string.decode('latin-1')}\n".encode())
    if request.mimetype in _FORM_TYPES:
        parts: list[Any] = [["field", name, request.form.getlist(name)] for name in sorted(request.form)]
        known = g.get("upload_digests", {})
        for name in sorted(request.files):
            for upload in request.files.getlist(name):
                parts.append(["file", name, upload.filename, known.get(id(upload)) or _stream_sha256(upload.stream)])
        h.update(json.dumps(parts, ensure_ascii=False).encode("utf-8", "surrogatepass"))
        return h.hexdigest()
    raw = request.get_data(cache=True)
    try:
        body = json.dumps(json.loads(raw), sort_keys=True, separators=(",", ":")).encode("utf-8", "surrogatepass")
    except (ValueError, RecursionError):
        body = raw
    h.update(body)
    return h.hexdigest()


def remember_upload_digest(upload, sha256: str) -> None:
    """The view has hashed this uploaded file: the idempotency fingerprint reuses its digest."""
    g.setdefault("upload_digests", {})[id(upload)] = sha256


def upload_digest(upload) -> str | None:
    return g.get("upload_digests", {}).get(id(upload))


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
