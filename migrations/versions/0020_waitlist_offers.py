"""waiting-list offers that hold seats

Revision ID: 0020
Revises: 0019
Create Date: 2026-11-29

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0020'
down_revision = '0019'
branch_labels = None
depends_on = None


def upgrade():
    # New statuses ("declined", "lapsed") need no change: the status is a plain
    # VARCHAR(16) without a CHECK constraint (native_enum=False).
    with op.batch_alter_table('waitlist_entries', schema=None) as batch_op:
        batch_op.add_column(sa.Column('booking_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_waitlist_entries_booking_id'), ['booking_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_waitlist_entries_booking_id_bookings'), 'bookings', ['booking_id'], ['id'])


def downgrade():
    with op.batch_alter_table('waitlist_entries', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_waitlist_entries_booking_id_bookings'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_waitlist_entries_booking_id'))
        batch_op.drop_column('booking_id')
