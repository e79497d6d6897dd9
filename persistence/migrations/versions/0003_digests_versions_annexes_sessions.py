"""digests and versions of every archived file, mailing annexes and packets, server-side web sessions

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01 09:30:00
"""
from alembic import op
import sqlalchemy as sa
import persistence.tables
from sqlalchemy.dialects import postgresql

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None

_JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')


def upgrade() -> None:
    with op.batch_alter_table('documents') as batch:
        batch.add_column(sa.Column('docx_sha256', sa.String(length=64), nullable=True))
        batch.add_column(sa.Column('docx_version', sa.String(length=255), nullable=True))
        batch.add_column(sa.Column('zip_version', sa.String(length=255), nullable=True))
    with op.batch_alter_table('mailings') as batch:
        batch.add_column(sa.Column('annexes', _JSON, nullable=True))
        batch.add_column(sa.Column('packet_key', sa.String(length=512), nullable=True))
        batch.add_column(sa.Column('packet_sha256', sa.String(length=64), nullable=True))
        batch.add_column(sa.Column('packet_version', sa.String(length=255), nullable=True))
    op.create_table('web_sessions',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('user_id', sa.String(length=36), nullable=False),
    sa.Column('created_at', persistence.tables.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_seen_at', persistence.tables.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', persistence.tables.UTCDateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', persistence.tables.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_web_sessions_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_web_sessions'))
    )
    op.create_index(op.f('ix_web_sessions_user_id'), 'web_sessions', ['user_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_web_sessions_user_id'), table_name='web_sessions')
    op.drop_table('web_sessions')
    with op.batch_alter_table('mailings') as batch:
        for column in ('packet_version', 'packet_sha256', 'packet_key', 'annexes'):
            batch.drop_column(column)
    with op.batch_alter_table('documents') as batch:
        for column in ('zip_version', 'docx_version', 'docx_sha256'):
            batch.drop_column(column)
