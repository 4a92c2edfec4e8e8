"""échéances légales : décision implicite, pièces à réclamer (JSON)

Révision : 20261202_0008
Précédente : 20261202_0007
Créée le : 2026-12-02 15:00:00
"""

from alembic import op
import sqlalchemy as sa


revision = '20261202_0008'
down_revision = '20261202_0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('courriers') as batch:
        batch.add_column(sa.Column('echeances_legales', sa.Text(), nullable=False, server_default=''))


def downgrade() -> None:
    with op.batch_alter_table('courriers') as batch:
        batch.drop_column('echeances_legales')
