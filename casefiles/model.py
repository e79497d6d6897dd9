"""The case file as collection software sends it, and the rules a court would check.

Pydantic describes the shape (and gives the OpenAPI schema); `case_rule_errors` adds the
cross-field rules (check digits, dates, references between lists). Both report errors as
`FieldError(pointer, message)` so the API can answer one JSON pointer per faulty field.
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from decimal import Decimal
from enum import Enum
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    field_serializer,
)
from pydantic_core import PydanticCustomError

from .identifiers import check_iban, check_siren, check_siret, check_vat

__all__ = [
    "Address", "Representative", "Creditor", "Debtor", "CollectionAgency", "Invoice", "Payment",
    "Reminder", "LateInterest", "Contract", "Ordonnance", "CaseFile", "PaymentIn", "ReminderIn", "FieldError",
    "parse_case", "parse_model", "case_rule_errors", "payment_rule_errors", "money", "CENT",
    "CreditorKind", "DebtorKind", "InterestBasis", "ReminderChannel", "COMMERCIAL_KINDS", "IsoDate",
    "parse_iso_date", "address_errors", "has_forbidden_characters", "FORBIDDEN_CHARACTERS_DETAIL",
]

CENT = Decimal("0.01")
COMMERCIAL_KINDS = frozenset({"company", "professional"})


@dataclass(frozen=True)
class FieldError:
    pointer: str
    message: str

    def to_dict(self) -> dict[str, str]:
        return {"pointer": self.pointer, "detail": self.message}


# C0 control characters other than tab, line feed and carriage return, and unpaired UTF-16
# surrogates (JSON "\ud800"): PostgreSQL refuses NUL in text, no encoder can write a lone surrogate,
# and none of them has a place in a name, an address or a note. Tab, line feed and carriage return
# stay allowed in every string, not only in free text (a reminder summary needs them): this check
# knows nothing of the fields, and the models decide what a field may hold beyond it.
_FORBIDDEN_CHARACTERS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff]")
FORBIDDEN_CHARACTERS_DETAIL = "control characters (other than tab and line breaks) and unpaired surrogates are not allowed"


def has_forbidden_characters(text: str) -> bool:
    return _FORBIDDEN_CHARACTERS.search(text) is not None


def money(value: Decimal | str | int) -> Decimal:
    return Decimal(value).quantize(CENT)


def _amount(v: str) -> Decimal:
    return money(v)


_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def parse_iso_date(value: str) -> dt.date | None:
    """An ISO 8601 calendar date written YYYY-MM-DD, else None.

    date.fromisoformat alone would also take "20251001" and week dates such as "2025-W40-1".
    """
    if not isinstance(value, str) or not _ISO_DATE.fullmatch(value):
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        return None


def _calendar_date_only(value: Any) -> Any:
    """Pydantic's lax date would take a Unix timestamp (0, "1700006400") or a date-time string."""
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    if isinstance(value, str) and _ISO_DATE.fullmatch(value):
        return value          # pydantic checks the calendar (no 30 February)
    raise PydanticCustomError("date_format", "date must be an ISO 8601 calendar date YYYY-MM-DD")


IsoDate = Annotated[dt.date, BeforeValidator(_calendar_date_only)]

# Amounts travel as JSON strings ("4800.00"): a JSON number would go through a binary float.
# Patterns say [0-9], not \d: pydantic's regex engine counts Arabic-Indic and other digits as \d.
AmountStr = Annotated[
    str,
    StringConstraints(pattern=r"^(0*[1-9][0-9]{0,11}(\.[0-9]{1,2})?|0+\.(0[1-9]|[1-9][0-9]?))$"),
    Field(description="Amount in euros, greater than zero, as a string with at most two decimals, e.g. \"1234.56\"",
          examples=["1234.56"]),
]
PositiveAmount = Annotated[AmountStr, AfterValidator(_amount)]
RateStr = Annotated[
    str,
    StringConstraints(pattern=r"^[0-9]{1,2}(\.[0-9]{1,4})?$"),
    Field(description="Annual rate in percent, e.g. \"12.15\""),
    AfterValidator(lambda v: Decimal(v)),
]
Text = Annotated[str, StringConstraints(min_length=1, max_length=200, strip_whitespace=True)]
LongText = Annotated[str, StringConstraints(min_length=1, max_length=2000, strip_whitespace=True)]
ShortText = Annotated[str, StringConstraints(min_length=1, max_length=64, strip_whitespace=True)]
AddressLine = Annotated[str, StringConstraints(min_length=1, max_length=38, strip_whitespace=True)]
Country = Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class CreditorKind(str, Enum):
    company = "company"
    professional = "professional"
    individual = "individual"


