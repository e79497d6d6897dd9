"""Offline verification of a proof ZIP: no server, no database, only the file (and, to judge the
TSA, its root certificates).

Nothing in the ZIP is taken on trust except what can be recomputed: the chain from the events,
each file's digest against the ledger event that records it, and each token's imprint against
the ledger's own hash at the token's event. The manifest, SHA256SUMS and timestamps.json are
indexes; disagreeing with what is recomputed makes them a problem, never the authority. So is
any file besides the indexes and tokens that no ledger event records: a file the manifest alone
vouches for is one a forger could have put there.
"""
from __future__ import annotations

import asyncio
import concurrent.futures
import datetime as dt
import hashlib
import io
import json
import zipfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from casefiles.ledger import verify_chain

from ._references import archive_references
from ._tokens import IMPRINT_ALGORITHM, TokenError, TokenInfo, head_imprint, read_token

__all__ = ["ProofReport", "verify_proof_zip", "load_trust_roots"]

FORMAT = "recouvre-proof/1"
# Files of the format itself; every other file is a token (judged by check_timestamps) or an
# archived file some ledger event must record.
INDEX_FILES = frozenset({"README.md", "manifest.json", "SHA256SUMS", "ledger.json", "case.json",
                         "timestamps.json"})
# A TSA's clock and ours may differ a little; a token older than the event it certifies by more
# than this means the ledger's times were written after the fact.
CLOCK_TOLERANCE = dt.timedelta(minutes=5)


@dataclass
class ProofReport:
    valid: bool
    problems: list[str] = field(default_factory=list)
    checks: list[str] = field(default_factory=list)


def load_trust_roots(source: str | Path | bytes) -> list:
    """Certificates of a PEM bundle (or one DER certificate), from a path or bytes."""
    from asn1crypto import pem, x509
    data = source if isinstance(source, bytes) else Path(source).read_bytes()
    try:
        if pem.detect(data):
            certs = [x509.Certificate.load(der) for _, _, der in pem.unarmor(data, multiple=True)]
        else:
            certs = [x509.Certificate.load(data)]
        for cert in certs:
            _ = cert.native
    except (ValueError, TypeError) as exc:
        raise ValueError(f"not a PEM or DER certificate: {exc}") from None
    if not certs:
        raise ValueError("no certificate found")
    return certs


def _run(coro):
    """pyHanko's validation is async; run it whether or not the caller has a loop going."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()


def token_signature(der: bytes, info: TokenInfo, trust_roots: list | None) -> tuple[str | None, str]:
    """(problem or None, description) for the token's CMS signature and, given roots, its TSA."""
    from asn1crypto import cms
    from pyhanko.sign.general import extract_signer_info
    from pyhanko.sign.validation.generic_cms import (
        extract_certs_for_validation, validate_sig_integrity, validate_tst_signed_data,
    )
    from pyhanko.sign.validation.status import TimestampSignatureStatus
    from pyhanko_certvalidator import ValidationContext

    signed_data = cms.ContentInfo.load(der)["content"]
    try:
        if trust_roots:
            # Judged at the token's own time: was the TSA certificate valid, for time stamping,
            # under one of these roots, when it signed? Revocation cannot be checked offline.
            context = ValidationContext(trust_roots=list(trust_roots), allow_fetching=False,
                                        revocation_mode="soft-fail", moment=info.gen_time)
            status = TimestampSignatureStatus(**_run(validate_tst_signed_data(
                signed_data, context, lambda _algo: info.imprint)))
            intact, valid, cert = status.intact, status.valid, status.signing_cert
            trusted = status.trusted
        else:
            cert = extract_certs_for_validation(signed_data).signer_cert
            signer_info = extract_signer_info(signed_data)
            algo = signer_info["digest_algorithm"]["algorithm"].native
            content = bytes(signed_data["encap_content_info"]["content"])
            intact, valid = validate_sig_integrity(signer_info, cert, "tst_info", hashlib.new(algo, content).digest())
            trusted = None
    except Exception as exc:  # noqa: BLE001 - any failure to validate is a finding, not a crash
        return f"its signature cannot be validated: {exc}", ""
    tsa = cert.subject.human_friendly
    if not (intact and valid):
        return f"its CMS signature is broken (intact={intact}, valid={valid}): the token was altered", tsa
    if trusted is None:
        return None, f"signature intact, TSA “{tsa}” not checked against a trust root (use --trust)"
    if not trusted:
        return f"its TSA “{tsa}” does not chain to the given trust roots for time stamping", tsa
    return None, f"signature intact, TSA “{tsa}” trusted"


