"""request and error figures per minute, shared by all processes

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-29

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None

# The latency histogram's buckets (app.monitoring.metrics.LATENCY_BUCKETS), each
# counting the requests that fell in it alone.
BUCKET_COLUMNS = ('le_5ms', 'le_10ms', 'le_25ms', 'le_50ms', 'le_100ms', 'le_250ms',
                  'le_500ms', 'le_1s', 'le_2_5s', 'le_5s', 'le_10s', 'le_inf')


def _count(name, type_=sa.Integer()):
    return sa.Column(name, type_, nullable=False, server_default=sa.text('0'))


def upgrade():
    op.create_table(
        'traffic_minutes',
        sa.Column('minute', sa.DateTime(timezone=True), nullable=False),
        sa.Column('method', sa.String(length=16), nullable=False),
        sa.Column('route', sa.String(length=255), nullable=False),
        _count('requests'),
        _count('server_errors'),
        _count('errors'),
        _count('duration_micros', sa.BigInteger()),
        *(_count(name) for name in BUCKET_COLUMNS),
        sa.PrimaryKeyConstraint('minute', 'method', 'route', name=op.f('pk_traffic_minutes')),
    )
    op.create_table(
        'traffic_minute_errors',
        sa.Column('minute', sa.DateTime(timezone=True), nullable=False),
        sa.Column('method', sa.String(length=16), nullable=False),
        sa.Column('route', sa.String(length=255), nullable=False),
        sa.Column('category', sa.String(length=32), nullable=False),
        sa.Column('severity', sa.String(length=16), nullable=False),
        _count('count'),
        sa.PrimaryKeyConstraint('minute', 'method', 'route', 'category', 'severity',
                                name=op.f('pk_traffic_minute_errors')),
    )


def downgrade():
    op.drop_table('traffic_minute_errors')
    op.drop_table('traffic_minutes')
