"""messages automatiques (RFC 3834) et avis de non-remise rattachés (RFC 3464)

Révision : 20261202_0007
Précédente : 20261202_0006
Créée le : 2026-12-02 14:00:00
"""

from alembic import op
import sqlalchemy as sa


revision = '20261202_0007'
down_revision = '20261202_0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Vides sur les lignes anciennes : un champ vide n'entre pas dans leur sceau.
    with op.batch_alter_table('courriers') as batch:
        batch.add_column(sa.Column('automatique', sa.String(length=32), nullable=False, server_default=''))
        batch.add_column(sa.Column('retour_de', sa.String(length=16), nullable=False, server_default=''))


def downgrade() -> None:
    with op.batch_alter_table('courriers') as batch:
        batch.drop_column('retour_de')
        batch.drop_column('automatique')
