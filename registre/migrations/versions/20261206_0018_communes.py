"""communes : l'identité du registre, les communes d'un compte, la commune d'une session

Révision : 20261206_0018
Précédente : 20261205_0017
Créée le : 2026-12-06 00:30:00

Chaque commune a son registre (sa base SQLite ou son schéma PostgreSQL) : numérotation,
journal, sceaux et archive ne se mêlent jamais. La table `commune` dit à qui appartient ce
registre ; un registre existant est celui de la commune `defaut`. Rien de ce qui est scellé
ne change : aucune colonne de courrier, de pièce, de brouillon ni d'événement n'est touchée.
"""

from alembic import op
import sqlalchemy as sa


revision = '20261206_0018'
down_revision = '20261205_0017'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'commune',
        sa.Column('identifiant', sa.String(length=40), primary_key=True),
        sa.Column('cree_le', sa.DateTime(timezone=True), nullable=False),
    )
    # Un registre qui a déjà des courriers, ou un journal, est celui de la commune par défaut.
    # Un registre neuf reçoit son identifiant à la première ouverture (registre/commune.py).
    op.execute(
        "INSERT INTO commune (identifiant, cree_le) "
        "SELECT 'defaut', CURRENT_TIMESTAMP WHERE EXISTS (SELECT 1 FROM tete_journal "
        "WHERE dernier_id > 0)"
    )
    # Les comptes vivent dans le registre de l'installation (la commune par défaut) : la liste
    # des communes qu'un compte voit, « * » pour toutes (un compte de l'intercommunalité).
    op.add_column(
        'utilisateurs',
        sa.Column('communes', sa.Text(), nullable=False, server_default='defaut'),
    )
    # La commune qu'une session regarde (un compte qui en voit plusieurs en change).
    op.add_column(
        'sessions_web',
        sa.Column('commune', sa.String(length=40), nullable=False, server_default='defaut'),
    )


def downgrade() -> None:
    op.drop_column('sessions_web', 'commune')
    op.drop_column('utilisateurs', 'communes')
    op.drop_table('commune')
