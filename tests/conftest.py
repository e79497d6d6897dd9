"""Shared fixtures: the service on SQLite and on PostgreSQL, API keys per role and tenant.

Every database test runs on both backends. PostgreSQL tests use one schema per test session;
every test creates its own tenants, so tests cannot see each other's data (tenant isolation
is itself under test). On CI (CI=true) an unreachable PostgreSQL or Redis fails the run.
"""
from __future__ import annotations

import copy
import json
import os
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

ON_CI = os.environ.get("CI") == "true"
FIXTURES = Path(__file__).parent / "fixtures"
PG_URL = os.environ.get("RECOUVRE_TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("RECOUVRE_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def service_missing(what: str, why: object) -> None:
    """A missing service fails on CI and skips on a developer machine without it."""
    message = f"{what} is not reachable: {why}"
    if ON_CI:
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


def need_tool(name: str) -> str:
    """A third-party program a test relies on; missing fails on CI, skips elsewhere."""
    path = shutil.which(name)
    if path is None:
        message = f"{name} is not installed"
        if ON_CI:
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    return path


def load_fixture(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text())


@pytest.fixture
def b2b_case() -> dict:
    return load_fixture("case-b2b.json")


@pytest.fixture
def b2c_case() -> dict:
    return load_fixture("case-b2c.json")


@pytest.fixture(scope="session")
def pg_schema_url():
    schema = f"t_{uuid.uuid4().hex[:10]}"
    try:
        engine = create_engine(PG_URL)
        with engine.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    except Exception as exc:  # noqa: BLE001
        yield None, exc
        return
    sep = "&" if "?" in PG_URL else "?"
    url = f"{PG_URL}{sep}options=-csearch_path%3D{schema}"
    from persistence.database import Database
    db = Database(url)
    db.upgrade()
    db.dispose()
    yield url, None
    with engine.begin() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request) -> str:
    return request.param


@pytest.fixture
def database_url(backend, tmp_path, request) -> str:
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'recouvre.sqlite3'}"
    url, error = request.getfixturevalue("pg_schema_url")
    if url is None:
        service_missing("PostgreSQL", error)
    return url


@pytest.fixture
def settings(tmp_path, database_url):
    from settings import Settings
    return Settings.from_env({"RECOUVRE_DATA_DIR": str(tmp_path / "data"), "RECOUVRE_DATABASE_URL": database_url})


@pytest.fixture(scope="session")
def shared_pipeline(tmp_path_factory):
    """One LibreOffice converter for the whole session (started on first use)."""
    from generators import ConverterPool, DocumentPipeline
    pool = ConverterPool(size=1, work_dir=tmp_path_factory.mktemp("converters"))
    yield DocumentPipeline(converter=pool)
    pool.close()


@pytest.fixture(scope="session")
def shared_signer(tmp_path_factory):
    """The development signer, its RSA-3072 key generated once per session."""
    from signing import SignerConfig, build_signer
    return build_signer(SignerConfig.from_env({}, tmp_path_factory.mktemp("signing")))


@pytest.fixture
def container(settings, shared_pipeline, shared_signer):
    from bootstrap import build_container
    c = build_container(settings)
    c.__dict__["pipeline"] = shared_pipeline   # overrides the lazily built ones; closed at session end
    c.__dict__["signer"] = shared_signer
    c.db.upgrade()
    yield c
    c.__dict__.pop("pipeline")
    c.close()


@pytest.fixture
def app(container):
    from app import create_app
    return create_app(container=container)


@dataclass
class Api:
    """A test client that speaks as one API key."""

    client: object
    key: str | None

    def _headers(self, headers=None):
        h = {"Authorization": f"Bearer {self.key}"} if self.key else {}
        h.update(headers or {})
        return h

    def get(self, url, **kw):
        return self.client.get(url, headers=self._headers(kw.pop("headers", None)), **kw)

    def post(self, url, json=None, **kw):
        return self.client.post(url, json=json, headers=self._headers(kw.pop("headers", None)), **kw)

    def patch(self, url, json=None, **kw):
        return self.client.patch(url, json=json, headers=self._headers(kw.pop("headers", None)), **kw)


@dataclass
class Tenant:
    id: str
    name: str
    integrator: Api
    lawyer: Api
    clerk: Api
    keys: dict


def make_tenant(app, container, name: str | None = None) -> Tenant:
    from accounts import create_api_key, get_or_create_tenant
    name = name or f"tenant-{uuid.uuid4().hex[:8]}"
    keys = {}
    with container.db.write() as conn:
        tid = get_or_create_tenant(conn, name)
        for role in ("integrator", "lawyer", "clerk"):
            keys[role] = create_api_key(conn, tid, role)[1]
    client = app.test_client()
    return Tenant(tid, name, *(Api(client, keys[r]) for r in ("integrator", "lawyer", "clerk")), keys)


@pytest.fixture
def tenant(app, container) -> Tenant:
    return make_tenant(app, container)


@pytest.fixture
def other_tenant(app, container) -> Tenant:
    return make_tenant(app, container)


@pytest.fixture
def anonymous(app) -> Api:
    return Api(app.test_client(), None)


def with_reference(case: dict, suffix: str | None = None) -> dict:
    c = copy.deepcopy(case)
    c["reference"] = f"{case['reference']}-{suffix or uuid.uuid4().hex[:8]}"
    return c
