"""The `recouvre` command line: serve, worker, database, keys, ledger, rates, demo."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from settings import KNOWN_VARIABLES, ConfigError, Settings

__all__ = ["main", "cli"]


class ConfigurationFailure(click.ClickException):
    """A configuration error, told as one line naming the variable: `recouvre: <message>`, exit status 2."""

    exit_code = 2

    def show(self, file=None) -> None:
        click.echo(f"recouvre: {self.format_message()}", err=True)


def configuration_message(exc: BaseException) -> str | None:
    """The message of a configuration error from any package, or None if `exc` is not one."""
    if isinstance(exc, ConfigError):
        return str(exc)
    from signing import SigningConfigError
    from storage import ArchiveConfigError
    if isinstance(exc, SigningConfigError):
        return str(exc)
    if isinstance(exc, ArchiveConfigError):
        text = str(exc)
        return text if "RECOUVRE_" in text else f"RECOUVRE_ARCHIVE: {text}"
    return None


class _Cli(click.Group):
    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except click.ClickException:
            raise
        except Exception as exc:
            message = configuration_message(exc)
            if message is None:
                raise
            raise ConfigurationFailure(message) from None


def _settings() -> Settings:
    return Settings.from_env()     # a ConfigError reaches _Cli.invoke, which reports it


def _container(upgrade: bool = False):
    from bootstrap import build_container
    c = build_container(_settings())
    c.require_database()
    if upgrade:
        c.db.upgrade()
    return c


@click.group(cls=_Cli)
def cli() -> None:
    """Recouvre: French debt collection service."""


@cli.command()
def config() -> None:
    """List the configuration variables and their current values."""
    s = _settings()
    click.echo(f"data dir  {s.data_dir}\ndatabase  {s.database_url}\nbroker    {s.broker_url or 'embedded queue'}\n"
               f"archive   {s.archive_url or 'file://' + str(s.data_dir / 'archive')}\n")
    for name, help_ in KNOWN_VARIABLES.items():
        click.echo(f"{name:32} {help_}")


@cli.group()
def db() -> None:
    """Database schema."""


@db.command("upgrade")
def db_upgrade() -> None:
    """Apply the Alembic migrations up to the latest schema."""
    c = _container()
    c.db.upgrade()
    click.echo(f"database schema is up to date ({c.settings.database_url.split('@')[-1]})")


@cli.group("api-key")
def api_key() -> None:
    """API keys (stored hashed; shown once)."""


@api_key.command("create")
@click.option("--tenant", required=True, help="tenant name (created if new)")
@click.option("--role", required=True, type=click.Choice(["integrator", "lawyer", "clerk"]))
@click.option("--label", default=None)
def api_key_create(tenant: str, role: str, label: str | None) -> None:
    """Create an API key; the key alone is printed on the last line."""
    from accounts import create_api_key, get_or_create_tenant
    c = _container(upgrade=True)
    with c.db.write() as conn:
        tid = get_or_create_tenant(conn, tenant)
        key_id, key = create_api_key(conn, tid, role, label)
    click.echo(f"created {role} key {key_id} for tenant {tenant!r}; store it now, it is not shown again:", err=False)
    click.echo(key)



@cli.group()
def ledger() -> None:
    """Evidence ledger."""


@ledger.command("verify")
@click.option("--case", "case_id", default=None, help="one case id (default: every case)")
def ledger_verify(case_id: str | None) -> None:
    """Recompute every case's hash chain; exit status 1 if any is broken."""
    from sqlalchemy import select

    from casefiles.services import verify_case_ledger
    from persistence.tables import cases
    c = _container()
    bad = 0
    with c.db.read() as conn:
        ids = [case_id] if case_id else list(conn.execute(select(cases.c.id).order_by(cases.c.created_at)).scalars())
        if case_id and conn.execute(select(cases.c.id).where(cases.c.id == case_id)).first() is None:
            raise click.ClickException(f"no case {case_id}")
        for cid in ids:
            check = verify_case_ledger(conn, None, cid)
            click.echo(json.dumps({"case": cid, **check.to_dict()}))
            bad += not check.valid
    if bad:
        raise SystemExit(1)


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--workers", default=None, type=int, help="HTTP worker processes (default RECOUVRE_WEB_WORKERS or 2)")
def serve(host: str, port: int, workers: int | None) -> None:
    """Run the HTTP service (and, without a broker, the embedded job runner)."""
    from .serve import run_server
    run_server(_settings(), host, port, workers)


@cli.command()
@click.option("--out", "out_dir", default="out/demo", show_default=True, type=click.Path(path_type=Path))
def demo(out_dir: Path) -> None:
    """Run the sample case through the pipeline and write the files under OUT."""
    from .demo import run_demo
    sys.exit(run_demo(out_dir))


def _register_optional() -> None:
    """Sub-commands of the other capabilities, added when their packages are present."""
    import importlib
    for name in ("cli.rates", "cli.jobs", "cli.users", "cli.proofs"):
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
            continue
        module.register(cli)


_register_optional()


def main() -> None:
    cli(prog_name="recouvre")


if __name__ == "__main__":
    main()
