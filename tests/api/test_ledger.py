"""The evidence ledger: each change appends a hash-chained event; tampering is detected."""
from __future__ import annotations

import json

from click.testing import CliRunner
from sqlalchemy import update

from casefiles.ledger import GENESIS, canonical, digest
from persistence.tables import ledger_events


def _case_with_history(tenant, b2b_case):
    case = tenant.integrator.post("/v1/cases", json=b2b_case).json
    tenant.integrator.post(f"/v1/cases/{case['id']}/payments", json={"date": "2026-02-10", "amount": "100.00"})
    tenant.integrator.post(f"/v1/cases/{case['id']}/reminders",
                           json={"date": "2026-02-11", "channel": "email", "summary": "Relance"})
    return case


def test_events_are_chained_and_verifiable_offline(tenant, b2b_case):
    case = _case_with_history(tenant, b2b_case)
    events = tenant.lawyer.get(f"/v1/cases/{case['id']}/events").json["items"]
    assert [e["seq"] for e in events] == [1, 2, 3]
    assert events[0]["prev_hash"] == GENESIS
    key = tenant.keys["integrator"].split("_")[1]
    for prev, ev in zip([None, *events], events):
        assert ev["actor"].startswith("key:")
        assert ev["payload_digest"] == digest(ev["payload"])
        fields = {k: ev[k] for k in ("case_id", "seq", "type", "at", "actor", "payload_digest", "prev_hash")}
        assert ev["hash"] == __import__("hashlib").sha256(canonical(fields)).hexdigest()
        if prev:
            assert ev["prev_hash"] == prev["hash"]
    assert key not in json.dumps(events)
    assert events[1]["payload"] == {"date": "2026-02-10", "amount": "100.00"}
    assert tenant.lawyer.get(f"/v1/cases/{case['id']}/events/verify").json == {"valid": True, "length": 3}


def test_editing_a_stored_event_is_caught(tenant, container, b2b_case, settings, monkeypatch):
    case = _case_with_history(tenant, b2b_case)
    with container.db.write() as conn:
        conn.execute(update(ledger_events).where(ledger_events.c.case_id == case["id"], ledger_events.c.seq == 2)
                     .values(payload={"date": "2026-02-10", "amount": "1000.00"}))
    check = tenant.lawyer.get(f"/v1/cases/{case['id']}/events/verify").json
    assert check["valid"] is False and check["first_broken"] == 2 and "digest" in check["reason"]

    for k, v in {"RECOUVRE_DATA_DIR": str(settings.data_dir), "RECOUVRE_DATABASE_URL": settings.database_url}.items():
        monkeypatch.setenv(k, v)
    from cli.main import cli
    result = CliRunner().invoke(cli, ["ledger", "verify", "--case", case["id"]])
    assert result.exit_code == 1
    assert json.loads(result.output.strip().splitlines()[-1])["first_broken"] == 2


def test_rehashing_an_edited_event_still_breaks_the_chain(tenant, container, b2b_case):
    case = _case_with_history(tenant, b2b_case)
    events = tenant.lawyer.get(f"/v1/cases/{case['id']}/events").json["items"]
    forged = dict(events[0], payload={**events[0]["payload"], "reference": "FORGED"})
    forged["payload_digest"] = digest(forged["payload"])
    fields = {k: forged[k] for k in ("case_id", "seq", "type", "at", "actor", "payload_digest", "prev_hash")}
    forged["hash"] = digest(fields)
    with container.db.write() as conn:
        conn.execute(update(ledger_events).where(ledger_events.c.case_id == case["id"], ledger_events.c.seq == 1)
                     .values(payload=forged["payload"], payload_digest=forged["payload_digest"], hash=forged["hash"]))
    check = tenant.lawyer.get(f"/v1/cases/{case['id']}/events/verify").json
    assert check["valid"] is False and check["first_broken"] == 2 and "previous-hash" in check["reason"]


def test_deleting_the_last_event_is_caught_by_the_case_head(tenant, container, b2b_case):
    case = _case_with_history(tenant, b2b_case)
    with container.db.write() as conn:
        conn.execute(ledger_events.delete().where(ledger_events.c.case_id == case["id"], ledger_events.c.seq == 3))
    check = tenant.lawyer.get(f"/v1/cases/{case['id']}/events/verify").json
    assert check["valid"] is False


def test_cli_verifies_every_case(tenant, b2b_case, settings, monkeypatch, backend):
    case = _case_with_history(tenant, b2b_case)
    monkeypatch.setenv("RECOUVRE_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("RECOUVRE_DATABASE_URL", settings.database_url)
    from cli.main import cli
    result = CliRunner().invoke(cli, ["ledger", "verify"])
    lines = {d["case"]: d for d in map(json.loads, result.output.splitlines())}
    assert lines[case["id"]] == {"case": case["id"], "valid": True, "length": 3}
    if backend == "sqlite":   # a database of its own: every case in it is ours and intact
        assert result.exit_code == 0, result.output
    one = CliRunner().invoke(cli, ["ledger", "verify", "--case", case["id"]])
    assert one.exit_code == 0
    assert CliRunner().invoke(cli, ["ledger", "verify", "--case", "nope"]).exit_code != 0
