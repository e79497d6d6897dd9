"""The per-case evidence ledger: an append-only hash chain.

Each event commits to its payload (by digest) and to the previous event (by hash), so that
changing, removing or reordering any stored event breaks every hash after it. The encoding
is canonical JSON (sorted keys, no spaces, UTF-8) so anyone can recompute it offline.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["GENESIS", "LedgerEvent", "canonical", "digest", "chain_event", "verify_chain", "ChainCheck", "utc_iso"]

GENESIS = "0" * 64


def canonical(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str).encode()


def digest(value: Any) -> str:
    return hashlib.sha256(canonical(value)).hexdigest()


def utc_iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass(frozen=True)
class LedgerEvent:
    case_id: str
    seq: int
    type: str
    at: str             # UTC, ISO 8601 with microseconds: stored as text so every database round-trips it exactly
    actor: str
    payload: Mapping[str, Any]
    payload_digest: str
    prev_hash: str
    hash: str

    def hashed_fields(self) -> dict[str, Any]:
        return {"case_id": self.case_id, "seq": self.seq, "type": self.type, "at": self.at,
                "actor": self.actor, "payload_digest": self.payload_digest, "prev_hash": self.prev_hash}

    def to_dict(self) -> dict[str, Any]:
        return {**self.hashed_fields(), "payload": dict(self.payload), "hash": self.hash}


def chain_event(*, case_id: str, seq: int, type: str, at: dt.datetime, actor: str,
                payload: Mapping[str, Any], prev_hash: str) -> LedgerEvent:
    payload = json.loads(canonical(payload))  # what is stored is exactly what was hashed
    pd = digest(payload)
    fields = {"case_id": case_id, "seq": seq, "type": type, "at": utc_iso(at), "actor": actor,
              "payload_digest": pd, "prev_hash": prev_hash}
    return LedgerEvent(payload=payload, hash=digest(fields), **fields)


@dataclass(frozen=True)
class ChainCheck:
    valid: bool
    length: int
    first_broken: int | None = None   # seq of the first event that fails
    reason: str | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"valid": self.valid, "length": self.length}
        if not self.valid:
            out.update(first_broken=self.first_broken, reason=self.reason)
        return out


def verify_chain(events: Iterable[LedgerEvent | Mapping[str, Any]], case_id: str | None = None) -> ChainCheck:
    prev = GENESIS
    n = 0
    for n, ev in enumerate(events, start=1):
        e = ev if isinstance(ev, LedgerEvent) else LedgerEvent(**{k: ev[k] for k in LedgerEvent.__dataclass_fields__})
        if e.seq != n:
            return ChainCheck(False, n - 1, n, f"event {n} is missing or out of order (found seq {e.seq})")
        if case_id is not None and e.case_id != case_id:
            return ChainCheck(False, n - 1, n, "event belongs to another case")
        if digest(e.payload) != e.payload_digest:
            return ChainCheck(False, n - 1, n, "payload does not match its digest")
        if e.prev_hash != prev:
            return ChainCheck(False, n - 1, n, "previous-hash link is broken")
        if digest(e.hashed_fields()) != e.hash:
            return ChainCheck(False, n - 1, n, "event hash does not match its content")
        prev = e.hash
    return ChainCheck(True, n)
