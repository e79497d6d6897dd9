"""Configuration checks at start-up and the command-line entry points."""
from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from settings import ConfigError, Settings

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("env,variable", [
    ({"RECOUVRE_DATABSE_URL": "sqlite://"}, "RECOUVRE_DATABSE_URL"),
    ({"RECOUVRE_DATABASE_URL": "mysql://x"}, "RECOUVRE_DATABASE_URL"),
    ({"RECOUVRE_BROKER_URL": "kafka://x"}, "RECOUVRE_BROKER_URL"),
    ({"RECOUVRE_ARCHIVE": "ftp://x"}, "RECOUVRE_ARCHIVE"),
    ({"RECOUVRE_ARCHIVE": "file://relative"}, "RECOUVRE_ARCHIVE"),
    ({"RECOUVRE_MAX_UPLOAD_MB": "lots"}, "RECOUVRE_MAX_UPLOAD_MB"),
    ({"RECOUVRE_WEB_WORKERS": "0"}, "RECOUVRE_WEB_WORKERS"),
    ({"RECOUVRE_LOG_LEVEL": "LOUD"}, "RECOUVRE_LOG_LEVEL"),
])
def test_bad_configuration_names_the_variable(env, variable):
    with pytest.raises(ConfigError) as exc:
        Settings.from_env(env)
    assert exc.value.variable == variable and variable in str(exc.value)


def test_defaults_are_embedded(tmp_path):
    s = Settings.from_env({"RECOUVRE_DATA_DIR": str(tmp_path)})
    assert s.database_url == f"sqlite:///{tmp_path / 'recouvre.sqlite3'}"
    assert s.embedded_queue and s.archive_url is None
    s = Settings.from_env({"RECOUVRE_DATABASE_URL": "postgresql://u@h/db", "RECOUVRE_BROKER_URL": "redis://h:6379/0",
                           "RECOUVRE_ARCHIVE": "s3://bucket/prefix", "RECOUVRE_HOOK_SECRET_LAPOSTE": "s"})
    assert s.database_url == "postgresql+psycopg://u@h/db" and not s.embedded_queue


def _run(args, env):
    return subprocess.run([str(ROOT / ".venv/bin/recouvre"), *args], capture_output=True, text=True,
                          env={**{k: v for k, v in os.environ.items() if not k.startswith("RECOUVRE_")}, **env}, timeout=60)


def test_console_script_refuses_unknown_variable(tmp_path):
    r = _run(["db", "upgrade"], {"RECOUVRE_DATA_DIR": str(tmp_path), "RECOUVRE_ARCHVE": "x"})
    assert r.returncode == 2 and r.stderr.startswith("recouvre: RECOUVRE_ARCHVE: unknown configuration variable")


def _assert_one_line_naming(r, variable):
    assert r.returncode == 2, (r.returncode, r.stdout[-2000:], r.stderr[-2000:])
    assert "Traceback" not in r.stderr
    lines = [line for line in r.stderr.splitlines() if line.startswith("recouvre: ")]
    assert len(lines) == 1 and variable in lines[0], r.stderr[-2000:]


def test_data_dir_that_is_a_file_is_a_configuration_error(tmp_path):
    (tmp_path / "not-a-dir").write_text("x")
    for args in (["db", "upgrade"], ["serve", "--port", "0"]):
        _assert_one_line_naming(_run(args, {"RECOUVRE_DATA_DIR": str(tmp_path / "not-a-dir")}), "RECOUVRE_DATA_DIR")


@pytest.mark.parametrize("env,variable", [
    ({"RECOUVRE_SIGNING_P12": "/nonexistent"}, "RECOUVRE_SIGNING_P12"),
    ({"RECOUVRE_PADES_LEVEL": "ZZZ"}, "RECOUVRE_PADES_LEVEL"),
    ({"RECOUVRE_RETENTION_MODE": "FOREVER"}, "RECOUVRE_RETENTION_MODE"),
    ({"RECOUVRE_LOG_LEVEL": "LOUD"}, "RECOUVRE_LOG_LEVEL"),
])
def test_serve_stops_on_a_configuration_error_with_one_message(tmp_path, env, variable):
    r = _run(["serve", "--port", "0"], {"RECOUVRE_DATA_DIR": str(tmp_path), **env})
    _assert_one_line_naming(r, variable)


def test_serve_stops_when_the_database_cannot_be_reached(tmp_path):
    env = {"RECOUVRE_DATA_DIR": str(tmp_path),
           "RECOUVRE_DATABASE_URL": "postgresql+psycopg://recouvre:s3cret@127.0.0.1:1/recouvre"}
    r = _run(["serve", "--port", "0"], env)
    _assert_one_line_naming(r, "RECOUVRE_DATABASE_URL")
    assert "s3cret" not in r.stderr
    _assert_one_line_naming(_run(["db", "upgrade"], env), "RECOUVRE_DATABASE_URL")


def test_configuration_errors_through_the_click_runner(tmp_path, monkeypatch):
    from cli.main import cli
    monkeypatch.setenv("RECOUVRE_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("RECOUVRE_ARCHIVE", "file://relative")
    result = CliRunner().invoke(cli, ["ledger", "verify"])
    assert result.exit_code == 2 and "recouvre: RECOUVRE_ARCHIVE:" in result.output


def test_api_key_create_prints_the_key_alone_on_its_last_line(tmp_path, database_url):
    env = {"RECOUVRE_DATA_DIR": str(tmp_path), "RECOUVRE_DATABASE_URL": database_url}
    r = _run(["api-key", "create", "--tenant", "acme", "--role", "clerk"], env)
    assert r.returncode == 0, r.stderr
    key = r.stdout.strip().splitlines()[-1]
    assert key.startswith("rcv_") and " " not in key
    from app import create_app
    app = create_app(Settings.from_env(env))
    got = app.test_client().get("/v1/cases", headers={"Authorization": f"Bearer {key}"})
    assert got.status_code == 200
    assert _run(["api-key", "create", "--tenant", "acme", "--role", "boss"], env).returncode != 0


def test_db_upgrade_is_idempotent(tmp_path):
    env = {"RECOUVRE_DATA_DIR": str(tmp_path)}
    assert _run(["db", "upgrade"], env).returncode == 0
    r = _run(["db", "upgrade"], env)
    assert r.returncode == 0 and "up to date" in r.stdout


def test_config_lists_every_variable(tmp_path, monkeypatch):
    monkeypatch.setenv("RECOUVRE_DATA_DIR", str(tmp_path))
    from cli.main import cli
    out = CliRunner().invoke(cli, ["config"]).output
    assert "RECOUVRE_BROKER_URL" in out and str(tmp_path) in out
