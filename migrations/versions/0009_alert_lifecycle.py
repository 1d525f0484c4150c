"""alerts stored once per rule and subject, acknowledged and resolved

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-29

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


OPEN = sa.text("resolved_at IS NULL")


def upgrade():
    with op.batch_alter_table('alerts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('subject', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('count', sa.Integer(), server_default='1', nullable=False))
        batch_op.add_column(sa.Column('first_seen_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('last_seen_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('resolved_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('resolved_by_id', sa.Integer(), nullable=True))

    # Existing rows: the old de-duplication key becomes the subject (a row without
    # one gets a subject of its own), and an acknowledged alert counts as resolved,
    # which is what acknowledging meant before.
    op.execute(
        "UPDATE alerts SET subject = COALESCE(dedupe_key, 'alert-' || CAST(id AS VARCHAR(20))), "
        "first_seen_at = created_at, last_seen_at = created_at, "
        "resolved_at = acknowledged_at, resolved_by_id = acknowledged_by_id")

    with op.batch_alter_table('alerts', schema=None) as batch_op:
        batch_op.alter_column('subject', existing_type=sa.String(length=200), nullable=False,
                              server_default='')
        batch_op.alter_column('first_seen_at', existing_type=sa.DateTime(timezone=True),
                              nullable=False)
        batch_op.alter_column('last_seen_at', existing_type=sa.DateTime(timezone=True),
                              nullable=False)
        batch_op.create_foreign_key(batch_op.f('fk_alerts_resolved_by_id_users'), 'users',
                                    ['resolved_by_id'], ['id'])
        batch_op.drop_constraint(batch_op.f('uq_alerts_dedupe_key'), type_='unique')
        batch_op.drop_column('dedupe_key')
        batch_op.create_index(batch_op.f('ix_alerts_last_seen_at'), ['last_seen_at'],
                              unique=False)

    op.create_index('uq_alerts_open_kind_subject', 'alerts', ['kind', 'subject'], unique=True,
                    sqlite_where=OPEN, postgresql_where=OPEN)

    op.create_table('alert_emails',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.Column('alert_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=64), nullable=False),
    sa.Column('subject', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['alert_id'], ['alerts.id'], name=op.f('fk_alert_emails_alert_id_alerts'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_alert_emails')),
    sa.UniqueConstraint('event_id', name=op.f('uq_alert_emails_event_id'))
    )
    with op.batch_alter_table('alert_emails', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_alert_emails_alert_id'), ['alert_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_alert_emails_created_at'), ['created_at'],
                              unique=False)


def downgrade():
    with op.batch_alter_table('alert_emails', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_alert_emails_created_at'))
        batch_op.drop_index(batch_op.f('ix_alert_emails_alert_id'))
    op.drop_table('alert_emails')

    op.drop_index('uq_alerts_open_kind_subject', table_name='alerts')
    # Before, an alert was open until acknowledged: a resolved one stays closed.
    op.execute("UPDATE alerts SET acknowledged_at = resolved_at, "
               "acknowledged_by_id = resolved_by_id "
               "WHERE acknowledged_at IS NULL AND resolved_at IS NOT NULL")
    with op.batch_alter_table('alerts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('dedupe_key', sa.String(length=200), nullable=True))
        batch_op.drop_index(batch_op.f('ix_alerts_last_seen_at'))
        batch_op.drop_constraint(batch_op.f('fk_alerts_resolved_by_id_users'), type_='foreignkey')
        batch_op.drop_column('resolved_by_id')
        batch_op.drop_column('resolved_at')
        batch_op.drop_column('last_seen_at')
        batch_op.drop_column('first_seen_at')
        batch_op.drop_column('count')
        batch_op.drop_column('subject')
        batch_op.create_unique_constraint(batch_op.f('uq_alerts_dedupe_key'), ['dedupe_key'])
