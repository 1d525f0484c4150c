"""messages emailed to a session's attendees

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-29

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('session_messages',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('session_id', sa.Integer(), nullable=False),
    sa.Column('subject', sa.String(length=150), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('send_key', sa.String(length=64), nullable=False),
    sa.Column('sent_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['session_id'], ['course_sessions.id'], name=op.f('fk_session_messages_session_id_course_sessions')),
    sa.ForeignKeyConstraint(['sent_by_id'], ['users.id'], name=op.f('fk_session_messages_sent_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_session_messages')),
    sa.UniqueConstraint('send_key', name=op.f('uq_session_messages_send_key'))
    )
    with op.batch_alter_table('session_messages', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_session_messages_session_id'), ['session_id'], unique=False)

    op.create_table('session_message_recipients',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('message_id', sa.Integer(), nullable=False),
    sa.Column('booking_id', sa.Integer(), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['booking_id'], ['bookings.id'], name=op.f('fk_session_message_recipients_booking_id_bookings')),
    sa.ForeignKeyConstraint(['message_id'], ['session_messages.id'], name=op.f('fk_session_message_recipients_message_id_session_messages'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_session_message_recipients')),
    sa.UniqueConstraint('message_id', 'booking_id', name='uq_session_message_recipients_message_id_booking_id')
    )
    with op.batch_alter_table('session_message_recipients', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_session_message_recipients_booking_id'), ['booking_id'], unique=False)


def downgrade():
    with op.batch_alter_table('session_message_recipients', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_session_message_recipients_booking_id'))

    op.drop_table('session_message_recipients')
    with op.batch_alter_table('session_messages', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_session_messages_session_id'))

    op.drop_table('session_messages')
