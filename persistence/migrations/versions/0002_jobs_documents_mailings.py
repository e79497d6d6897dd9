"""jobs documents mailings webhooks users

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 11:53:03.340770
"""
from alembic import op
import sqlalchemy as sa
import persistence.tables
from sqlalchemy.dialects import postgresql

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table('inbound_hook_events',
    sa.Column('provider', sa.String(length=32), nullable=False),
    sa.Column('event_id', sa.String(length=200), nullable=False),
    sa.Column('received_at', persistence.tables.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('provider', 'event_id', name=op.f('pk_inbound_hook_events'))
    )
    op.create_table('job_effects',
    sa.Column('marker', sa.String(length=120), nullable=False),
    sa.Column('job_id', sa.String(length=36), nullable=False),
    sa.Column('created_at', persistence.tables.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('marker', name=op.f('pk_job_effects'))
    )
    op.create_table('jobs',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('tenant_id', sa.String(length=36), nullable=True),
    sa.Column('case_id', sa.String(length=36), nullable=True),
    sa.Column('kind', sa.String(length=48), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('payload', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('result', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.Column('checkpoints', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('max_attempts', sa.Integer(), nullable=False),
    sa.Column('run_after', persistence.tables.UTCDateTime(timezone=True), nullable=False),
    sa.Column('lease_until', persistence.tables.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('created_at', persistence.tables.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', persistence.tables.UTCDateTime(timezone=True), nullable=False),
    sa.Column('finished_at', persistence.tables.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_jobs_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_jobs'))
    )
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.create_index('ix_jobs_status_run_after', ['status', 'run_after'], unique=False)

    op.create_table('outbound_events',
    sa.Column('seq', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('tenant_id', sa.String(length=36), nullable=False),
    sa.Column('type', sa.String(length=48), nullable=False),
    sa.Column('payload', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('created_at', persistence.tables.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_outbound_events_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('seq', name=op.f('pk_outbound_events')),
    sa.UniqueConstraint('id', name=op.f('uq_outbound_events_id'))
    )
    with op.batch_alter_table('outbound_events', schema=None) as batch_op:
        batch_op.create_index('ix_outbound_events_tenant_seq', ['tenant_id', 'seq'], unique=False)

    op.create_table('users',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('tenant_id', sa.String(length=36), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('password_hash', sa.String(length=255), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('display_name', sa.String(length=120), nullable=True),
    sa.Column('created_at', persistence.tables.UTCDateTime(timezone=True), nullable=False),
    sa.Column('disabled', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_users_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_users')),
    sa.UniqueConstraint('email', name=op.f('uq_users_email'))
    )
    op.create_table('webhook_subscriptions',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('tenant_id', sa.String(length=36), nullable=False),
    sa.Column('url', sa.String(length=2000), nullable=False),
    sa.Column('events', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('secret', sa.String(length=128), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', persistence.tables.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_webhook_subscriptions_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_webhook_subscriptions'))
    )
    with op.batch_alter_table('webhook_subscriptions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_webhook_subscriptions_tenant_id'), ['tenant_id'], unique=False)

    op.create_table('documents',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('tenant_id', sa.String(length=36), nullable=False),
    sa.Column('case_id', sa.String(length=36), nullable=False),
    sa.Column('kind', sa.String(length=48), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('params', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('job_id', sa.String(length=36), nullable=True),
    sa.Column('sha256', sa.String(length=64), nullable=True),
    sa.Column('pdf_key', sa.String(length=512), nullable=True),
    sa.Column('pdf_version', sa.String(length=255), nullable=True),
    sa.Column('docx_key', sa.String(length=512), nullable=True),
    sa.Column('zip_key', sa.String(length=512), nullable=True),
    sa.Column('zip_sha256', sa.String(length=64), nullable=True),
    sa.Column('signature', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.Column('warnings', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('error', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.Column('created_at', persistence.tables.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', persistence.tables.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_documents_case_id_cases')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_documents_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_documents'))
    )
    with op.batch_alter_table('documents', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_documents_case_id'), ['case_id'], unique=False)

    op.create_table('ledger_timestamps',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('case_id', sa.String(length=36), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('head_hash', sa.String(length=64), nullable=False),
    sa.Column('token', sa.LargeBinary(), nullable=False),
    sa.Column('tsa_url', sa.String(length=500), nullable=False),
    sa.Column('created_at', persistence.tables.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_ledger_timestamps_case_id_cases')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ledger_timestamps')),
    sa.UniqueConstraint('case_id', 'seq', name=op.f('uq_ledger_timestamps_case_id_seq'))
    )
    with op.batch_alter_table('ledger_timestamps', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ledger_timestamps_case_id'), ['case_id'], unique=False)

    op.create_table('webhook_deliveries',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('event_id', sa.String(length=36), nullable=False),
    sa.Column('subscription_id', sa.String(length=36), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', persistence.tables.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_status', sa.Integer(), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('created_at', persistence.tables.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', persistence.tables.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['subscription_id'], ['webhook_subscriptions.id'], name=op.f('fk_webhook_deliveries_subscription_id_webhook_subscriptions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_webhook_deliveries')),
    sa.UniqueConstraint('event_id', 'subscription_id', name=op.f('uq_webhook_deliveries_event_id_subscription_id'))
    )
    op.create_table('mailings',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('tenant_id', sa.String(length=36), nullable=False),
    sa.Column('case_id', sa.String(length=36), nullable=False),
    sa.Column('document_id', sa.String(length=36), nullable=False),
    sa.Column('service', sa.String(length=8), nullable=False),
    sa.Column('level', sa.String(length=4), nullable=False),
    sa.Column('provider', sa.String(length=32), nullable=False),
    sa.Column('tracking_number', sa.String(length=32), nullable=True),
    sa.Column('status', sa.String(length=24), nullable=False),
    sa.Column('payment_days', sa.Integer(), nullable=False),
    sa.Column('effective_date', sa.Date(), nullable=True),
    sa.Column('deadline', sa.Date(), nullable=True),
    sa.Column('deposited_at', persistence.tables.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', persistence.tables.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', persistence.tables.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_mailings_case_id_cases')),
    sa.ForeignKeyConstraint(['document_id'], ['documents.id'], name=op.f('fk_mailings_document_id_documents')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_mailings_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_mailings'))
    )
    with op.batch_alter_table('mailings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_mailings_case_id'), ['case_id'], unique=False)
        batch_op.create_index('ix_mailings_tenant_status', ['tenant_id', 'status', 'created_at'], unique=False)
        batch_op.create_index('ix_mailings_tracking', ['tracking_number'], unique=False)

    op.create_table('mailing_events',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('mailing_id', sa.String(length=36), nullable=False),
    sa.Column('dedupe_key', sa.String(length=200), nullable=False),
    sa.Column('type', sa.String(length=24), nullable=False),
    sa.Column('at', persistence.tables.UTCDateTime(timezone=True), nullable=False),
    sa.Column('source', sa.String(length=32), nullable=False),
    sa.Column('raw', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.Column('created_at', persistence.tables.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['mailing_id'], ['mailings.id'], name=op.f('fk_mailing_events_mailing_id_mailings')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_mailing_events')),
    sa.UniqueConstraint('mailing_id', 'dedupe_key', name=op.f('uq_mailing_events_mailing_id_dedupe_key'))
    )



def downgrade() -> None:

    op.drop_table('mailing_events')
    with op.batch_alter_table('mailings', schema=None) as batch_op:
        batch_op.drop_index('ix_mailings_tracking')
        batch_op.drop_index('ix_mailings_tenant_status')
        batch_op.drop_index(batch_op.f('ix_mailings_case_id'))

    op.drop_table('mailings')
    op.drop_table('webhook_deliveries')
    with op.batch_alter_table('ledger_timestamps', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ledger_timestamps_case_id'))

    op.drop_table('ledger_timestamps')
    with op.batch_alter_table('documents', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_documents_case_id'))

    op.drop_table('documents')
    with op.batch_alter_table('webhook_subscriptions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_webhook_subscriptions_tenant_id'))

    op.drop_table('webhook_subscriptions')
    op.drop_table('users')
    with op.batch_alter_table('outbound_events', schema=None) as batch_op:
        batch_op.drop_index('ix_outbound_events_tenant_seq')

    op.drop_table('outbound_events')
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.drop_index('ix_jobs_status_run_after')

    op.drop_table('jobs')
    op.drop_table('job_effects')
    op.drop_table('inbound_hook_events')

