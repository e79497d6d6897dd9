"""OpenAPI 3.1 built from the routes and the pydantic models that validate them.

Each view declares its contract with `@operation(...)`; the document is assembled from the
Flask URL map, so a route cannot exist without its documentation and vice versa.
"""
from __future__ import annotations

import html
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flask import Flask
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from .schemas import ProblemOut

__all__ = ["operation", "build_spec", "render_docs", "Param"]

_REF = "#/components/schemas/{model}"


@dataclass(frozen=True)
class Param:
    name: str
    where: str = "query"   # query | path | header
    schema: dict[str, Any] = field(default_factory=lambda: {"type": "string"})
    required: bool = False
    description: str = ""


@dataclass
class OperationDoc:
    summary: str
    tags: tuple[str, ...]
    permission: str | None
    body: type[BaseModel] | dict[str, Any] | None
    body_media: str
    responses: dict[int, tuple[str, type[BaseModel] | dict[str, Any] | None, str]]
    params: tuple[Param, ...]
    idempotent_post: bool
    description: str = ""


_ERROR_TEXT = {400: "Malformed request", 401: "Missing or unknown API key", 403: "The key's role may not do this",
               404: "Not found (or another tenant's)", 409: "Conflict", 413: "Upload too large",
               415: "Unsupported media type", 422: "Invalid input: one JSON pointer per faulty field"}


def operation(summary: str, *, tags: tuple[str, ...] = (), permission: str | None = None,
              body: type[BaseModel] | dict[str, Any] | None = None, body_media: str = "application/json",
              responses: dict[int, Any] | None = None, params: tuple[Param, ...] = (), description: str = "",
              errors: tuple[int, ...] = ()) -> Callable:
    def deco(fn):
        resp: dict[int, tuple[str, Any, str]] = {}
        for code, spec in (responses or {}).items():
            if isinstance(spec, tuple):
                resp[code] = spec if len(spec) == 3 else (*spec, "application/json")
            else:
                resp[code] = ("OK" if code < 300 else _ERROR_TEXT.get(code, "Error"), spec, "application/json")
        codes = set(errors)
        if permission:
            codes |= {401, 403}
        if body is not None:
            codes |= {400, 422}
            if body_media == "application/json":
                codes.add(415)
        for code in codes:
            resp.setdefault(code, (_ERROR_TEXT.get(code, "Error"), ProblemOut, "application/problem+json"))
        fn.__openapi__ = OperationDoc(summary, tags, permission, body, body_media, resp, params,
                                      idempotent_post=False, description=description)
        return fn
    return deco


def _collect_models(docs: list[OperationDoc]) -> dict[str, Any]:
    models: dict[type[BaseModel], str] = {}
    for d in docs:
        if isinstance(d.body, type):
            models.setdefault(d.body, "validation")
        for _, schema, _ in d.responses.values():
            if isinstance(schema, type):
                models.setdefault(schema, "serialization")
    pairs = [(m, mode) for m, mode in models.items()]
    _, top = models_json_schema(pairs, ref_template=_REF)
    return top.get("$defs", {})


def _schema_ref(schema: Any) -> dict[str, Any] | None:
    if schema is None:
        return None
    if isinstance(schema, type):
        return {"$ref": _REF.format(model=schema.__name__)}
    return schema


def build_spec(app: Flask, *, title: str, version: str, prefix: str = "/") -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    docs: list[OperationDoc] = []
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        view = app.view_functions.get(rule.endpoint)
        doc: OperationDoc | None = getattr(view, "__openapi__", None)
        if doc is None or not rule.rule.startswith(prefix):
            continue
        docs.append(doc)
        path = re.sub(r"<(?:[a-z_]+:)?([a-z_]+)>", r"{\1}", rule.rule)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            op: dict[str, Any] = {"summary": doc.summary, "operationId": f"{method.lower()}_{rule.endpoint.split('.')[-1]}",
                                  "tags": list(doc.tags), "responses": {}}
            if doc.description:
                op["description"] = doc.description
            params = [{"name": a, "in": "path", "required": True,
                       "schema": {"type": "string", "format": "uuid"} if type(rule._converters[a]).__name__ ==
                       "UUIDConverter" else {"type": "string", "minLength": 1}} for a in rule.arguments]
            params += [{"name": p.name, "in": p.where, "required": p.required, "schema": p.schema,
                        **({"description": p.description} if p.description else {})} for p in doc.params]
            if method == "POST":
                params.append({"name": "Idempotency-Key", "in": "header", "required": False,
                               "description": "Replays the first successful response for a repeated request; "
                                              "409 if the request differs (JSON body, form fields or file). "
                                              "A refused request (4xx, 5xx) records nothing: the key stays free "
                                              "for the corrected request.",
                               "schema": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[\\x21-\\x7e]+$"}})
            if params:
                op["parameters"] = params
            # every operation refuses unknown query parameters (see api._refuse_unknown_query_parameters)
            op["responses"]["422"] = {"description": "Invalid input, or an unknown query parameter", "content": {
                "application/problem+json": {"schema": {"$ref": _REF.format(model="ProblemOut")}}}}
            responses = dict(doc.responses)
            if method == "POST":
                for code, desc in ((400, "Malformed request or Idempotency-Key"),
                                   (409, "Conflict, or Idempotency-Key reused with another request"),
                                   (503, "Database unavailable; retry")):
                    responses.setdefault(code, (desc, ProblemOut, "application/problem+json"))
            if rule.arguments:   # see api._http.screen_request
                responses.setdefault(400, ("Malformed request: a control character in the path", ProblemOut,
                                           "application/problem+json"))
            if doc.body is not None:
                op["requestBody"] = {"required": True, "content": {doc.body_media: {"schema": _schema_ref(doc.body)}}}
            for code, (desc, schema, media) in sorted(responses.items()):
                entry: dict[str, Any] = {"description": desc}
                ref = _schema_ref(schema)
                if ref is not None:
                    entry["content"] = {media: {"schema": ref}}
                elif media != "application/json":
                    entry["content"] = {media: {"schema": {}}}
                if code == 201:
                    entry["headers"] = {"Location": {"schema": {"type": "string"}, "description": "URL of the new resource"}}
                op["responses"][str(code)] = entry
            if doc.permission:
                op["security"] = [{"bearerAuth": []}]
                op["x-permission"] = doc.permission
            paths.setdefault(path, {})[method.lower()] = op
    return {
        "openapi": "3.1.0",
        "info": {"title": title, "version": version,
                 "description": "French debt collection: case files, décompte, legal documents, signatures, "
                                "registered mail and a tamper-evident evidence ledger. Errors are RFC 9457 "
                                "problem details; money is a string with two decimals; dates are YYYY-MM-DD. "
                                "Strings (JSON, form fields, path, query) may hold tab and line breaks but no "
                                "other control character (422, or 400 in the path). The API key is checked "
                                "(401, 403) before the body is read."},
        "paths": paths,
        "components": {"schemas": _collect_models(docs),
                       "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer",
                                                          "description": "API key created with `recouvre api-key create`"}}},
    }


