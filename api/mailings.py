"""Registered mail: mailings, tracking events, receipts, packets, provider webhooks."""
from __future__ import annotations

import datetime as dt
import hashlib
import io
import re
import zipfile
from typing import Annotated, Literal

from flask import Blueprint, Response, request
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field
from sqlalchemy.exc import OperationalError

from casefiles.errors import DomainError
from delivery import LaPosteSuiviProvider, PaperLrarProvider, ProviderError, WebhookSignatureError, verify_webhook
from delivery import service as mail
from persistence.tables import inbound_hook_events
from storage import content_disposition

from ._http import (
    bool_arg,
    container,
    domain_problem,
    int_arg,
    json_body,
    parsed_body,
    require,
    run_read,
    run_write,
    screen_json,
)
from .cases import read_upload
from .openapi import Param, operation
from .problems import Problem
from .schemas import EvidenceOut

bp = Blueprint("mailings", __name__)

EventType = Literal["deposited", "first_presented", "delivered", "unclaimed", "refused", "addressee_unknown",
                    "returned"]


class MailingIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    document_id: str
    service: Literal["lrar", "lre"]
    level: Literal["R1", "R2", "R3"]
    tracking_number: str | None = Field(default=None, description="UPU S10 (e.g. RA473124829FR, check digit "
                                        "verified) or La Poste domestic (e.g. 1A01234567890)")
    annexes: list[str] = Field(default_factory=list, description="evidence ids of the case (PDF, PNG or JPEG), "
                               "printed after the letter in this order; images become A4 pages")


class TrackingIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    tracking_number: str


_ISO_DATETIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,9})?)?(Z|z|[+-][0-9]{2}:[0-9]{2})")


def _iso_datetime_only(value):
    """An instant as ISO 8601 text with its offset: no Unix seconds, no date without a time."""
    if not isinstance(value, str) or not _ISO_DATETIME.fullmatch(value):
        raise ValueError("expected an ISO 8601 date-time with its time zone, e.g. 2026-03-05T10:12:00+01:00")
    return value


IsoDateTime = Annotated[dt.datetime, BeforeValidator(_iso_datetime_only)]


class MailingEventIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: EventType
    at: IsoDateTime = Field(description="ISO 8601 date-time with its time zone, e.g. 2026-03-05T10:12:00+01:00")
    id: str | None = Field(default=None, max_length=200, description="the source's event id (deduplication)")


class MailingEventOut(BaseModel):
    type: str
    at: str
    source: str


class MailingOut(BaseModel):
    id: str
    case_id: str
    case_reference: str
    debtor_name: str
    document_id: str
    service: str
    level: str
    provider: str
    tracking_number: str | None
    status: str
    payment_days: int
    effective_date: str | None = Field(description="first presentation (Paris date), else delivery")
    deadline: str | None = Field(description="effective date + payment days, CPC 641/642 with the debtor's holidays")
    deposited_at: str | None
    awaiting_receipt: bool = Field(description="deposited or presented, no outcome yet and no scanned avis "
                                   "de réception uploaded")
    receipt_scanned: bool = Field(description="a scanned avis de réception is archived for this mailing")
    annexes: list[str] = Field(description="evidence ids printed after the letter")
    created_at: str
    updated_at: str
    events: list[MailingEventOut]


class MailingList(BaseModel):
    items: list[MailingOut]


class PrintBatchIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    mailing_ids: list[str] = Field(min_length=1, max_length=500)


class ReceiptOut(BaseModel):
    mailing: MailingOut
    evidence: EvidenceOut


class CsvLine(BaseModel):
    line: int
    tracking_number: str | None = None
    event: str | None = None
    at: str | None = None
    mailing_id: str | None = None
    column: str | None = None
    message: str | None = None


class CsvReport(BaseModel):
    dry_run: bool
    accepted: list[CsvLine]
    rejected: list[CsvLine]


@bp.post("/cases/<case_id>/mailings")
@operation("Post a letter by registered mail", tags=("mailings",), permission="mailings:write", body=MailingIn,
           responses={201: MailingOut}, errors=(404, 409),
           description="422 with pointers into the case (e.g. /debtor/name, /debtor/address/lines/0) when the "
                       "recipient's or the sender's address cannot be laid out on the envelope (NF Z10-011).")
def create(case_id: str):
    body = json_body()
    parsed_body(MailingIn, body)
    return run_write(lambda conn, p: _created(mail.create_mailing(conn, p.tenant_id, p.actor, case_id, body)),
                     "mailings:write")


def _created(out: dict):
    return 201, out, {"Location": f"/v1/mailings/{out['id']}"}


@bp.patch("/mailings/<uuid:mailing_id>")
@operation("Add the tracking number", tags=("mailings",), permission="mailings:write", body=TrackingIn,
           responses={200: MailingOut}, errors=(404, 409))
