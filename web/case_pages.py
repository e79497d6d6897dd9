"""Lawyers' pages: the searchable list of cases and the case page."""
from __future__ import annotations

from flask import abort, render_template, request

from accounts.users import list_users
from casefiles import services as cases_service
from casefiles.errors import InvalidInput, NotFound
from casefiles.model import CaseFile

from . import services
from .blueprint import bp, int_param, today
from .casefacts import claim_view, deadlines, next_deadline
from .document_pages import job_state, pending_document, progress_text
from .formatting import actor_label, ledger_detail
from .security import container, current_user, login_required

PAGE_SIZE = 20
MAX_PAGE = 10**6          # only numbers the page: the cursor says where it starts
_CASE_FIELDS = frozenset(CaseFile.model_fields)


def _case_of(item: dict) -> CaseFile:
    return CaseFile.model_validate({k: v for k, v in item.items() if k in _CASE_FIELDS})


# Pages are keyset cursors, which only go forward: the link to the next page carries the cursors
# of the pages already seen ("prev"), so "Page précédente" can go back one without counting.
_TRAIL_SEP = "."          # never in a cursor (URL-safe base64)
MAX_TRAIL = 50            # past 50 pages the trail is dropped: « Première page » still works


def _next_trail(cursor: str | None, trail: list[str]) -> str | None:
    if not cursor:
        return None                       # from the first page: no cursor to come back to
    if len(trail) >= MAX_TRAIL:
        return None
    return _TRAIL_SEP.join([*trail, cursor])


def _previous_page(cursor: str | None, trail: list[str], page: int) -> dict | None:
    """The query of the page before this one, or None on the first page (or past the trail)."""
    if not cursor or page <= 1:
        return None
    if page == 2:
        return {"page": None, "cursor": None, "prev": None}
    if not trail:
        return None
    return {"page": page - 1, "cursor": trail[-1], "prev": _TRAIL_SEP.join(trail[:-1]) or None}


@bp.get("/cases")
@login_required("cases:read")
def cases():
    user = current_user()
    q = (request.args.get("q") or "").strip()[:100]
    status = request.args.get("status") or None
    if status not in cases_service.CASE_STATUSES:
        status = None
    cursor = request.args.get("cursor") or None
    trail = [t for t in (request.args.get("prev") or "").split(_TRAIL_SEP) if t][:MAX_TRAIL]
    page = int_param("page", 1, minimum=1, maximum=MAX_PAGE)
    c = container()
    delivery = services.delivery()
    on = today()
    rows = []
    with c.db.read() as conn:
        try:
            result = cases_service.list_cases(conn, user.tenant_id, q=q or None, status=status,
                                              limit=PAGE_SIZE, cursor=cursor)
        except InvalidInput:      # a tampered or stale cursor: start again from the first page
            result = cases_service.list_cases(conn, user.tenant_id, q=q or None, status=status, limit=PAGE_SIZE)
            cursor, page, trail = None, 1, []
        for item in result["items"]:
            case = _case_of(item)
            mailings = delivery.list_mailings(conn, user.tenant_id, case_id=item["id"]) if delivery else []
            rows.append({"id": item["id"], "reference": item["reference"], "debtor": case.debtor.name,
                         "status": item["status"], "claim": claim_view(case, on, c.rates),
                         "next_deadline": next_deadline(deadlines(case, on, mailings), on)})
    first = (page - 1) * PAGE_SIZE + 1 if rows else 0
    return render_template("cases.html", rows=rows, q=q, status=status, total=result["total"],
                           next_cursor=result["next_cursor"], page=page, first=first,
                           previous=_previous_page(cursor, trail, page), next_trail=_next_trail(cursor, trail),
                           last=first + len(rows) - 1 if rows else 0, statuses=cases_service.CASE_STATUSES,
                           filtered=bool(q or status))


@bp.get("/cases/<case_id>")
@login_required("cases:read")
def case(case_id: str):
    user = current_user()
    c = container()
    documents, delivery = services.documents(), services.delivery()
    on = today()
    with c.db.read() as conn:
        try:
            case, row = cases_service.load_case(conn, user.tenant_id, case_id)
        except NotFound:
            abort(404)
        events = cases_service.list_events(conn, user.tenant_id, case_id)
        check = cases_service.verify_case_ledger(conn, user.tenant_id, case_id)
        evidence = cases_service.list_evidence(conn, user.tenant_id, case_id)
        docs = documents.list_documents(conn, user.tenant_id, case_id) if documents else None
        mailings = delivery.list_mailings(conn, user.tenant_id, case_id=case_id) if delivery else None
        people = {u["id"]: u["display_name"] or u["email"] for u in list_users(conn, user.tenant_id)}
        dossier = pending_document(docs or [], "dossier_injonction_de_payer")
        dossier_progress = progress_text(dossier, job_state(conn, dossier)) if dossier else None
    claim = claim_view(case, on, c.rates)
    all_deadlines = deadlines(case, on, mailings)
    return render_template(
        "case.html", case=case, row=row, claim=claim, check=check,
        events=[{"seq": e.seq, "at": e.at, "type": e.type, "hash": e.hash, "actor": actor_label(e.actor, people),
                 "detail": ledger_detail(e.type, e.payload)} for e in reversed(events)],
        evidence=evidence, documents=docs, mailings=mailings, deadlines=all_deadlines,
        next_deadline=next_deadline(all_deadlines, on), documents_available=documents is not None,
        delivery_available=delivery is not None, dossier_pending=dossier, dossier_progress=dossier_progress)
