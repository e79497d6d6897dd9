"""The Alembic migrations build exactly the schema the code declares, on both backends."""
from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from persistence.tables import metadata


def test_migrations_match_the_declared_tables(container):
    with container.db.engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), metadata) == []
