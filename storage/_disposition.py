"""The Content-Disposition of a download, shared by streamed responses and presigned URLs."""

from __future__ import annotations

import unicodedata
from urllib.parse import quote

__all__ = ["content_disposition"]


def content_disposition(filename: str) -> str:
    """``attachment`` with an ASCII ``filename="…"`` for old clients and the exact name as
    RFC 8187 ``filename*=UTF-8''…``: header values are Latin-1 at most, and a case reference
    may hold any letter."""
    fallback = "".join(_ascii(ch) for ch in filename) or "download"
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


def _ascii(ch: str) -> str:
    """« é » → « e »; no ASCII form, a quote, a backslash or a control character → « _ »."""
    base = unicodedata.normalize("NFKD", ch).encode("ascii", "ignore").decode()
    if base and base.isprintable() and '"' not in base and "\\" not in base:
        return base
    return "_"
