"""`recouvre user …`: accounts for the pages. Passwords are read, never printed or logged."""
from __future__ import annotations

import sys

import click

__all__ = ["register"]


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        line = sys.stdin.readline()
        return line[:-1] if line.endswith("\n") else line
    return click.prompt("Password", hide_input=True, confirmation_prompt=True, err=True)


def register(cli: click.Group) -> None:
    @cli.group()
    def user() -> None:
        """People who sign in to the pages (lawyers and clerks)."""

    @user.command("create")
    @click.option("--tenant", required=True, help="tenant name (created if new)")
    @click.option("--email", required=True)
    @click.option("--role", required=True, type=click.Choice(["lawyer", "clerk"]))
    @click.option("--name", "display_name", default=None, help="name shown in the pages")
    @click.option("--password-stdin", is_flag=True,
                  help="read the password from the first line of standard input instead of prompting")
    def create(tenant: str, email: str, role: str, display_name: str | None, password_stdin: bool) -> None:
        """Create a user; the password is hashed with Argon2id and never echoed."""
        from sqlalchemy import select

        from accounts import get_or_create_tenant
        from accounts.users import UserError, create_user
        from cli.main import _container
        from persistence.tables import tenants

        password = _read_password(password_stdin)
        c = _container(upgrade=True)
        try:
            with c.db.write() as conn:
                existed = conn.execute(select(tenants.c.id).where(tenants.c.name == tenant)).first() is not None
                tid = get_or_create_tenant(conn, tenant)
                created = create_user(conn, tid, email, password, role, display_name)
        except UserError as exc:
            raise click.ClickException(str(exc)) from None
        finally:
            c.close()
        if not existed:
            click.echo(f"created tenant {tenant!r}")
        click.echo(f"created {role} user {created.id} <{created.email}> for tenant {tenant!r}")

    @user.command("list")
    @click.option("--tenant", required=True, help="tenant name")
    def list_(tenant: str) -> None:
        """List a tenant's users (no secrets)."""
        from sqlalchemy import select

        from accounts.users import list_users
        from cli.main import _container
        from persistence.tables import tenants
        c = _container()
        with c.db.read() as conn:
            tid = conn.execute(select(tenants.c.id).where(tenants.c.name == tenant)).scalar()
            if tid is None:
                raise click.ClickException(f"no tenant {tenant!r}")
            for u in list_users(conn, tid):
                state = "disabled" if u["disabled"] else "active"
                click.echo(f"{u['id']}  {u['role']:6}  {state:8}  {u['email']}  {u['display_name'] or ''}".rstrip())
        c.close()
