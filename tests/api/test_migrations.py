"""The Alembic migrations build exactly the schema the code declares, on both backends."""
from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from persistence.tables import metadata


def test_migrations_match_the_declared_tables(container):
    with container.db.engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), metadata) == []


def test_sqlite_runs_in_wal_mode_with_foreign_keys(tmp_path):
    """Readers must not block the writer (WAL), and a pooled connection must keep the settings."""
    from persistence.database import Database
    db = Database(f"sqlite:///{tmp_path / 'wal.sqlite3'}")
    try:
        db.upgrade()
        for _ in range(2):
            with db.read() as conn:
                assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
                assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
                assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30000
        assert (tmp_path / "wal.sqlite3-wal").exists()
        with db.write() as writer:
            writer.exec_driver_sql("CREATE TABLE t (x)")
            writer.exec_driver_sql("INSERT INTO t VALUES (1)")
            with db.read() as reader:        # WAL: a reader is not blocked by the open write transaction
                assert reader.exec_driver_sql("SELECT count(*) FROM sqlite_master WHERE name = 't'").scalar() == 0
    finally:
        db.dispose()