class _Verification:
    def __init__(self, trust_roots: list | None):
        self.trust_roots = trust_roots
        self.problems: list[str] = []
        self.checks: list[str] = []
        self.files: dict[str, bytes] = {}

    def problem(self, text: str) -> None:
        self.problems.append(text)

    def json(self, path: str) -> Any:
        if path not in self.files:
            self.problem(f"{path} is missing")
            return None
        try:
            return json.loads(self.files[path])
        except ValueError as exc:
            self.problem(f"{path} is not valid JSON: {exc}")
            return None

    def run(self, data: bytes) -> None:
        try:
            zf = zipfile.ZipFile(io.BytesIO(data))
            names = [i.filename for i in zf.infolist() if not i.is_dir()]
            self.files = {n: zf.read(n) for n in names}
        except (zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:
            self.problem(f"not a readable ZIP file: {exc}")
            return
        if len(names) != len(self.files):
            dupes = sorted({n for n in names if names.count(n) > 1})
            self.problem(f"the ZIP holds several entries named {', '.join(dupes)}: one may hide another")
        manifest = self.json("manifest.json") or {}
        if manifest and manifest.get("format") != FORMAT:
            self.problem(f"manifest.json: unknown format {manifest.get('format')!r} (expected {FORMAT})")
        listed = manifest.get("files") if isinstance(manifest.get("files"), dict) else {}
        self.check_digests(listed)
        events = self.check_ledger(manifest)
        if events is None:
            return
        self.check_case()
        self.check_documents(listed, events)
        self.check_timestamps(events)

    def check_digests(self, listed: Mapping[str, Any]) -> None:
        good = 0
        for path in sorted(self.files):
            if path not in listed and path not in ("manifest.json", "SHA256SUMS"):
                self.problem(f"{path}: not listed in manifest.json")
        for path, meta in sorted(listed.items()):
            if path not in self.files:
                self.problem(f"{path}: listed in manifest.json but missing from the ZIP")
                continue
            actual = hashlib.sha256(self.files[path]).hexdigest()
            if actual != meta.get("sha256"):
                self.problem(f"{path}: SHA-256 {actual} differs from the manifest's {meta.get('sha256')}")
            else:
                good += 1
        if listed:
            self.checks.append(f"{good} of {len(listed)} files match their SHA-256 in manifest.json")
        sums = "".join(f"{m.get('sha256')}  {p}\n" for p, m in sorted(listed.items()))
        if "SHA256SUMS" in self.files and self.files["SHA256SUMS"].decode(errors="replace") != sums:
            self.problem("SHA256SUMS disagrees with manifest.json")

    def check_ledger(self, manifest: Mapping[str, Any]) -> list[dict[str, Any]] | None:
        ledger = self.json("ledger.json")
        if not isinstance(ledger, dict) or not isinstance(ledger.get("events"), list):
            if ledger is not None:
                self.problem("ledger.json: expected an object with case_id and events")
            return None
        events, case_id = ledger["events"], ledger.get("case_id")
        self.case_id = case_id
        try:
            chain = verify_chain(events, case_id)
        except (KeyError, TypeError, AttributeError) as exc:
            self.problem(f"ledger.json: malformed event ({exc!r})")
            return None
        if not chain.valid:
            self.problem(f"ledger.json: event {chain.first_broken}: {chain.reason}")
        else:
            head = events[-1]["hash"] if events else None
            self.checks.append(f"ledger: hash chain of {len(events)} events recomputed, head {head}")
        if manifest.get("case_id") not in (None, case_id):
            self.problem(f"manifest.json is about case {manifest.get('case_id')}, ledger.json about {case_id}")
        recorded = manifest.get("ledger") or {}
        if recorded and (recorded.get("length") != len(events) or
                         (events and recorded.get("head") != events[-1].get("hash"))):
            self.problem(f"ledger.json: the case's recorded head (event {recorded.get('length')}, "
                         f"{recorded.get('head')}) is not the chain's last event (event {len(events)})")
        return events

    def check_case(self) -> None:
        case = self.json("case.json")
        if isinstance(case, dict) and case.get("id") != self.case_id:
            self.problem(f"case.json describes case {case.get('id')}, not {self.case_id}")
        elif isinstance(case, dict):
            self.checks.append("case.json: current state of the case, for information (the ledger is authoritative)")

    def check_documents(self, listed: Mapping[str, Any], events: list[dict[str, Any]]) -> None:
        refs: dict[str, list] = {}
        for ref in archive_references(events):
            refs.setdefault(ref.archive_key, []).append(ref)
        in_zip: set[str] = set()
        for path in sorted(self.files):
            if path in INDEX_FILES or path.startswith("timestamps/"):
                continue
            meta = listed.get(path)
            meta = meta if isinstance(meta, Mapping) else {}
            key = meta.get("archive_key")
            recorded = refs.get(key, []) if isinstance(key, str) else []
            if not recorded:
                self.problem(f"{path}: no ledger event records this file"
                             + (f" (archive key {key})" if isinstance(key, str) else "")
                             + ": it is not evidence of this case, only the manifest names it")
                continue
            in_zip.add(key)
            actual = hashlib.sha256(self.files[path]).hexdigest()
            ledger = meta.get("ledger") if isinstance(meta.get("ledger"), list) else []
            claimed = {(r.get("seq"), r.get("pointer")) for r in ledger if isinstance(r, Mapping)}
            if claimed != {(r.seq, r.pointer) for r in recorded}:
                self.problem(f"{path}: manifest.json cites ledger event(s) {sorted((s for s, _ in claimed), key=str)} but the "
                             f"ledger records this file in {sorted(r.seq for r in recorded)}")
            bad = [r for r in recorded if r.sha256 != actual]
            for r in bad:
                self.problem(f"{path}: SHA-256 {actual} differs from {r.sha256} recorded by ledger event "
                             f"{r.seq} ({r.type}): the file is not the one the ledger vouches for")
            if not bad:
                self.checks.append(f"{path}: SHA-256 matches ledger event "
                                   f"{', '.join(str(r.seq) for r in recorded)} ({recorded[0].type})")
        for key, recorded in refs.items():
            if key not in in_zip:
                r = recorded[0]
                self.problem(f"ledger event {r.seq} ({r.type}) records the archived file {key}, "
                             "missing from the proof")

    def check_timestamps(self, events: list[dict[str, Any]]) -> None:
        index = self.json("timestamps.json")
        if not isinstance(index, list):
            if index is not None:
                self.problem("timestamps.json: expected a list")
            return
        named = {t.get("file") for t in index if isinstance(t, dict)}
        for path in sorted(self.files):
            if path.startswith("timestamps/") and path not in named:
                self.problem(f"{path}: a token not listed in timestamps.json")
        if not index:
            self.checks.append("no timestamp: no time-stamping authority vouches for this ledger; "
                               "its integrity rests on the hash chain and this file alone")
            return
        covered = 0
        for entry in index:
            seq = self.check_token(entry, events)
            covered = max(covered, seq or 0)
        if covered and covered < len(events):
            later = f"event {len(events)} was" if covered + 1 == len(events) else \
                f"events {covered + 1} to {len(events)} were"
            self.checks.append(f"{later} recorded after the last timestamp: the hash chain alone vouches for "
                               f"{'it' if covered + 1 == len(events) else 'them'}")
        elif covered:
            self.checks.append(f"every event (1 to {len(events)}) is covered by a timestamp")

    def check_token(self, entry: Any, events: list[dict[str, Any]]) -> int | None:
        """Checks one token; answers the event number it validly certifies."""
        if not isinstance(entry, dict) or not isinstance(entry.get("seq"), int):
            self.problem(f"timestamps.json: malformed entry {entry!r}")
            return None
        seq, path = entry["seq"], entry.get("file")
        der = self.files.get(path)
        if der is None:
            self.problem(f"timestamps.json cites {path}, missing from the ZIP")
            return None
        try:
            info = read_token(der)
        except TokenError as exc:
            self.problem(f"{path}: {exc}")
            return None
        if not 1 <= seq <= len(events):
            self.problem(f"{path}: certifies event {seq} but the ledger has {len(events)} events: "
                         "events were removed after it was issued")
            return None
        event = events[seq - 1]
        head = event.get("hash")
        ok = True
        if entry.get("head_hash") != head:
            self.problem(f"{path}: timestamps.json names head {entry.get('head_hash')} for event {seq}, "
                         f"but the ledger's event {seq} has hash {head}")
            ok = False
        if info.hash_algorithm != IMPRINT_ALGORITHM or info.imprint != head_imprint(str(head)):
            self.problem(f"{path}: the token's imprint ({info.hash_algorithm} {info.imprint.hex()}) is not "
                         f"SHA-256 of event {seq}'s hash: it certifies another ledger (swapped or forged token)")
            ok = False
        problem, description = token_signature(der, info, self.trust_roots)
        if problem:
            self.problem(f"{path}: {problem}")
            ok = False
        try:
            at = dt.datetime.fromisoformat(str(event.get("at")).replace("Z", "+00:00"))
            if info.gen_time < at - CLOCK_TOLERANCE:
                self.problem(f"{path}: issued at {info.gen_time.isoformat()}, before event {seq} "
                             f"says it happened ({event.get('at')})")
                ok = False
        except ValueError:
            pass   # an unreadable time is already a chain matter; the hash covers it
        if entry.get("time") and entry["time"] != info.gen_time.astimezone(dt.timezone.utc).isoformat():
            self.problem(f"timestamps.json gives {entry['time']} for {path}, the token says "
                         f"{info.gen_time.isoformat()}")
            ok = False
        if not ok:
            return None
        self.checks.append(f"{path}: RFC 3161 token of {info.gen_time.astimezone(dt.timezone.utc).isoformat()} "
                           f"certifies events 1 to {seq} (head {head}); {description}")
        return seq


def verify_proof_zip(data: bytes, *, trust_roots: Iterable | None = None) -> ProofReport:
    """Checks a proof ZIP offline. Without trust roots the TSA's identity is reported, not judged."""
    v = _Verification(list(trust_roots) if trust_roots else None)
    v.run(data)
    return ProofReport(valid=not v.problems, problems=v.problems, checks=v.checks)
