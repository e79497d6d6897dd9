"""How long a décompte takes for a large file: 200 invoices, 200 payments (target < 20 ms)."""
from __future__ import annotations

import datetime as dt
import json
import random
import statistics
import time
from typing import Any

from casefiles.model import CaseFile
from law import ClaimOptions, compute_claim, load_rate_book


def build_case(invoices: int = 200, payments: int = 200, seed: int = 7) -> CaseFile:
    """A commercial file spread over 2023–2026, a third of the payments designated."""
    rng = random.Random(seed)
    party = {"name": "X SAS", "address": {"lines": ["1 rue A"], "postal_code": "75001", "city": "Paris"}}
    first = dt.date(2023, 1, 1)
    invs = []
    for n in range(invoices):
        issue = first + dt.timedelta(days=rng.randrange(0, 1000))
        invs.append({"number": f"F-{n:04d}", "issue_date": issue.isoformat(),
                     "due_date": (issue + dt.timedelta(days=rng.choice((0, 30, 45, 60)))).isoformat(),
                     "amount": f"{rng.randrange(10_000, 2_000_000) / 100:.2f}"})
    pays = []
    for _ in range(payments):
        p = {"date": (first + dt.timedelta(days=rng.randrange(30, 1270))).isoformat(),
             "amount": f"{rng.randrange(1_000, 500_000) / 100:.2f}"}
        if rng.random() < 1 / 3:
            p["invoice_number"] = rng.choice(invs)["number"]
        pays.append(p)
    return CaseFile.model_validate({
        "reference": "BENCH-1", "creditor": {"kind": "company", **party},
        "debtor": {"kind": "company", **party}, "invoices": invs, "payments": pays})


def run(repeat: int = 30) -> dict[str, Any]:
    case = build_case()
    book = load_rate_book()
    as_of = dt.date(2026, 6, 30)
    compute_claim(case, as_of, rates=book)  # warm caches
    timings = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        statement = compute_claim(case, as_of, ClaimOptions(), rates=book)
        timings.append((time.perf_counter() - t0) * 1000)
    return {
        "benchmark": "compute_claim", "invoices": len(case.invoices), "payments": len(case.payments),
        "lines": len(statement.lines), "repeat": repeat,
        "median_ms": round(statistics.median(timings), 3), "min_ms": round(min(timings), 3),
        "target_ms": 20,
    }


if __name__ == "__main__":
    print(json.dumps(run()))
