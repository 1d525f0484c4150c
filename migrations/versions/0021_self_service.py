"""certificate reissues and requalification evidence

Revision ID: 0021
Revises: 0020
Create Date: 2026-11-29

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0021'
down_revision = '0020'
branch_labels = None
depends_on = None

# The catalogue's requalification courses and the full course each renews.
REQUALIFICATIONS = (
    ('first-aid-at-work-requalification', 'first-aid-at-work'),
    ('emergency-first-aid-at-work-requalification', 'emergency-first-aid-at-work'),
)


def upgrade():
    with op.batch_alter_table('courses', schema=None) as batch_op:
        batch_op.add_column(sa.Column('requalifies_course_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_courses_requalifies_course_id'), ['requalifies_course_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_courses_requalifies_course_id_courses'), 'courses', ['requalifies_course_id'], ['id'])

    with op.batch_alter_table('attendees', schema=None) as batch_op:
        batch_op.add_column(sa.Column('prior_certificate_expires_on', sa.Date(), nullable=True))

    op.create_table('superseded_certificates',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('attendee_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.String(length=32), nullable=False),
    sa.Column('issued_on', sa.Date(), nullable=False),
    sa.Column('expires_on', sa.Date(), nullable=False),
    sa.Column('replaced_by', sa.String(length=32), nullable=False),
    sa.Column('superseded_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('superseded_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['attendee_id'], ['attendees.id'], name=op.f('fk_superseded_certificates_attendee_id_attendees'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['superseded_by_id'], ['users.id'], name=op.f('fk_superseded_certificates_superseded_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_superseded_certificates')),
    sa.UniqueConstraint('number', name=op.f('uq_superseded_certificates_number'))
    )
    with op.batch_alter_table('superseded_certificates', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_superseded_certificates_attendee_id'), ['attendee_id'], unique=False)

    for requal, full in REQUALIFICATIONS:
        op.execute(sa.text(
            "UPDATE courses SET requalifies_course_id = "
            "(SELECT f.id FROM courses AS f WHERE f.slug = :full) "
            "WHERE slug = :requal").bindparams(full=full, requal=requal))


def downgrade():
    with op.batch_alter_table('superseded_certificates', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_superseded_certificates_attendee_id'))

    op.drop_table('superseded_certificates')
    with op.batch_alter_table('attendees', schema=None) as batch_op:
        batch_op.drop_column('prior_certificate_expires_on')

    with op.batch_alter_table('courses', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_courses_requalifies_course_id_courses'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_courses_requalifies_course_id'))
        batch_op.drop_column('requalifies_course_id')
