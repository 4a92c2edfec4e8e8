"""brouillon original : le texte préparé, gardé à la première modification

Révision : 20261205_0014
Précédente : 20261205_0013
Créée le : 2026-12-05 17:10:00
"""

from alembic import op
import sqlalchemy as sa


revision = '20261205_0014'
down_revision = '20261205_0013'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Vide sur les lignes anciennes (et sur tout brouillon jamais modifié) : un champ vide
    # n'entre pas dans le sceau, ce qui était scellé le reste.
    op.add_column(
        'brouillons', sa.Column('corps_original', sa.Text(), nullable=False, server_default='')
    )


def downgrade() -> None:
    with op.batch_alter_table('brouillons') as batch:
        batch.drop_column('corps_original')