class DebtorKind(str, Enum):
    company = "company"
    professional = "professional"
    consumer = "consumer"


class InterestBasis(str, Enum):
    ecb_plus_10 = "ecb_plus_10"
    legal_rate = "legal_rate"
    contract = "contract"
    none = "none"


class ReminderChannel(str, Enum):
    email = "email"
    phone = "phone"
    letter = "letter"
    sms = "sms"
    visit = "visit"


class Address(_Strict):
    """A postal address per NF Z10-011: at most 6 lines of 38 characters with the locality.

    Name, up to 4 lines here, then "CODE POSTAL LOCALITÉ": 6 lines at most.
    """

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, json_schema_extra={
        "if": {"properties": {"country": {"const": "FR"}}},
        "then": {"properties": {"postal_code": {"pattern": "^[0-9]{5}$"}}},
    })

    lines: Annotated[list[AddressLine], Field(min_length=1, max_length=4)]
    postal_code: Annotated[str, StringConstraints(min_length=1, max_length=10)]
    city: Annotated[str, StringConstraints(min_length=1, max_length=32)]
    country: Country = "FR"


class Representative(_Strict):
    name: Text
    title: Text | None = None


class _Party(_Strict):
    name: Text
    legal_form: ShortText | None = None
    siren: Annotated[str, StringConstraints(pattern=r"^[0-9]{9}$")] | None = Field(default=None, description="9 digits, Luhn check")
    siret: Annotated[str, StringConstraints(pattern=r"^[0-9]{14}$")] | None = Field(
        default=None, description="14 digits, Luhn check (La Poste exception)")
    vat_number: str | None = Field(default=None, description="EU VAT number: FR numbers are checked (key and "
                                   "SIREN), other EU numbers by format (country prefix and 2 to 12 letters or digits)")
    email: Annotated[str, StringConstraints(max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")] | None = None
    phone: Annotated[str, StringConstraints(max_length=32, pattern=r"^\+?[0-9 ().-]{6,31}$")] | None = None
    iban: str | None = None
    representative: Representative | None = None
    address: Address
    birth_date: IsoDate | None = None
    birth_place: Text | None = None


class Creditor(_Party):
    kind: CreditorKind


class Debtor(_Party):
    kind: DebtorKind


class CollectionAgency(_Strict):
    name: Text
    address: Address
    siren: str | None = None
    email: Annotated[str, StringConstraints(max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")] | None = None
    phone: Annotated[str, StringConstraints(max_length=32, pattern=r"^\+?[0-9 ().-]{6,31}$")] | None = None
    representative: Representative | None = None


class Invoice(_Strict):
    number: ShortText
    issue_date: IsoDate
    due_date: IsoDate
    amount: PositiveAmount
    currency: Literal["EUR"] = "EUR"
    description: LongText | None = None

    @field_serializer("amount")
    def _ser_amount(self, v: Decimal) -> str:
        return f"{v:.2f}"


class PaymentIn(_Strict):
    date: IsoDate
    amount: PositiveAmount
    invoice_number: ShortText | None = None
    method: ShortText | None = None
    reference: ShortText | None = None

    @field_serializer("amount")
    def _ser_amount(self, v: Decimal) -> str:
        return f"{v:.2f}"


Payment = PaymentIn


class ReminderIn(_Strict):
    date: IsoDate
    channel: ReminderChannel
    summary: LongText
    outcome: ShortText | None = None
    promised_payment_date: IsoDate | None = None


Reminder = ReminderIn


class LateInterest(_Strict):
    basis: InterestBasis
    annual_rate: RateStr | None = None

    @field_serializer("annual_rate")
    def _ser_rate(self, v: Decimal | None) -> str | None:
        return None if v is None else format(v, "f")


class Contract(_Strict):
    reference: ShortText
    date: IsoDate | None = None
    description: LongText | None = None


class Ordonnance(_Strict):
    """The judge's ordonnance portant injonction de payer: its date starts the signification deadline."""

    date: IsoDate
    court: Text | None = None
    reference: ShortText | None = None


class CaseFile(_Strict):
    reference: Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._/-]*$")]
    creditor: Creditor
    debtor: Debtor
    collection_agency: CollectionAgency | None = None
    contract: Contract | None = None
    invoices: Annotated[list[Invoice], Field(min_length=1, max_length=5000)]
    payments: Annotated[list[PaymentIn], Field(max_length=5000)] = []
    reminders: Annotated[list[ReminderIn], Field(max_length=5000)] = []
    late_interest: LateInterest | None = None
    formal_notice_date: IsoDate | None = None
    ordonnance: Ordonnance | None = None

    @property
    def is_commercial(self) -> bool:
        """L441-10 applies between professionals: both parties act for their trade."""
        return self.creditor.kind.value in COMMERCIAL_KINDS and self.debtor.kind.value in COMMERCIAL_KINDS

    def invoice(self, number: str) -> Invoice | None:
        return next((i for i in self.invoices if i.number == number), None)


def _pointer(loc: tuple[Any, ...]) -> str:
    parts = [str(p).replace("~", "~0").replace("/", "~1") for p in loc]
    return "/" + "/".join(parts) if parts else ""


_FRIENDLY = {
    "extra_forbidden": "unknown field",
    "missing": "required field is missing",
}
_PATTERN_MESSAGES = {
    "amount": 'amount must be a string greater than zero with at most two decimals, e.g. "1234.56"',
    "annual_rate": 'annual_rate must be a percentage string, e.g. "12.15"',
    "siren": "SIREN must be 9 digits",
    "siret": "SIRET must be 14 digits",
    "reference": "reference: letters, digits, '.', '_', '/', '-' (64 characters at most)",
    "country": "country must be an ISO 3166 two-letter code in capitals, e.g. FR",
    "email": "not a valid e-mail address",
    "phone": "not a valid phone number",
}


def validation_errors(exc: ValidationError, prefix: str = "") -> list[FieldError]:
    out = []
    for err in exc.errors(include_url=False):
        loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-")))
        msg = _FRIENDLY.get(err["type"], err["msg"])
        if err["type"] == "string_pattern_mismatch":
            msg = _PATTERN_MESSAGES.get(str(loc[-1]) if loc else "", msg)
        out.append(FieldError(prefix + _pointer(loc), msg))
    return out


def parse_model(model: type[BaseModel], data: Any, prefix: str = "") -> tuple[Any, list[FieldError]]:
    if not isinstance(data, dict):
        return None, [FieldError(prefix, "must be a JSON object")]
    try:
        return model.model_validate(data), []
    except ValidationError as exc:
        return None, validation_errors(exc, prefix)


def parse_case(data: Any) -> tuple[CaseFile | None, list[FieldError]]:
    case, errors = parse_model(CaseFile, data)
    if errors:
        return None, errors
    errors = case_rule_errors(case)
    return (None, errors) if errors else (case, [])


def _party_errors(party: _Party, base: str, person: bool) -> list[FieldError]:
    errs: list[FieldError] = []
    checks = (("siren", check_siren), ("siret", check_siret), ("vat_number", check_vat),
              ("iban", check_iban))
    for field, check in checks:
        value = getattr(party, field)
        if value is not None and (msg := check(value)):
            errs.append(FieldError(f"{base}/{field}", msg))
    faulty = {e.pointer for e in errs}
    if party.siren and party.siret and not party.siret.startswith(party.siren) and not (
        {f"{base}/siren", f"{base}/siret"} & faulty
    ):
        errs.append(FieldError(f"{base}/siret", "SIRET must start with the SIREN"))
    # Only a French VAT number is built on the SIREN (FR + key + SIREN); one error per pointer.
    vat = (party.vat_number or "").replace(" ", "").upper()
    if party.siren and vat.startswith("FR") and f"{base}/vat_number" not in faulty and vat[4:] != party.siren:
        errs.append(FieldError(f"{base}/vat_number", "VAT number does not contain the SIREN"))
    if not person and (party.birth_date or party.birth_place):
        field = "birth_date" if party.birth_date else "birth_place"
        errs.append(FieldError(f"{base}/{field}", "birth date and place only apply to natural persons"))
    errs += address_errors(party.address, f"{base}/address")
    return errs


def address_errors(address: Address, base: str) -> list[FieldError]:
    errs = []
    if address.country == "FR" and not re.fullmatch(r"[0-9]{5}", address.postal_code):
        errs.append(FieldError(f"{base}/postal_code", "a French postal code has 5 digits"))
    # NF Z10-011: the line "CODE POSTAL LOCALITÉ" is at most 38 characters like every other line of
    # the address block, whatever the country (a French code of 5 digits and a 32-character city
    # always fit; a longer foreign postal code may not).
    if len(address.postal_code) + 1 + len(address.city) > 38:
        errs.append(FieldError(f"{base}/city", "postal code and city must fit on one line of 38 characters"))
    return errs


def case_rule_errors(case: CaseFile) -> list[FieldError]:
    errs = _party_errors(case.creditor, "/creditor", case.creditor.kind != CreditorKind.company)
    errs += _party_errors(case.debtor, "/debtor", case.debtor.kind != DebtorKind.company)
    if case.collection_agency:
        if case.collection_agency.siren and (msg := check_siren(case.collection_agency.siren)):
            errs.append(FieldError("/collection_agency/siren", msg))
        errs += address_errors(case.collection_agency.address, "/collection_agency/address")
    seen: dict[str, int] = {}
    for i, inv in enumerate(case.invoices):
        if inv.number in seen:
            errs.append(FieldError(f"/invoices/{i}/number", f"duplicate invoice number (same as /invoices/{seen[inv.number]})"))
        seen.setdefault(inv.number, i)
        if inv.due_date < inv.issue_date:
            errs.append(FieldError(f"/invoices/{i}/due_date", "due_date must not be before issue_date"))
        if inv.amount <= 0:
            errs.append(FieldError(f"/invoices/{i}/amount", "amount must be greater than zero"))
    for i, p in enumerate(case.payments):
        errs += payment_rule_errors(case, p, f"/payments/{i}")
    for i, r in enumerate(case.reminders):
        if r.promised_payment_date and r.promised_payment_date < r.date:
            errs.append(FieldError(f"/reminders/{i}/promised_payment_date", "must not be before the reminder date"))
    li = case.late_interest
    if li:
        if li.basis == InterestBasis.contract and li.annual_rate is None:
            errs.append(FieldError("/late_interest/annual_rate", "required when basis is contract"))
        if li.basis != InterestBasis.contract and li.annual_rate is not None:
            errs.append(FieldError("/late_interest/annual_rate", "only allowed when basis is contract"))
    return errs


def payment_rule_errors(case: CaseFile, payment: PaymentIn, base: str) -> list[FieldError]:
    errs = []
    if payment.amount <= 0:
        errs.append(FieldError(f"{base}/amount", "amount must be greater than zero"))
    if payment.invoice_number is not None and case.invoice(payment.invoice_number) is None:
        errs.append(FieldError(f"{base}/invoice_number", "no invoice with this number in the case"))
    first_issue = min(i.issue_date for i in case.invoices)
    if payment.date < first_issue:
        errs.append(FieldError(f"{base}/date", f"payment before the first invoice ({first_issue.isoformat()})"))
    return errs
