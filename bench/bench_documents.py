"""Mise en demeure generation: warm converter pool against a cold ``soffice --convert-to``.

Measures, in one run (well under two minutes on 2 cores):
- the median time of one mise en demeure (render + convert + assemble) on a warm pool;
- the median time of the same document rendered then converted by a cold soffice with a
  fresh profile (what a naive implementation does per document), and the ratio;
- throughput (documents/s) with pool size 1 and 2, as many client threads as slots.

Targets: warm median ≤ 250 ms and ≥ 5× faster than cold. Run ``python -m bench.bench_documents``.
"""
from __future__ import annotations

import datetime as dt
import json
import os
import statistics
import subprocess
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path

from casefiles.model import parse_case
from generators import (
    ConverterPool,
    DocumentKind,
    DocumentPipeline,
    DocumentRequest,
    cold_convert,
    render_docx,
)
from law.statement import ClaimStatement, IndemnityLine, InterestLine, InvoiceBalance

__all__ = ["run", "TARGET_WARM_MS", "TARGET_RATIO"]

TARGET_WARM_MS = 250.0
TARGET_RATIO = 5.0
AS_OF = dt.date(2026, 6, 30)

_CASE = {
    "reference": "BENCH-0001",
    "creditor": {"kind": "company", "name": "Atelier Lumière SARL", "legal_form": "SARL", "siren": "732829320",
                 "address": {"lines": ["14 rue des Tanneurs"], "postal_code": "69002", "city": "Lyon"},
                 "iban": "FR7630006000011234567890189",
                 "representative": {"name": "Claire Martin", "title": "Gérante"}},
    "debtor": {"kind": "company", "name": "Boulangerie Dupont & Fils SAS", "legal_form": "SAS",
               "siren": "404833048", "address": {"lines": ["3 place du Marché"], "postal_code": "67000",
                                                 "city": "Strasbourg"}},
    "contract": {"reference": "Devis D-2025-118", "date": "2025-09-02"},
    "invoices": [{"number": "F-2025-0412", "issue_date": "2025-10-01", "due_date": "2025-10-31",
                  "amount": "4800.00"},
                 {"number": "F-2025-0467", "issue_date": "2025-11-15", "due_date": "2025-12-15",
                  "amount": "2350.40"}],
    "reminders": [{"date": "2026-01-05", "channel": "letter", "summary": "Relance"}],
}


def _line(invoice: str, start: dt.date, principal: str) -> InterestLine:
    days = (AS_OF - start).days
    amount = (Decimal(principal) * Decimal("12.15") / 100 * days / 365).quantize(Decimal("0.01"))
    return InterestLine(invoice, start, AS_OF, days, Decimal(principal), Decimal("12.15"), 365, amount,
                        "BCE 2,15 % + 10 points", "barème BCE", True)


def _case_and_claim():
    case, errors = parse_case(_CASE)
    assert not errors, errors
    lines = (_line("F-2025-0412", dt.date(2025, 10, 31), "4800.00"),
             _line("F-2025-0467", dt.date(2025, 12, 15), "2350.40"))
    interest = sum((ln.amount for ln in lines), Decimal(0))
    principal = Decimal("7150.40")
    claim = ClaimStatement(
        regime="commercial", as_of=AS_OF, principal=principal, paid=Decimal(0), principal_outstanding=principal,
        interest_accrued=interest, interest_paid=Decimal(0), interest_outstanding=interest,
        indemnities=Decimal("80.00"), credit=Decimal(0), total_outstanding=principal + interest + Decimal("80.00"),
        lines=lines, indemnity_lines=tuple(IndemnityLine(i["number"], Decimal("40.00"), "C. com. D441-5")
                                           for i in _CASE["invoices"]),
        imputations=(), invoices=tuple(
            InvoiceBalance(inv.number, inv.issue_date, inv.due_date, inv.amount, Decimal(0), inv.amount, ln.amount,
                           Decimal(0), Decimal("40.00"), inv.due_date) for inv, ln in zip(case.invoices, lines, strict=True)),
    )
    return case, claim


def _request() -> DocumentRequest:
    case, claim = _case_and_claim()
    return DocumentRequest(kind=DocumentKind.mise_en_demeure, case=case, claim=claim, as_of=AS_OF)


def _timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return (time.perf_counter() - start) * 1000


def _throughput(size: int, documents: int, work_dir: Path) -> float:
    request = _request()
    with ConverterPool(size=size, work_dir=work_dir, timeout=60) as pool:
        pool.start()
        pipeline = DocumentPipeline(converter=pool)
        for _ in range(size * 2):  # warm every slot
            pipeline.generate(request)
        start = time.perf_counter()
        with ThreadPoolExecutor(max_workers=size) as ex:
            list(ex.map(lambda _: pipeline.generate(request), range(documents)))
        return documents / (time.perf_counter() - start)


def _libreoffice_version() -> str:
    try:
        return subprocess.run(["soffice", "--version"], capture_output=True, text=True, timeout=60, check=False).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def run(warm_runs: int = 15, cold_runs: int = 3, throughput_docs: int = 16) -> dict:
    """One benchmark run; returns the figures (milliseconds, documents/s) and whether targets are met."""
    request = _request()
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="recouvre-bench-") as tmp:
        work = Path(tmp)
        with ConverterPool(size=1, work_dir=work, timeout=60) as pool:
            pool.start()
            pipeline = DocumentPipeline(converter=pool)
            for _ in range(3):
                pipeline.generate(request)
            warm = [_timed(lambda: pipeline.generate(request)) for _ in range(warm_runs)]
            ctx, _ = pipeline.context(request)
            render = [_timed(lambda: render_docx("mise_en_demeure", ctx)) for _ in range(5)]
        docx = render_docx("mise_en_demeure", ctx)
        cold = [_timed(lambda: (render_docx("mise_en_demeure", ctx), cold_convert(docx))) for _ in range(cold_runs)]
        tput1 = _throughput(1, throughput_docs, work)
        tput2 = _throughput(2, throughput_docs, work)
    warm_median = statistics.median(warm)
    cold_median = statistics.median(cold)
    ratio = cold_median / warm_median
    return {
        "document": "mise_en_demeure (2 pages, PDF/A-2b)",
        "warm_median_ms": round(warm_median, 1),
        "warm_p90_ms": round(sorted(warm)[int(0.9 * (len(warm) - 1))], 1),
        "warm_runs": warm_runs,
        "render_median_ms": round(statistics.median(render), 1),
        "cold_median_ms": round(cold_median, 1),
        "cold_runs": cold_runs,
        "cold_over_warm": round(ratio, 1),
        "throughput_docs_per_s": {"pool_size_1": round(tput1, 2), "pool_size_2": round(tput2, 2)},
        "throughput_gain_size_2": round(tput2 / tput1, 2),
        "targets": {"warm_median_ms_max": TARGET_WARM_MS, "cold_over_warm_min": TARGET_RATIO,
                    "met": warm_median <= TARGET_WARM_MS and ratio >= TARGET_RATIO},
        "cpus": os.cpu_count(),
        "libreoffice": _libreoffice_version(),
        "bench_seconds": round(time.perf_counter() - started, 1),
    }


if __name__ == "__main__":
    print(json.dumps(run(), indent=2, ensure_ascii=False))
