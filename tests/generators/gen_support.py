"""Case files and hand-built décomptes for the document tests.

The claim engine (law.compute_claim) is written elsewhere; these ClaimStatements are built
by hand with the engine's conventions (start exclusive, end inclusive, actual/365, each line
rounded half-up to the cent, interest before principal) so every printed figure is known.
"""
from __future__ import annotations

import datetime as dt
import io
import json
import re
import subprocess
import zipfile
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

from casefiles.model import CaseFile, parse_case
from law.statement import ClaimStatement, Imputation, IndemnityLine, InterestLine, InvoiceBalance

FIXTURES = Path(__file__).parent / "fixtures"
AS_OF = dt.date(2026, 6, 30)
CENT = Decimal("0.01")
D = Decimal


def load_case(name: str, **changes) -> CaseFile:
    data = json.loads((FIXTURES / f"case-{name}.json").read_text(encoding="utf-8"))
    data.update(changes)
    case, errors = parse_case(data)
    assert not errors, errors
    return case


def line(invoice: str, start: dt.date, end: dt.date, principal: str, rate: str, basis: str,
         source: str, verified: bool = True) -> InterestLine:
    days = (end - start).days
    amount = (D(principal) * D(rate) / 100 * days / 365).quantize(CENT, ROUND_HALF_UP)
    return InterestLine(invoice=invoice, start=start, end=end, days=days, principal=D(principal), rate=D(rate),
                        divisor=365, amount=amount, basis=basis, rate_source=source, verified=verified)


CONVENTIONS = {
    "Décompte des jours": "jours exacts / 365 (jour de départ exclu, jour d'arrivée inclus)",
    "Imputation des paiements": "sur les intérêts puis sur le principal (art. 1343-1 C. civ.)",
    "Arrondi": "au centime le plus proche, ligne par ligne",
}


def b2b_claim(warnings: tuple[str, ...] = ()) -> ClaimStatement:
    """F-2025-0412 (4 800,00, due 31/10/2025) partly paid 1 500,00 on 20/01/2026; F-2025-0467
    (2 350,40, due 15/12/2025) unpaid; L441-10 default rate 12,15 % in 2025-S2 and 2026-S1."""
    s2 = ("BCE 2,15 % au 01/07/2025 + 10 points", "Taux BCE (MRO) en vigueur au 1er juillet 2025")
    s1 = ("BCE 2,15 % au 01/01/2026 + 10 points", "Taux BCE (MRO) en vigueur au 1er janvier 2026")
    pay_date = dt.date(2026, 1, 20)
    a1 = line("F-2025-0412", dt.date(2025, 10, 31), dt.date(2025, 12, 31), "4800.00", "12.15", *s2)
    a2 = line("F-2025-0412", dt.date(2025, 12, 31), pay_date, "4800.00", "12.15", *s1)
    to_interest = a1.amount + a2.amount
    to_principal = D("1500.00") - to_interest
    remaining = D("4800.00") - to_principal
    a3 = line("F-2025-0412", pay_date, AS_OF, str(remaining), "12.15", *s1)
    b1 = line("F-2025-0467", dt.date(2025, 12, 15), dt.date(2025, 12, 31), "2350.40", "12.15", *s2)
    b2 = line("F-2025-0467", dt.date(2025, 12, 31), AS_OF, "2350.40", "12.15", *s1)
    lines = (a1, a2, a3, b1, b2)
    accrued = sum((ln.amount for ln in lines), D(0))
    a_accrued = a1.amount + a2.amount + a3.amount
    b_accrued = b1.amount + b2.amount
    invoices = (
        InvoiceBalance("F-2025-0412", dt.date(2025, 10, 1), dt.date(2025, 10, 31), D("4800.00"), to_principal,
                       remaining, a_accrued, to_interest, D("40.00"), dt.date(2025, 10, 31)),
        InvoiceBalance("F-2025-0467", dt.date(2025, 11, 15), dt.date(2025, 12, 15), D("2350.40"), D("0.00"),
                       D("2350.40"), b_accrued, D("0.00"), D("40.00"), dt.date(2025, 12, 15)),
    )
    principal_outstanding = remaining + D("2350.40")
    interest_outstanding = accrued - to_interest
    return ClaimStatement(
        regime="commercial", as_of=AS_OF, principal=D("7150.40"), paid=D("1500.00"),
        principal_outstanding=principal_outstanding, interest_accrued=accrued, interest_paid=to_interest,
        interest_outstanding=interest_outstanding, indemnities=D("80.00"), credit=D("0.00"),
        total_outstanding=principal_outstanding + interest_outstanding + D("80.00"),
        lines=lines,
        indemnity_lines=(IndemnityLine("F-2025-0412", D("40.00"), "C. com. D441-5"),
                         IndemnityLine("F-2025-0467", D("40.00"), "C. com. D441-5")),
        imputations=(Imputation(pay_date, D("1500.00"), "F-2025-0412", to_interest, to_principal, True),),
        invoices=invoices, conventions=dict(CONVENTIONS), warnings=warnings,
    )