def patch(mailing_id):
    mailing_id = str(mailing_id)
    body = json_body()
    return run_write(lambda conn, p: (200, mail.set_tracking_number(conn, p.tenant_id, p.actor, mailing_id, body), {}),
                     "mailings:write")


@bp.get("/mailings/<uuid:mailing_id>")
@operation("A mailing with its events, effective date and deadline", tags=("mailings",), permission="cases:read",
           responses={200: MailingOut}, errors=(404,))
def get(mailing_id):
    mailing_id = str(mailing_id)
    return run_read(lambda conn, p: mail.get_mailing(conn, p.tenant_id, mailing_id), "cases:read")


@bp.get("/mailings")
@operation("Mailings, oldest first (the clerks' queue)", tags=("mailings",), permission="cases:read",
           responses={200: MailingList}, errors=(422,),
           params=(Param("awaiting_receipt", schema={"type": "boolean"}),
                   Param("older_than_days", schema={"type": "integer", "minimum": 0, "maximum": 3650}),
                   Param("case_id")))
def list_():
    args = request.args
    awaiting = bool_arg("awaiting_receipt")
    older_n = int_arg("older_than_days", None, minimum=0, maximum=3650)
    return run_read(lambda conn, p: {"items": mail.list_mailings(
        conn, p.tenant_id, case_id=args.get("case_id") or None,
        awaiting_receipt=awaiting, older_than_days=older_n)}, "cases:read")


@bp.post("/mailings/<uuid:mailing_id>/events")
@operation("Record a tracking event (idempotent; any order)", tags=("mailings",), permission="mailings:write",
           body=MailingEventIn, responses={200: MailingOut}, errors=(404, 409),
           description="The same event again (same id, or same type and instant) is stored once; an id already "
                       "recorded with another type or instant is a 409.")
def add_event(mailing_id):
    mailing_id = str(mailing_id)
    ev = parsed_body(MailingEventIn, json_body())
    return run_write(lambda conn, p: (200, mail.record_event(
        conn, p.tenant_id, p.actor, mailing_id, type=ev.type, at=ev.at, event_id=ev.id), {}),
        "mailings:write")


RECEIPT_FORM = {"type": "object", "required": ["file"], "additionalProperties": False,
                "properties": {"file": {"type": "string", "format": "binary",
                                        "description": "scanned avis de réception: PDF, PNG or JPEG"}}}


@bp.post("/mailings/<uuid:mailing_id>/receipt")
@operation("Upload the scanned avis de réception", tags=("mailings",), permission="mailings:write",
           body=RECEIPT_FORM, body_media="multipart/form-data", responses={201: ReceiptOut}, errors=(404, 413, 415))
def receipt(mailing_id):
    mailing_id = str(mailing_id)
    c = container()
    data, media, _, filename = read_upload(c.settings.max_upload_bytes)
    extra = [k for k in request.form]
    if extra:
        raise Problem(422, "Invalid input", errors=[{"pointer": f"/{k}", "detail": "unknown field"} for k in extra])
    return run_write(lambda conn, p: (201, mail.attach_receipt_scan(
        conn, c, p.tenant_id, p.actor, mailing_id, data=data, media_type=media, filename=filename), {}),
        "mailings:write")


@bp.get("/mailings/<uuid:mailing_id>/pdf")
@operation("The print-ready packet: address sheet for a DL window envelope, then the signed letter",
           tags=("mailings",), permission="cases:read", responses={200: ("The packet", None, "application/pdf")},
           errors=(404,), description="Built and archived on first request (recorded in the case's ledger), then "
                                      "served from the archive. 422 with pointers into the case when an address "
                                      "cannot be laid out on the envelope.")
def packet(mailing_id):
    mailing_id = str(mailing_id)
    p = require("cases:read")
    # No transaction around the call: packet_pdf holds none while it builds (see there).
    pdf, _ = _domain(lambda: mail.packet_pdf(container(), p.tenant_id, mailing_id, actor=p.actor))
    resp = Response(pdf, mimetype="application/pdf")
    resp.headers["Content-Disposition"] = content_disposition(f"envoi-{mailing_id}.pdf")
    resp.headers["X-Content-SHA256"] = hashlib.sha256(pdf).hexdigest()
    return resp


def _domain(call):
    """A service call that runs its own transactions, answered like run_write's."""
    try:
        return call()
    except DomainError as exc:
        raise domain_problem(exc) from None
    except OperationalError:
        raise Problem(503, "Database unavailable", "retry later", headers={"Retry-After": "2"}) from None


@bp.post("/mailings/print-batch")
@operation("One PDF for the printer and the deposit manifest (ZIP: batch.pdf + manifest.csv)", tags=("mailings",),
           permission="mailings:write", body=PrintBatchIn, responses={200: ("ZIP", None, "application/zip")},
           errors=(404,))
