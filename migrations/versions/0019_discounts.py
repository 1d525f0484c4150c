"""discount codes and their uses

Revision ID: 0019
Revises: 0018
Create Date: 2026-11-29

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('discount_codes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('kind', sa.Enum('percent', 'amount', name='discount_kind', native_enum=False, length=16), nullable=False),
    sa.Column('percent', sa.Integer(), nullable=True),
    sa.Column('amount_pence', sa.Integer(), nullable=True),
    sa.Column('valid_from', sa.DateTime(timezone=True), nullable=True),
    sa.Column('valid_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('max_uses', sa.Integer(), nullable=True),
    sa.Column('max_uses_per_email', sa.Integer(), nullable=True),
    sa.Column('is_active', sa.Boolean(), nullable=False),
    sa.Column('lock_version', sa.Integer(), server_default='0', nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("(kind = 'percent' AND percent BETWEEN 1 AND 100 AND amount_pence IS NULL) OR (kind = 'amount' AND amount_pence > 0 AND percent IS NULL)", name=op.f('ck_discount_codes_value_matches_kind')),
    sa.CheckConstraint('max_uses IS NULL OR max_uses > 0', name=op.f('ck_discount_codes_max_uses_positive')),
    sa.CheckConstraint('max_uses_per_email IS NULL OR max_uses_per_email > 0', name=op.f('ck_discount_codes_max_uses_per_email_positive')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_discount_codes_created_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_discount_codes')),
    sa.UniqueConstraint('code', name=op.f('uq_discount_codes_code'))
    )
    op.create_table('discount_code_courses',
    sa.Column('discount_code_id', sa.Integer(), nullable=False),
    sa.Column('course_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['course_id'], ['courses.id'], name=op.f('fk_discount_code_courses_course_id_courses')),
    sa.ForeignKeyConstraint(['discount_code_id'], ['discount_codes.id'], name=op.f('fk_discount_code_courses_discount_code_id_discount_codes'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('discount_code_id', 'course_id', name=op.f('pk_discount_code_courses'))
    )
    with op.batch_alter_table('bookings', schema=None) as batch_op:
        batch_op.add_column(sa.Column('discount_pence', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('discount_code_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('terms_accepted_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f('ix_bookings_discount_code_id'), ['discount_code_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_bookings_discount_code_id_discount_codes'), 'discount_codes', ['discount_code_id'], ['id'])


def downgrade():
    with op.batch_alter_table('bookings', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_bookings_discount_code_id_discount_codes'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_bookings_discount_code_id'))
        batch_op.drop_column('terms_accepted_at')
        batch_op.drop_column('discount_code_id')
        batch_op.drop_column('discount_pence')

    op.drop_table('discount_code_courses')
    op.drop_table('discount_codes')
