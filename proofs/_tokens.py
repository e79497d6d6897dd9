"""RFC 3161 tokens over a ledger head: how the imprint is formed and how a token is read back.

The imprint is SHA-256 over the head hash written as its 64 ASCII hex digits (the exact text
stored in `ledger.json`). Hashing the text rather than reusing the hex-decoded head keeps the
hand check to standard tools: `printf %s HEAD | sha256sum`, or `openssl ts -verify -data`
on a file holding the head without a newline.
"""
from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass

__all__ = ["IMPRINT_ALGORITHM", "head_imprint", "TokenInfo", "read_token", "TokenError"]

IMPRINT_ALGORITHM = "sha256"


class TokenError(ValueError):
    """The bytes are not a time-stamp token (CMS SignedData encapsulating a TSTInfo)."""


def head_imprint(head_hash: str) -> bytes:
    return hashlib.sha256(head_hash.encode("ascii")).digest()


@dataclass(frozen=True)
class TokenInfo:
    hash_algorithm: str
    imprint: bytes
    gen_time: dt.datetime
    serial_number: int
    tsa_name: str | None


def read_token(der: bytes) -> TokenInfo:
    from asn1crypto import cms, core, tsp
    try:
        info = cms.ContentInfo.load(der)
        if info["content_type"].native != "signed_data":
            raise TokenError(f"CMS content is {info['content_type'].native}, not signed data")
        eci = info["content"]["encap_content_info"]
        content = eci["content"]
        tst = content.parsed if isinstance(content, core.ParsableOctetString) else None
        if eci["content_type"].native != "tst_info" or not isinstance(tst, tsp.TSTInfo):
            raise TokenError("the signed data does not encapsulate a TSTInfo")
        tsa = tst["tsa"]
        tsa_name = None
        if tsa.native is not None:
            chosen = tsa.chosen
            tsa_name = chosen.human_friendly if hasattr(chosen, "human_friendly") else str(chosen.native)
        return TokenInfo(
            hash_algorithm=tst["message_imprint"]["hash_algorithm"]["algorithm"].native,
            imprint=tst["message_imprint"]["hashed_message"].native,
            gen_time=tst["gen_time"].native,
            serial_number=tst["serial_number"].native,
            tsa_name=tsa_name,
        )
    except TokenError:
        raise
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        raise TokenError(f"unreadable time-stamp token: {exc}") from None