def b2c_claim() -> ClaimStatement:
    """645,90 € unpaid since 02/12/2025; taux légal « autres cas » 2026-S1 (2,62 %) from the notice of 02/03/2026."""
    ln = line("2025-1187", dt.date(2026, 3, 2), AS_OF, "645.90", "2.62", "taux légal (autres cas) 2026-S1",
              "Arrêté du 22 décembre 2025 (JO)")
    return ClaimStatement(
        regime="civil", as_of=AS_OF, principal=D("645.90"), paid=D("0.00"), principal_outstanding=D("645.90"),
        interest_accrued=ln.amount, interest_paid=D("0.00"), interest_outstanding=ln.amount, indemnities=D("0.00"),
        credit=D("0.00"), total_outstanding=D("645.90") + ln.amount, lines=(ln,), indemnity_lines=(),
        imputations=(),
        invoices=(InvoiceBalance("2025-1187", dt.date(2025, 12, 2), dt.date(2025, 12, 2), D("645.90"), D("0.00"),
                                 D("645.90"), ln.amount, D("0.00"), D("0.00"), dt.date(2026, 3, 2)),),
        conventions=dict(CONVENTIONS),
    )


AGENCY = {
    "name": "Cabinet Recouvra SAS",
    "address": {"lines": ["22 boulevard Haussmann"], "postal_code": "75009", "city": "Paris", "country": "FR"},
    "siren": "732829320",
    "email": "contact@recouvra.example",
    "representative": {"name": "Paul Girard", "title": "Chargé de recouvrement"},
}


def agency_case() -> CaseFile:
    return load_case("b2b", reference="EX-AGENCE-0001", collection_agency=AGENCY)


def dupont_case() -> CaseFile:
    """A debtor named like XML, and user text carrying characters docxtpl turns into breaks."""
    data = json.loads((FIXTURES / "case-b2b.json").read_text(encoding="utf-8"))
    data["reference"] = "EX-DUPONT-0001"
    data["debtor"]["name"] = "Dupont & Fils <SARL>"
    data["debtor"]["legal_form"] = "SARL"
    data["debtor"]["address"]["lines"] = ["Zone \"Les <Acacias>\" & Cie", "12 rue\fdu Four"]
    data["invoices"][0]["description"] = "Éclairage\fvitrine\a acompte\x0b1"
    data["contract"]["description"] = "Pose <urgente> & soignée\f"
    case, errors = parse_case(data)
    assert not errors, errors
    return case


# -- reading PDFs with independent tools ----------------------------------------------------------

def run(*cmd: str, data: bytes | None = None) -> str:
    return subprocess.run(cmd, input=data, capture_output=True, check=True).stdout.decode("utf-8", "replace")


def pdftotext(pdf: bytes) -> str:
    """The page layout kept (a table row stays on one line), then every run of spaces, line ends
    included, made one space; a line ending on a hyphen is joined to the next."""
    text = run("pdftotext", "-layout", "-enc", "UTF-8", "-", "-", data=pdf)
    text = text.replace("\u00a0", " ").replace("\u202f", " ").replace("\u2019", "'")
    text = re.sub(r"(?<=\w)-[ \t]*\n\s*", "-", text)
    return re.sub(r"\s+", " ", text)


def pdffonts(pdf: bytes, tmp: Path) -> list[dict[str, str]]:
    path = tmp / "fonts.pdf"
    path.write_bytes(pdf)
    rows = run("pdffonts", str(path)).splitlines()[2:]
    fonts = []
    for row in rows:
        cols = row.split()
        # name type [type…] encoding emb sub uni id gen: read from the right
        fonts.append({"name": cols[0], "emb": cols[-5], "sub": cols[-4], "uni": cols[-3]})
    return fonts


def xmp(pdf: bytes, tmp: Path) -> str:
    path = tmp / "meta.pdf"
    path.write_bytes(pdf)
    return run("pdfinfo", "-meta", str(path))


def norm(s: str) -> str:
    return re.sub(r"\s+", " ", s.replace("\u00a0", " ").replace("\u202f", " "))


def zip_names(data: bytes) -> list[str]:
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        return z.namelist()
