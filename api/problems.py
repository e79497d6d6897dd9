"""RFC 9457 problem details: every error the API answers is application/problem+json."""
from __future__ import annotations

import json
from typing import Any

from flask import Response

__all__ = ["Problem", "problem_response", "PROBLEM_TYPES"]

PROBLEM_TYPES = {
    400: "urn:recouvre:problem:malformed-request",
    401: "urn:recouvre:problem:unauthenticated",
    403: "urn:recouvre:problem:forbidden",
    404: "urn:recouvre:problem:not-found",
    405: "urn:recouvre:problem:method-not-allowed",
    409: "urn:recouvre:problem:conflict",
    413: "urn:recouvre:problem:payload-too-large",
    415: "urn:recouvre:problem:unsupported-media-type",
    422: "urn:recouvre:problem:invalid-input",
    500: "urn:recouvre:problem:internal-error",
    503: "urn:recouvre:problem:unavailable",
}


class Problem(Exception):
    def __init__(self, status: int, title: str, detail: str | None = None, *,
                 errors: list[dict[str, str]] | None = None, headers: dict[str, str] | None = None, **extra: Any):
        super().__init__(detail or title)
        self.status, self.title, self.detail = status, title, detail
        self.errors, self.headers, self.extra = errors, headers or {}, extra

    def response(self, instance: str | None = None) -> Response:
        return problem_response(self.status, self.title, self.detail, errors=self.errors, headers=self.headers,
                                instance=instance, **self.extra)


def problem_response(status: int, title: str, detail: str | None = None, *, errors=None, headers=None,
                     instance: str | None = None, **extra: Any) -> Response:
    body: dict[str, Any] = {"type": PROBLEM_TYPES.get(status, "about:blank"), "title": title, "status": status}
    if detail:
        body["detail"] = detail
    if instance:
        body["instance"] = instance
    if errors is not None:
        body["errors"] = errors
    body.update(extra)
    resp = Response(json.dumps(body, ensure_ascii=False), status=status, mimetype="application/problem+json")
    for k, v in (headers or {}).items():
        resp.headers[k] = v
    return resp
