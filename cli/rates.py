"""`recouvre rates list|add`: publish the next semester's figures without a code change.

Added rows go to an overlay in the data directory (RECOUVRE_DATA_DIR/rates), beside the rates
shipped with the code; a running service picks them up at its next start.
"""
from __future__ import annotations

import json

import click

__all__ = ["register"]


def register(cli: click.Group) -> None:
    @cli.group()
    def rates() -> None:
        """Legal interest and ECB rates (sourced data)."""

    @rates.command("list")
    @click.option("--kind", type=click.Choice(["taux_legal", "taux_legal_annual", "ecb_mro"]), default=None)
    @click.option("--json", "as_json", is_flag=True, help="one JSON object per line")
    def list_(kind: str | None, as_json: bool) -> None:
        """Every rate row with its source and whether it was verified."""
        from cli.main import _settings
        from law import list_rates, load_rate_book
        rows = [r for r in list_rates(load_rate_book(_settings().data_dir / "rates")) if not kind or r["kind"] == kind]
        for r in rows:
            if as_json:
                click.echo(json.dumps(r, ensure_ascii=False, default=str))
            else:
                values = " ".join(f"{k}={r[k]}" for k in ("particulier", "autres", "mro", "taux_legal") if r.get(k))
                flag = "verified" if r["verified"] else "UNVERIFIED"
                click.echo(f"{r['kind']:18} {r['period']:12} {values:32} {flag:10} {r['origin']:8} {r['source']}")

    @rates.command("add")
    @click.argument("kind", type=click.Choice(["taux_legal", "ecb_mro"]))
    @click.option("--semester", help="taux_legal: YYYY-S1 or YYYY-S2")
    @click.option("--particulier", help="taux_legal: creditor a natural person not acting professionally, in %")
    @click.option("--autres", help="taux_legal: all other cases, in %")
    @click.option("--effective-date", help="ecb_mro: date the rate applies from (YYYY-MM-DD)")
    @click.option("--mro", help="ecb_mro: main refinancing operations rate, in %")
    @click.option("--source", required=True, help="JORF reference of the arrêté, or the ECB decision URL")
    @click.option("--verified/--unverified", default=False, show_default=True,
                  help="checked against the official text")
    def add(kind, semester, particulier, autres, effective_date, mro, source, verified) -> None:
        """Add a published rate, e.g.:

        recouvre rates add taux_legal --semester 2027-S1 --particulier 6.50 --autres 2.60
        --source "Arrêté du … JORF n° …" --verified
        """
        from cli.main import _settings
        from law import add_rate
        try:
            row = add_rate(_settings().data_dir / "rates", kind, semester=semester, particulier=particulier,
                           autres=autres, effective_date=effective_date, mro=mro, source=source, verified=verified)
        except ValueError as exc:
            raise click.ClickException(str(exc)) from None
        click.echo(json.dumps(row, ensure_ascii=False, default=str))
