"""The proof ZIP of one case: everything an outsider needs to check the file without us.

The ledger is the authority: every archived file it commits to (by digest) is included under
`documents/` — signed PDFs, their editable DOCX, dossier ZIPs, mailing packets, evidence and
receipt scans — read by its recorded version and checked against its recorded digest; nothing
the ledger does not record is included. The RFC 3161 tokens over its heads go under
`timestamps/`, and `manifest.json` says which event vouches for which file. The manifest and
README are conveniences, not evidence: the verifier recomputes everything from the ledger and
the tokens.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import re
import unicodedata
import zipfile
from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection, select

from casefiles import services
from persistence.tables import cases, ledger_timestamps

from ._readme import render_readme
from ._references import archive_references
from ._tokens import TokenError, read_token
from ._verify import FORMAT

__all__ = ["build_proof_zip"]


def _json(value: Any) -> bytes:
    return (json.dumps(value, ensure_ascii=False, indent=2, sort_keys=True, default=str) + "\n").encode()


def _slug(text: str, limit: int = 60) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^A-Za-z0-9]+", "-", ascii_text).strip("-").lower()[:limit].strip("-")


class _Entries:
    """Files of the ZIP with their manifest entries, names kept unique."""

    def __init__(self):
        self.data: dict[str, bytes] = {}
        self.manifest: dict[str, dict[str, Any]] = {}

    def add(self, path: str, data: bytes, role: str, **extra: Any) -> str:
        stem, dot, ext = path.rpartition(".") if "." in path.rsplit("/", 1)[-1] else (path, "", "")
        n, unique = 1, path
        while unique in self.data:
            n += 1
            unique = f"{stem}-{n}{dot}{ext}"
        self.data[unique] = data
        self.manifest[unique] = {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data), "role": role, **extra}
        return unique


_EVENT_LABELS = {"mailing.packet_archived": "pli-recommande"}
_POINTER_LABELS = {"docx": "editable"}


def _label(event: Mapping[str, Any], pointer: str) -> str:
    payload = event["payload"]
    if pointer == "/payload" and payload.get("title"):
        return str(payload["title"])
    kind = str(payload.get("kind") or _EVENT_LABELS.get(event["type"]) or event["type"])
    if pointer == "/payload":
        return kind
    last = pointer.rsplit("/", 1)[-1]
    return f"{kind}-{_POINTER_LABELS.get(last, last)}"


def _document_name(seq: int, label: str, archive_key: str) -> str:
    base = archive_key.rsplit("/", 1)[-1]
    ext = "." + base.rsplit(".", 1)[-1].lower() if "." in base else ""
    slug = _slug(label) or _slug(base.rsplit(".", 1)[0]) or "file"
    return f"documents/{seq:04d}-{slug}{ext}"


def _add_archived(entries: _Entries, container, events: list[dict[str, Any]]) -> None:
    """Every file a ledger event records, read by the recorded version against the recorded digest
    (storage.ArchiveIntegrityError if the archive no longer holds it: the proof is not built)."""
    by_seq = {e["seq"]: e for e in events}
    refs_by_key: dict[str, list] = {}
    for ref in archive_references(events):
        refs_by_key.setdefault(ref.archive_key, []).append(ref)
    for key, refs in refs_by_key.items():
        first = refs[0]
        version = next((r.version_id for r in refs if r.version_id), None)
        data = container.archive.get(key, version_id=version, expected_sha256=first.sha256)
        entries.add(_document_name(first.seq, _label(by_seq[first.seq], first.pointer), key), data, "archived",
                    archive_key=key, **({"version_id": version} if version else {}),
                    ledger=[{"seq": r.seq, "type": r.type, "pointer": r.pointer} for r in refs])


def _add_timestamps(entries: _Entries, conn: Connection, case_id: str) -> list[dict[str, Any]]:
    rows = conn.execute(select(ledger_timestamps).where(ledger_timestamps.c.case_id == case_id)
                        .order_by(ledger_timestamps.c.seq, ledger_timestamps.c.created_at)).mappings().all()
    index = []
    for row in rows:
        token = bytes(row["token"])
        try:
            gen_time = read_token(token).gen_time.astimezone(dt.timezone.utc).isoformat()
        except TokenError:
            gen_time = None   # kept as stored: the verifier reports it
        path = entries.add(f"timestamps/{row['seq']}.tsr", token, "timestamp", seq=row["seq"])
        index.append({"seq": row["seq"], "head_hash": row["head_hash"], "tsa_url": row["tsa_url"],
                      "time": gen_time, "requested_at": row["created_at"].isoformat(), "file": path})
    return index


def build_proof_zip(conn: Connection, container, tenant_id: str, case_id: str) -> bytes:
    """The case's proof as ZIP bytes; NotFound when the case is not the tenant's."""
    case = services.get_case(conn, tenant_id, case_id)
    events = [e.to_dict() for e in services.list_events(conn, tenant_id, case_id)]
    recorded = conn.execute(select(cases.c.ledger_length, cases.c.ledger_head).where(cases.c.id == case_id)).one()
    generated_at = dt.datetime.now(dt.timezone.utc)

    entries = _Entries()
    entries.add("ledger.json", _json({"case_id": case_id, "events": events}), "ledger")
    entries.add("case.json", _json(case), "case")
    index = _add_timestamps(entries, conn, case_id)
    entries.add("timestamps.json", _json(index), "timestamp-index")
    _add_archived(entries, container, events)

    head = {"length": recorded.ledger_length, "head": recorded.ledger_head}
    readme = render_readme(case=case, head=head, events=events, timestamps=index, files=entries.manifest,
                           generated_at=generated_at)
    entries.add("README.md", readme.encode(), "readme")
    manifest = {"format": FORMAT, "case_id": case_id, "reference": case.get("reference"),
                "generated_at": generated_at.isoformat(), "ledger": head,
                "timestamp_imprint": "SHA-256 of the ASCII hex head hash",
                "files": dict(sorted(entries.manifest.items()))}
    sums = "".join(f"{m['sha256']}  {p}\n" for p, m in sorted(entries.manifest.items()))

    buf = io.BytesIO()
    stamp = generated_at.timetuple()[:6]
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        ordered = [("README.md", entries.data["README.md"]), ("manifest.json", _json(manifest)),
                   ("SHA256SUMS", sums.encode())]
        ordered += [(p, d) for p, d in entries.data.items() if p != "README.md"]
        for path, data in ordered:
            info = zipfile.ZipInfo(path, date_time=stamp)
            info.external_attr = 0o644 << 16      # readable files once unzipped
            zf.writestr(info, data, compress_type=zipfile.ZIP_DEFLATED)
    return buf.getvalue()
