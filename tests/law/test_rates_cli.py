"""`recouvre rates add` makes a new semester computable without a code change."""
from __future__ import annotations

import json

from click.testing import CliRunner

from cli.main import cli


def test_adding_a_semester_makes_it_computable(tmp_path, monkeypatch):
    monkeypatch.setenv("RECOUVRE_DATA_DIR", str(tmp_path))
    runner = CliRunner()
    listed = runner.invoke(cli, ["rates", "list", "--kind", "taux_legal"]).output
    assert "2026-S1" in listed and "2030-S1" not in listed
    r = runner.invoke(cli, ["rates", "add", "taux_legal", "--semester", "2030-S1", "--particulier", "6.10",
                            "--autres", "2.40", "--source", "Arrêté du 15 décembre 2029, JORF n° 0299", "--verified"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)["period"] == "2030-S1"
    rows = [json.loads(line) for line in runner.invoke(cli, ["rates", "list", "--json"]).output.splitlines()]
    (added,) = [x for x in rows if x["period"] == "2030-S1"]
    assert added["origin"] == "overlay" and added["verified"] is True and added["autres"] == "2.40"
    bad = runner.invoke(cli, ["rates", "add", "taux_legal", "--semester", "2030-S3", "--particulier", "1",
                              "--autres", "1", "--source", "x"])
    assert bad.exit_code != 0 and "semester" in bad.output.lower()
    assert runner.invoke(cli, ["rates", "add", "ecb_mro", "--effective-date", "2030-01-01", "--mro", "2.00"]).exit_code != 0
