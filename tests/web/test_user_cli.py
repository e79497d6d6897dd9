"""`recouvre user create`: the account can sign in, and nothing secret is printed."""
from __future__ import annotations

import pytest
from click.testing import CliRunner

from .helpers import login


@pytest.fixture
def cli_env(settings, container, monkeypatch):
    monkeypatch.setenv("RECOUVRE_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("RECOUVRE_DATABASE_URL", settings.database_url)
    from cli.main import cli
    return cli


def test_user_create_then_sign_in(cli_env, app, tenant):
    password = "une phrase de passe assez longue"
    result = CliRunner().invoke(cli_env, ["user", "create", "--tenant", tenant.name,
                                          "--email", "Me.Durand@Cabinet.example", "--role", "lawyer",
                                          "--name", "Me Durand", "--password-stdin"], input=password + "\n")
    assert result.exit_code == 0, result.output
    assert "created lawyer user" in result.output and "me.durand@cabinet.example" in result.output
    assert "created tenant" not in result.output          # the tenant existed
    assert password not in result.output and "argon2" not in result.output
    client = app.test_client()
    assert login(client, "me.durand@cabinet.example", password).status_code == 303
    assert "Me Durand" in client.get("/app/cases").text


def test_password_is_stored_as_argon2id(cli_env, container, tenant):
    from sqlalchemy import select

    from persistence.tables import users
    CliRunner().invoke(cli_env, ["user", "create", "--tenant", tenant.name, "--email", "clerk@cabinet.example",
                                 "--role", "clerk", "--password-stdin"], input="une autre phrase longue\n")
    with container.db.read() as conn:
        stored = conn.execute(select(users.c.password_hash).where(users.c.email == "clerk@cabinet.example")).scalar()
    assert stored.startswith("$argon2id$") and "phrase" not in stored


def test_prompted_password_is_not_echoed(cli_env, settings):
    password = "mot de passe saisi au clavier"
    result = CliRunner().invoke(cli_env, ["user", "create", "--tenant", "nouveau-cabinet",
                                          "--email", "a@cabinet.example", "--role", "clerk"],
                                input=f"{password}\n{password}\n")
    assert result.exit_code == 0, result.output
    assert password not in result.output and "created tenant 'nouveau-cabinet'" in result.output


@pytest.mark.parametrize("args,stdin,message", [
    (["--role", "lawyer"], "court\n", "au moins 12 caractères"),
    (["--role", "lawyer", "--email", "pas-une-adresse"], "une phrase longue ici\n", "not a valid e-mail"),
])
def test_bad_input_is_refused(cli_env, tenant, args, stdin, message):
    base = ["user", "create", "--tenant", tenant.name, "--email", "x@cabinet.example", "--password-stdin"]
    result = CliRunner().invoke(cli_env, base + args, input=stdin)
    assert result.exit_code != 0 and message in result.output
    assert stdin.strip() not in result.output


def test_duplicate_email_and_unknown_role_are_refused(cli_env, tenant):
    runner = CliRunner()
    base = ["user", "create", "--tenant", tenant.name, "--email", "dup@cabinet.example", "--password-stdin"]
    assert runner.invoke(cli_env, base + ["--role", "lawyer"], input="une phrase longue ici\n").exit_code == 0
    again = runner.invoke(cli_env, base + ["--role", "clerk"], input="une phrase longue ici\n")
    assert again.exit_code != 0 and "already exists" in again.output
    assert runner.invoke(cli_env, base + ["--role", "integrator"], input="x\n").exit_code != 0


def test_user_list_shows_no_secret(cli_env, tenant):
    runner = CliRunner()
    runner.invoke(cli_env, ["user", "create", "--tenant", tenant.name, "--email", "l@cabinet.example",
                            "--role", "lawyer", "--password-stdin"], input="une phrase longue ici\n")
    out = runner.invoke(cli_env, ["user", "list", "--tenant", tenant.name]).output
    assert "l@cabinet.example" in out and "lawyer" in out and "$argon2" not in out
