"""Response shapes, declared once for the OpenAPI document and checked by the schema tests."""
from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from casefiles.model import CaseFile

__all__ = ["CaseOut", "CaseList", "ProblemOut", "FieldProblem", "LedgerEventOut", "LedgerEventList",
           "LedgerCheckOut", "EvidenceOut", "HealthOut"]


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CaseOut(CaseFile):
    id: str
    status: Literal["open", "formal_notice", "injunction", "settled", "closed"]
    address_invalid: bool = Field(description="a registered letter came back 'n'habite pas à l'adresse indiquée'")
    version: int
    created_at: str
    updated_at: str


class CaseList(_Out):
    items: list[CaseOut]
    total: int
    next_cursor: str | None


class FieldProblem(_Out):
    pointer: str = Field(description="JSON pointer (RFC 6901) to the faulty field")
    detail: str


class ProblemOut(BaseModel):
    model_config = ConfigDict(extra="allow")
    type: str
    title: str
    status: int
    detail: str | None = None
    instance: str | None = None
    errors: list[FieldProblem] | None = None


class LedgerEventOut(_Out):
    case_id: str
    seq: int
    type: str
    at: str
    actor: str
    payload: dict[str, Any]
    payload_digest: str
    prev_hash: str
    hash: str


class LedgerEventList(_Out):
    items: list[LedgerEventOut]


class LedgerCheckOut(_Out):
    valid: bool
    length: int
    first_broken: int | None = None
    reason: str | None = None


class EvidenceOut(_Out):
    id: str
    case_id: str
    kind: str
    title: str
    filename: str | None
    media_type: str
    size: int
    sha256: str
    archive_key: str
    date: str | None
    created_at: str


class HealthOut(_Out):
    status: Literal["ok", "unavailable"]
