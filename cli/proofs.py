"""`recouvre proof verify FILE.zip`: checks a case's proof offline, no server and no database."""
from __future__ import annotations

import logging
from pathlib import Path

import click

__all__ = ["register"]


def register(cli: click.Group) -> None:
    @cli.group()
    def proof() -> None:
        """Proof ZIPs of a case (GET /v1/cases/{id}/proof)."""

    @proof.command("verify")
    @click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
    @click.option("--trust", "trust", multiple=True, type=click.Path(exists=True, dir_okay=False, path_type=Path),
                  help="PEM (or DER) root certificate(s) of the time-stamping authority; repeatable")
    def verify(file: Path, trust: tuple[Path, ...]) -> None:
        """Recompute the ledger chain, file digests and timestamps; exit status 1 unless all hold."""
        from proofs import load_trust_roots, verify_proof_zip
        # pyHanko logs a traceback when a TSA does not chain to the roots; the report says it once.
        logging.getLogger("pyhanko").setLevel(logging.CRITICAL)
        roots = []
        for path in trust:
            try:
                roots += load_trust_roots(path)
            except ValueError as exc:
                raise click.ClickException(f"{path}: {exc}") from None
        report = verify_proof_zip(file.read_bytes(), trust_roots=roots or None)
        for line in report.checks:
            click.echo(f"ok    {line}")
        for line in report.problems:
            click.echo(f"FAIL  {line}")
        click.echo(f"{file.name}: " + ("VALID" if report.valid else f"INVALID ({len(report.problems)} problems)"))
        if not report.valid:
            raise SystemExit(1)
