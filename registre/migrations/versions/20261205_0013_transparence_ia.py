"""transparence de l'IA : empreinte de la consigne de chaque analyse et brouillon de l'IA

Révision : 20261205_0013
Précédente : 20261205_0011
Créée le : 2026-12-05 17:00:00
"""

from alembic import op
import sqlalchemy as sa


revision = '20261205_0013'
down_revision = '20261205_0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Colonnes ajoutées sans recréer les tables (pas de batch_alter_table) : les déclencheurs
    # de la recherche plein texte posés sur `courriers` restent en place. Vides sur les lignes
    # anciennes, elles n'entrent pas dans leurs sceaux.
    op.add_column('courriers', sa.Column('consigne_ia', sa.String(64), nullable=False, server_default=''))
    op.add_column('brouillons', sa.Column('consigne_ia', sa.String(64), nullable=False, server_default=''))


def downgrade() -> None:
    # ALTER TABLE … DROP COLUMN (SQLite >= 3.35), pas de table recréée : les déclencheurs
    # de la recherche restent.
    op.drop_column('brouillons', 'consigne_ia')
    op.drop_column('courriers', 'consigne_ia')
