"""Which archived files the ledger commits to, read from the event payloads alone.

Any object in a payload carrying both `archive_key` and `sha256` is such a commitment
(`document.generated` with its `docx` and `zip`, `mailing.packet_archived`, `evidence.uploaded`,
`mailing.receipt_scanned`…), so event types added later are covered without a list to keep up
to date. Its `version_id`, when recorded, names the archive version the digest is of.
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["ArchiveReference", "archive_references"]


@dataclass(frozen=True)
class ArchiveReference:
    seq: int
    type: str
    pointer: str        # JSON pointer inside the event, e.g. /payload/zip
    archive_key: str
    sha256: str
    version_id: str | None = None


def _walk(value: Any, pointer: str) -> Iterator[tuple[str, Mapping[str, Any]]]:
    if isinstance(value, Mapping):
        if isinstance(value.get("archive_key"), str) and isinstance(value.get("sha256"), str):
            yield pointer, value
        for k, v in value.items():
            yield from _walk(v, f"{pointer}/{str(k).replace('~', '~0').replace('/', '~1')}")
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _walk(v, f"{pointer}/{i}")


def archive_references(events: Iterable[Mapping[str, Any]]) -> list[ArchiveReference]:
    out = []
    for ev in events:
        for pointer, obj in _walk(ev.get("payload"), "/payload"):
            version = obj.get("version_id")
            out.append(ArchiveReference(ev["seq"], ev["type"], pointer, obj["archive_key"], obj["sha256"],
                                        version if isinstance(version, str) and version else None))
    return out
