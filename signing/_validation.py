"""Check signed documents: integrity, coverage, trust and PAdES level.

Never raises on bad input: a caller showing a document's status wants an
answer, not a stack trace. Each validation logs one line (INFO when the
signature holds, WARNING otherwise); pyHanko's own records of it, a
traceback per failed certificate path, are folded into that line.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import datetime as dt
import contextlib
import io
import logging
import threading
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field

from asn1crypto import x509 as asn1_x509
from cryptography.x509 import load_der_x509_certificate
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.diff_analysis import ModificationLevel
from pyhanko.sign.validation import validate_pdf_signature, validate_pdf_timestamp
from pyhanko.sign.validation.pdf_embedded import EmbeddedPdfSignature
from pyhanko.sign.validation.status import SignatureCoverageLevel
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.registry import SimpleTrustManager

__all__ = ["ValidationReport", "validate_pdf"]

log = logging.getLogger("recouvre.signing")

NOT_A_PDF = "not a PDF"
NO_SIGNATURE = "no signature"
DEVELOPMENT_CERTIFICATE = (
    "signed with Recouvre's self-signed development certificate: no legal value"
)
_PADES_SUBFILTER = "/ETSI.CAdES.detached"
_DETAIL_LIMIT = 300


@dataclass(frozen=True)
class ValidationReport:
    intact: bool
    valid: bool
    trusted: bool
    signer: str | None = None
    signed_at: dt.datetime | None = None
    timestamp: dt.datetime | None = None
    level: str | None = None
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.intact and self.valid and self.trusted

    def to_dict(self) -> dict:
        data = asdict(self)
        for key in ("signed_at", "timestamp"):
            if data[key] is not None:
                data[key] = data[key].astimezone(dt.timezone.utc).isoformat()
        return data


def validate_pdf(
    pdf: bytes,
    trust_roots: Iterable[asn1_x509.Certificate] | None = None,
    *,
    allow_fetching: bool = False,
    development_certificates: Iterable[asn1_x509.Certificate] = (),
) -> ValidationReport:
    """Validate every signature and document timestamp of ``pdf``.

    ``trusted`` is only true for chains ending at one of ``trust_roots``
    (no OS trust store), and never for a signature by one of
    ``development_certificates`` (the self-signed certificate a fresh install
    signs with is its own trust root, but vouches for nothing). Revocation is
    soft-fail and, by default, offline.
    """
    roots = list(trust_roots or [])
    development = {c.dump() for c in development_certificates}

    def run() -> ValidationReport:
        with _pyhanko_records() as records:
            report = _validate(pdf, roots, allow_fetching, development)
        _log_outcome(report, records)
        return report

    if _in_event_loop():
        # pyHanko's sync API calls asyncio.run(): hop to a thread rather than fail
        with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
            return pool.submit(run).result()
    return run()


def _validate(pdf, roots, allow_fetching, development: set[bytes]) -> ValidationReport:
    try:
        pdf = bytes(pdf)
        if b"%PDF-" not in pdf[:1024]:
            return ValidationReport(intact=False, valid=False, trusted=False, problems=[NOT_A_PDF])
        reader = PdfFileReader(io.BytesIO(pdf), strict=False)
        embedded = list(reader.embedded_signatures)
    except Exception as e:  # noqa: BLE001 - any parse failure means the same to the caller
        log.debug("unreadable PDF: %r", e)
        return ValidationReport(intact=False, valid=False, trusted=False, problems=[NOT_A_PDF])
    if not embedded:
        return ValidationReport(intact=False, valid=False, trusted=False, problems=[NO_SIGNATURE])
    return _Validation(pdf, reader, embedded, roots, allow_fetching, development).run()


def _log_outcome(report: ValidationReport, records: list[str]) -> None:
    """One line per validation, whatever pyHanko had to say on the way."""
    details = ""
    if records:
        seen = list(dict.fromkeys(" ".join(r.split()) for r in records))
        details = "; pyHanko: " + " | ".join(seen)
        if len(details) > _DETAIL_LIMIT:
            details = details[: _DETAIL_LIMIT - 1] + "…"
    log.log(
        logging.INFO if report.ok else logging.WARNING,
        "signature validation: intact=%s valid=%s trusted=%s level=%s signer=%s problems=%s%s",
        report.intact,
        report.valid,
        report.trusted,
        report.level,
        report.signer,
        "; ".join(report.problems) or "none",
        details,
    )


_collecting = threading.local()


class _CollectPyHankoRecords(logging.Filter):
    """Keeps pyHanko's records of a validation out of the log (a PathValidationError traceback
    per untrusted signature, at WARNING) and hands their messages to the summary line. Only in
    the thread running one of our validations; anything else pyHanko logs passes through."""

    def filter(self, record: logging.LogRecord) -> bool:
        sink = getattr(_collecting, "records", None)
        if sink is None:
            return True
        with contextlib.suppress(Exception):
            sink.append(record.getMessage())
        return False


_FILTER = _CollectPyHankoRecords()


@contextlib.contextmanager
def _pyhanko_records() -> Iterator[list[str]]:
    # A logger's filters see only its own records, not its children's: attach to each pyHanko
    # logger that exists (they are module loggers, all created when pyHanko was imported).
    for name, logger in list(logging.Logger.manager.loggerDict.items()):
        if name.startswith("pyhanko") and isinstance(logger, logging.Logger):
            logger.addFilter(_FILTER)  # no-op when already there
    previous = getattr(_collecting, "records", None)
    _collecting.records = records = []
    try:
        yield records
    finally:
        _collecting.records = previous


def _in_event_loop() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


class _Validation:
    def __init__(
        self,
        pdf: bytes,
        reader,
        embedded: list[EmbeddedPdfSignature],
        roots,
        allow_fetching,
        development: set[bytes] = frozenset(),
    ):
        self.pdf = pdf
        self.reader = reader
        self.embedded = embedded
        self.roots = roots
        self.allow_fetching = allow_fetching
        self.development = development
        self.intact = self.valid = self.trusted = True
        self.problems: list[str] = []

    def context(self) -> ValidationContext:
        return ValidationContext(
            trust_manager=SimpleTrustManager.build(trust_roots=self.roots),
            allow_fetching=self.allow_fetching,
            revocation_mode="soft-fail",
        )

    def fail(self, problem: str, *, intact: bool = True, valid: bool = True, trusted: bool = True):
        self.problems.append(problem)
        self.intact &= intact
        self.valid &= valid and intact
        self.trusted &= trusted

    def run(self) -> ValidationReport:
        first_sig = first_sig_status = None
        doc_timestamps = []
        for sig in self.embedded:
            name = sig.field_name or "?"
            is_doc_ts = sig.sig_object_type == "/DocTimeStamp"
            try:
                if is_doc_ts:
                    status = validate_pdf_timestamp(sig, validation_context=self.context())
                else:
                    ctx = self.context()
                    status = validate_pdf_signature(
                        sig, signer_validation_context=ctx, ts_validation_context=ctx
                    )
            except Exception as e:  # noqa: BLE001 - malformed CMS, broken xrefs...
                self.fail(
                    f"{name}: cannot be validated ({e})", intact=False, valid=False, trusted=False
                )
                continue
            self.check(name, status)
            if is_doc_ts:
                doc_timestamps.append(status)
            elif first_sig is None:
                first_sig, first_sig_status = sig, status
        if _has_trailing_data(self.pdf):
            self.fail("data appended after the end of the signed document", intact=False)
        if first_sig is None:
            self.fail(NO_SIGNATURE, valid=False)
            return self.report(None, None, doc_timestamps)
        return self.report(first_sig, first_sig_status, doc_timestamps)

    def check(self, name: str, status) -> None:
        if not status.intact:
            self.fail(f"{name}: digest mismatch, the signed bytes were altered", intact=False)
        elif not _coverage_ok(status):
            level = status.modification_level
            self.fail(
                f"{name}: document modified after signing"
                + (f" ({level.name})" if level is not None else ""),
                intact=False,
            )
        if status.intact and not status.valid:
            self.fail(f"{name}: cryptographic signature is invalid", valid=False)
        signing_cert = getattr(status, "signing_cert", None)
        if signing_cert is not None and signing_cert.dump() in self.development:
            self.fail(f"{name}: {DEVELOPMENT_CERTIFICATE}", trusted=False)
        elif not status.trusted:
            why = f" ({status.trust_problem_indic.name})" if status.trust_problem_indic else ""
            self.fail(f"{name}: certificate not trusted{why}", trusted=False)
        ts = getattr(status, "timestamp_validity", None)
        if ts is not None:
            if not (ts.intact and ts.valid):
                self.fail(f"{name}: signature timestamp is invalid", valid=False)
            elif not ts.trusted:
                self.fail(f"{name}: signature timestamp not trusted", trusted=False)

    def report(self, sig, status, doc_timestamps) -> ValidationReport:
        signer = signed_at = timestamp = level = None
        if status is not None:
            signer = subject_string(status.signing_cert)
            signed_at = status.signer_reported_dt
            if status.timestamp_validity is not None:
                timestamp = status.timestamp_validity.timestamp
            level = self.level(sig, status, doc_timestamps)
        if timestamp is None and doc_timestamps:
            timestamp = doc_timestamps[0].timestamp
        return ValidationReport(
            intact=self.intact,
            valid=self.valid and self.intact,
            trusted=self.trusted,
            signer=signer,
            signed_at=signed_at,
            timestamp=timestamp,
            level=level,
            problems=self.problems,
        )

    def level(self, sig: EmbeddedPdfSignature, status, doc_timestamps) -> str | None:
        if sig.sig_object.get("/SubFilter") != _PADES_SUBFILTER:
            return None
        timestamped = status.timestamp_validity is not None or bool(doc_timestamps)
        if not timestamped:
            return "B-B"
        if "/DSS" not in self.reader.root:
            return "B-T"
        return "B-LTA" if doc_timestamps else "B-LT"


def subject_string(cert: asn1_x509.Certificate) -> str:
    """RFC 4514 form, as pdfsig and OpenSSL print it."""
    return load_der_x509_certificate(cert.dump()).subject.rfc4514_string()


def _has_trailing_data(pdf: bytes) -> bool:
    """Bytes after the last %%EOF are outside every revision and every signature."""
    end = pdf.rfind(b"%%EOF")
    return end >= 0 and bool(pdf[end + 5 :].strip(b"\r\n\t\f \x00"))


def _coverage_ok(status) -> bool:
    if status.coverage == SignatureCoverageLevel.ENTIRE_FILE:
        return True
    if status.coverage != SignatureCoverageLevel.ENTIRE_REVISION:
        return False
    level = status.modification_level
    return (
        level is not None
        and level <= ModificationLevel.FORM_FILLING
        and (status.docmdp_ok or status.docmdp_ok is None)
    )