def print_batch():
    req = parsed_body(PrintBatchIn, json_body())
    p = require("mailings:write")
    # Built before the write transaction, which then only records an Idempotency-Key's answer:
    # print_batch builds and records each missing packet in transactions of its own.
    pdf, manifest = _domain(lambda: mail.print_batch(container(), p.tenant_id, req.mailing_ids, actor=p.actor))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("batch.pdf", pdf)
        z.writestr("manifest.csv", manifest)
    resp = Response(buf.getvalue(), mimetype="application/zip")
    resp.headers["Content-Disposition"] = content_disposition("lot-recommandes.zip")
    return run_write(lambda conn, p: resp, "mailings:write")


CSV_BODY = {"type": "string", "description": "CSV with header tracking_number,event,date (',' or ';')"}


@bp.post("/mailings/tracking-import")
@operation("Import tracking events from a CSV (preview with dry_run=true)", tags=("mailings",),
           permission="mailings:write", body=CSV_BODY, body_media="text/csv", responses={200: CsvReport},
           params=(Param("dry_run", schema={"type": "boolean", "default": False}),), errors=(415,))
def tracking_import():
    if request.mimetype not in ("text/csv", "text/plain"):
        raise Problem(415, "Unsupported media type", "send the CSV as text/csv")
    dry_run = bool_arg("dry_run", False)
    text = request.get_data()   # a line holding a control character is a rejected line (parse_tracking_csv)
    return run_write(lambda conn, p: (200, mail.import_tracking_csv(conn, p.tenant_id, p.actor, text,
                                                                    dry_run=dry_run), {}), "mailings:write")


PROVIDERS = {"laposte": LaPosteSuiviProvider(), "paper": PaperLrarProvider()}
HOOK_TOLERANCE = dt.timedelta(minutes=5)


class HookResult(BaseModel):
    status: Literal["accepted", "duplicate"]
    applied: int = 0
    unknown_tracking_numbers: int = 0
    conflicts: int = Field(default=0, description="events skipped: their id is recorded with another type or "
                                                  "instant (e.g. a reworded La Poste label)")


@bp.post("/hooks/<provider>")
@operation("Tracking events pushed by a registered-mail provider (HMAC-signed)", tags=("mailings",),
           body={"type": "object"}, responses={200: HookResult}, errors=(400, 401, 404, 422),
           params=(Param("X-Hook-Timestamp", where="header", description="unix seconds"),
                   Param("X-Hook-Signature", where="header",
                         description="hex HMAC-SHA256 over '<timestamp>.' + body with the provider's secret")),
           description="Secret: RECOUVRE_HOOK_SECRET_<PROVIDER>. Requests outside a 5-minute window are refused; "
                       "a delivery seen before is acknowledged and ignored. An event whose id is already "
                       "recorded with another content is skipped and counted in `conflicts`; the others apply.")
def hook(provider: str):
    c = container()
    impl = PROVIDERS.get(provider)
    secret = c.settings.environ.get(f"RECOUVRE_HOOK_SECRET_{provider.upper()}")
    if impl is None or not secret:
        raise Problem(404, "Not found", f"no webhook is configured for provider {provider!r}")
    body = request.get_data()
    try:
        verify_webhook(secret.encode(), request.headers.get("X-Hook-Timestamp", ""), body,
                       request.headers.get("X-Hook-Signature", ""), now=dt.datetime.now(dt.timezone.utc),
                       tolerance=HOOK_TOLERANCE)
    except WebhookSignatureError as exc:
        raise Problem(401, "Invalid webhook signature", exc.reason) from None
    document = screen_json(body)
    try:
        events = impl.parse_document(document)
    except ProviderError as exc:
        raise Problem(422, "Invalid webhook payload", str(exc), errors=[{"pointer": "", "detail": str(exc)}]) from None
    delivery_id = hashlib.sha256(body).hexdigest()
    from sqlalchemy import insert, select
    with c.db.write() as conn:
        seen = conn.execute(select(inbound_hook_events.c.event_id).where(
            inbound_hook_events.c.provider == provider, inbound_hook_events.c.event_id == delivery_id)).first()
        if seen:
            return {"status": "duplicate", "applied": 0, "unknown_tracking_numbers": 0, "conflicts": 0}
        conn.execute(insert(inbound_hook_events).values(provider=provider, event_id=delivery_id,
                                                        received_at=dt.datetime.now(dt.timezone.utc)))
        try:
            counts = mail.apply_provider_events(conn, provider, events)
        except DomainError as exc:   # e.g. an event dated in the future: 422, nothing kept
            raise domain_problem(exc) from None
    return {"status": "accepted", **counts}
