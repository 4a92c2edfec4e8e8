"""purge : date d'effacement des données personnelles d'un courrier

Révision : 20261202_0006
Précédente : 20261202_0005
Créée le : 2026-12-02 14:30:00
"""

from alembic import op
import sqlalchemy as sa


revision = '20261202_0006'
down_revision = '20261202_0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('courriers') as batch:
        batch.add_column(sa.Column('purge_le', sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('courriers') as batch:
        batch.drop_column('purge_le')
