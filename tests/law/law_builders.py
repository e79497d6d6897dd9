"""Small case-file builders for the law tests (valid CaseFile objects, Decimal amounts)."""
from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

from casefiles.model import CaseFile, parse_case

FIXTURES = Path(__file__).parent / "fixtures"

_ADDRESS = {"lines": ["1 rue de la Paix"], "postal_code": "75002", "city": "Paris"}


def load_fixture(name: str) -> CaseFile:
    case, errors = parse_case(json.loads((FIXTURES / name).read_text(encoding="utf-8")))
    assert not errors, errors
    return case


def inv(number: str, due: str, amount: str, issue: str | None = None) -> dict[str, Any]:
    return {"number": number, "issue_date": issue or "2020-01-01", "due_date": due, "amount": amount}


def pay(date: str, amount: str, invoice: str | None = None) -> dict[str, Any]:
    p: dict[str, Any] = {"date": date, "amount": amount}
    if invoice is not None:
        p["invoice_number"] = invoice
    return p


def make_case(invoices: list[dict[str, Any]], payments: list[dict[str, Any]] = (), *,  # type: ignore[assignment]
              creditor: str = "company", debtor: str = "company", notice: str | None = None,
              late_interest: dict[str, Any] | None = None, postal_code: str = "75002",
              contract: str | None = None) -> CaseFile:
    data: dict[str, Any] = {
        "reference": "T-1",
        "creditor": {"kind": creditor, "name": "Créancier", "address": _ADDRESS},
        "debtor": {"kind": debtor, "name": "Débiteur", "address": {**_ADDRESS, "postal_code": postal_code}},
        "invoices": invoices,
        "payments": list(payments),
    }
    if notice:
        data["formal_notice_date"] = notice
    if late_interest:
        data["late_interest"] = late_interest
    if contract:
        data["contract"] = {"reference": contract}
    return CaseFile.model_validate(data)


def d(text: str) -> dt.date:
    return dt.date.fromisoformat(text)
