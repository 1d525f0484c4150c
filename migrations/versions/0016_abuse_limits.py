"""limits on holds and emails per client and recipient

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-29

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('bookings', schema=None) as batch_op:
        batch_op.add_column(sa.Column('hold_client_key', sa.String(length=64), nullable=True))
    with op.batch_alter_table('sent_emails', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sent_emails_created_at'), ['created_at'],
                              unique=False)


def downgrade():
    with op.batch_alter_table('sent_emails', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sent_emails_created_at'))
    with op.batch_alter_table('bookings', schema=None) as batch_op:
        batch_op.drop_column('hold_client_key')