def render_docs(spec: dict[str, Any]) -> str:
    """A readable, script-free reference page generated from the spec itself."""
    e = html.escape
    out = [f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>{e(spec['info']['title'])} — API</title>",
           "<style>body{font:15px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#1d2733}"
           "code,pre{background:#f3f5f8;padding:.1rem .3rem;border-radius:3px}h2{border-bottom:1px solid #ccd;margin-top:2rem}"
           ".m{display:inline-block;min-width:4.2rem;font-weight:700;font-family:monospace}.get{color:#176}.post{color:#a50}"
           ".patch{color:#75a}.delete{color:#a22}details{margin:.3rem 0 .8rem 1rem}table{border-collapse:collapse}"
           "td,th{border:1px solid #dde;padding:.2rem .5rem;text-align:left;vertical-align:top}</style></head><body>",
           f"<h1>{e(spec['info']['title'])} <small>{e(spec['info']['version'])}</small></h1>",
           f"<p>{e(spec['info']['description'])}</p><p>Machine-readable: <a href='openapi.json'>openapi.json</a> (OpenAPI 3.1). "
           "Authenticate with <code>Authorization: Bearer &lt;key&gt;</code>.</p>"]
    by_tag: dict[str, list[tuple[str, str, dict]]] = {}
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            by_tag.setdefault((op.get("tags") or ["other"])[0], []).append((method, path, op))
    for tag, ops in by_tag.items():
        out.append(f"<h2>{e(tag)}</h2>")
        for method, path, op in ops:
            out.append(f"<div><span class='m {method}'>{method.upper()}</span> <code>{e(path)}</code> — {e(op['summary'])}"
                       + (f" <small>(permission <code>{e(op['x-permission'])}</code>)</small>" if 'x-permission' in op else "")
                       + "</div><details><summary>details</summary>")
            if op.get("description"):
                out.append(f"<p>{e(op['description'])}</p>")
            if op.get("parameters"):
                out.append("<table><tr><th>parameter</th><th>in</th><th>required</th><th>schema</th></tr>")
                for p in op["parameters"]:
                    out.append(f"<tr><td>{e(p['name'])}</td><td>{e(p['in'])}</td><td>{'yes' if p.get('required') else 'no'}</td>"
                               f"<td><code>{e(str(p['schema']))}</code></td></tr>")
                out.append("</table>")
            if "requestBody" in op:
                for media, c in op["requestBody"]["content"].items():
                    out.append(f"<p>Body <code>{e(media)}</code>: <code>{e(str(c['schema']))}</code></p>")
            out.append("<ul>" + "".join(f"<li><b>{code}</b> {e(r['description'])}</li>" for code, r in op["responses"].items())
                       + "</ul></details>")
    out.append("<h2>Schemas</h2>")
    for name, schema in spec["components"]["schemas"].items():
        props = schema.get("properties", {})
        out.append(f"<h3 id='{e(name)}'>{e(name)}</h3><table><tr><th>field</th><th>type</th><th>required</th></tr>")
        for pname, p in props.items():
            t = p.get("type") or p.get("$ref", "").rsplit("/", 1)[-1] or " | ".join(
                str(x.get("type") or x.get("$ref", "").rsplit("/", 1)[-1]) for x in p.get("anyOf", []))
            out.append(f"<tr><td>{e(pname)}</td><td>{e(str(t))}</td><td>{'yes' if pname in schema.get('required', []) else ''}</td></tr>")
        out.append("</table>")
    out.append("</body></html>")
    return "".join(out)
