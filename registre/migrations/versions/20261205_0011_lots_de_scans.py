"""lots de scans : la lettre, son lot d'origine et ses pages

Révision : 20261205_0011
Précédente : 20261205_0010
Créée le : 2026-12-05 17:00:00
"""

from alembic import op
import sqlalchemy as sa


revision = '20261205_0011'
down_revision = '20261205_0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Une table neuve : `courriers` n'est pas recréée (ses déclencheurs restent).
    op.create_table(
        'lettres_de_lot',
        sa.Column('courrier_id', sa.Integer(), sa.ForeignKey('courriers.id'), primary_key=True),
        sa.Column('lot_empreinte', sa.String(64), nullable=False),
        sa.Column('lot_nom', sa.String(255), nullable=False),
        sa.Column('rang', sa.Integer(), nullable=False),
        sa.Column('total', sa.Integer(), nullable=False),
        sa.Column('premiere_page', sa.Integer(), nullable=False),
        sa.Column('derniere_page', sa.Integer(), nullable=False),
        sa.Column('pages_lot', sa.Integer(), nullable=False),
    )
    op.create_index('ix_lettres_de_lot_lot_empreinte', 'lettres_de_lot', ['lot_empreinte'])


def downgrade() -> None:
    op.drop_index('ix_lettres_de_lot_lot_empreinte', 'lettres_de_lot')
    op.drop_table('lettres_de_lot')
