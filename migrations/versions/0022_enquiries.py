"""on-site training enquiries and private sessions

Revision ID: 0022
Revises: 0021
Create Date: 2026-11-29

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0022'
down_revision = '0021'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('course_sessions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('is_private', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column('private_token', sa.String(length=64), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_course_sessions_private_token'), ['private_token'])

    op.create_table('enquiries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('course_id', sa.Integer(), nullable=False),
    sa.Column('learners', sa.Integer(), nullable=False),
    sa.Column('preferred_dates', sa.String(length=500), nullable=False),
    sa.Column('site_postcode', sa.String(length=8), nullable=False),
    sa.Column('contact_name', sa.String(length=100), nullable=False),
    sa.Column('contact_email', sa.String(length=254), nullable=False),
    sa.Column('contact_phone', sa.String(length=20), nullable=False),
    sa.Column('company', sa.String(length=120), nullable=False),
    sa.Column('message', sa.Text(), nullable=True),
    sa.Column('status', sa.Enum('open', 'answered', 'closed', name='enquiry_status', native_enum=False, length=16), nullable=False),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('session_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('learners > 0', name=op.f('ck_enquiries_learners_positive')),
    sa.ForeignKeyConstraint(['course_id'], ['courses.id'], name=op.f('fk_enquiries_course_id_courses')),
    sa.ForeignKeyConstraint(['session_id'], ['course_sessions.id'], name=op.f('fk_enquiries_session_id_course_sessions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_enquiries'))
    )
    with op.batch_alter_table('enquiries', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_enquiries_session_id'), ['session_id'], unique=False)
        batch_op.create_index('ix_enquiries_status_created_at', ['status', 'created_at'], unique=False)

    op.create_table('enquiry_replies',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('enquiry_id', sa.Integer(), nullable=False),
    sa.Column('subject', sa.String(length=150), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('sent_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['enquiry_id'], ['enquiries.id'], name=op.f('fk_enquiry_replies_enquiry_id_enquiries'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['sent_by_id'], ['users.id'], name=op.f('fk_enquiry_replies_sent_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_enquiry_replies'))
    )
    with op.batch_alter_table('enquiry_replies', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_enquiry_replies_enquiry_id'), ['enquiry_id'], unique=False)


def downgrade():
    with op.batch_alter_table('enquiry_replies', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_enquiry_replies_enquiry_id'))

    op.drop_table('enquiry_replies')
    with op.batch_alter_table('enquiries', schema=None) as batch_op:
        batch_op.drop_index('ix_enquiries_status_created_at')
        batch_op.drop_index(batch_op.f('ix_enquiries_session_id'))

    op.drop_table('enquiries')
    with op.batch_alter_table('course_sessions', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_course_sessions_private_token'), type_='unique')
        batch_op.drop_column('private_token')
        batch_op.drop_column('is_private')
