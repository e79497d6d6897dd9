"""The décompte and the legal deadlines of a case."""
from __future__ import annotations

import datetime as dt

from flask import Blueprint, request

from casefiles import services as cases

from ._http import container, run_read
from .openapi import Param, operation
from .problems import Problem

bp = Blueprint("claims", __name__)

CLAIM_SCHEMA = {"type": "object", "required": ["regime", "as_of", "principal", "paid", "principal_outstanding",
                                               "interest_accrued", "interest_paid", "interest_outstanding",
                                               "indemnities", "credit", "total_outstanding", "lines",
                                               "conventions", "warnings"],
                "properties": {
                    "regime": {"enum": ["commercial", "civil"]}, "as_of": {"type": "string", "format": "date"},
                    **{k: {"type": "string", "pattern": r"^-?\d+\.\d{2}$"} for k in (
                        "principal", "paid", "principal_outstanding", "interest_accrued", "interest_paid",
                        "interest_outstanding", "indemnities", "credit", "total_outstanding")},
                    "lines": {"type": "array", "items": {"type": "object", "required": [
                        "invoice", "from", "to", "days", "principal", "rate", "amount"]}},
                    "conventions": {"type": "object"}, "warnings": {"type": "array", "items": {"type": "string"}}}}
DEADLINES_SCHEMA = {"type": "object", "required": ["items"], "properties": {"items": {"type": "array", "items": {
    "type": "object", "required": ["kind", "date", "basis", "description"],
    "properties": {"kind": {"type": "string"}, "date": {"type": "string", "format": "date"},
                   "basis": {"type": "string"}, "description": {"type": "string"},
                   "invoice": {"type": ["string", "null"]}}}}}}


def _date_arg(name: str, default: dt.date) -> dt.date:
    raw = request.args.get(name)
    if raw is None:
        return default
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        raise Problem(422, "Invalid input", errors=[{"pointer": f"/{name}", "detail": "must be a date YYYY-MM-DD"}]) from None


@bp.get("/cases/<case_id>/claim")
@operation("The décompte as of a date", tags=("claims",), permission="cases:read", responses={200: CLAIM_SCHEMA},
           errors=(404, 422),
           params=(Param("as_of", schema={"type": "string", "format": "date"}, description="default: today (Paris)"),
                   Param("imputation", schema={"enum": ["interest_first", "principal_first"]}),
                   Param("day_count", schema={"enum": ["actual_365", "actual_actual"]})),
           description="Regime, interest lines (period, days, principal, rate, amount), indemnities and totals. "
                       "A period with no published rate answers 422 naming the semester and basis.")
def claim(case_id: str):
    from documents import paris_today
    from law import ClaimOptions, MissingRateError, compute_claim
    as_of = _date_arg("as_of", paris_today())
    errors = []
    imputation = request.args.get("imputation", "interest_first")
    day_count = request.args.get("day_count", "actual_365")
    if imputation not in ("interest_first", "principal_first"):
        errors.append({"pointer": "/imputation", "detail": "interest_first or principal_first"})
    if day_count not in ("actual_365", "actual_actual"):
        errors.append({"pointer": "/day_count", "detail": "actual_365 or actual_actual"})
    if errors:
        raise Problem(422, "Invalid input", errors=errors)

    def compute(conn, p):
        case, _ = cases.load_case(conn, p.tenant_id, case_id)
        try:
            return compute_claim(case, as_of, ClaimOptions(imputation=imputation, day_count=day_count),
                                 rates=container().rates).to_dict()
        except MissingRateError as exc:
            raise Problem(422, "Missing rate", f"no {exc.basis} rate for {exc.semester}; an operator can add it "
                          "with `recouvre rates add`", semester=exc.semester, basis=exc.basis, errors=[]) from None
    return run_read(compute, "cases:read")


@bp.get("/cases/<case_id>/deadlines")
@operation("The legal dates that matter now", tags=("claims",), permission="cases:read",
           responses={200: DEADLINES_SCHEMA}, errors=(404, 422),
           params=(Param("today", schema={"type": "string", "format": "date"}),))
def deadlines(case_id: str):
    from documents import paris_today
    from law import case_deadlines
    today = _date_arg("today", paris_today())

    def compute(conn, p):
        case, _ = cases.load_case(conn, p.tenant_id, case_id)
        notices = _notices(conn, p.tenant_id, case_id)
        items = case_deadlines(case, today, notices=notices,
                               ordonnance_date=case.ordonnance.date if case.ordonnance else None)
        return {"items": [{"kind": d.kind, "date": d.date.isoformat(), "basis": d.basis,
                           "description": d.description, "invoice": d.invoice} for d in items]}
    return run_read(compute, "cases:read")


def _notices(conn, tenant_id: str, case_id: str) -> list[tuple[dt.date, int]]:
    """Effective dates of the case's mises en demeure, with their payment periods."""
    from sqlalchemy import select

    from persistence.tables import documents, mailings
    rows = conn.execute(select(mailings.c.effective_date, mailings.c.payment_days).join(
        documents, documents.c.id == mailings.c.document_id).where(
        mailings.c.case_id == case_id, mailings.c.tenant_id == tenant_id, documents.c.kind == "mise_en_demeure",
        mailings.c.effective_date.isnot(None))).all()
    return [(r.effective_date, r.payment_days) for r in rows]
