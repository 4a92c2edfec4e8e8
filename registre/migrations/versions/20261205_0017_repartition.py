"""répartition : l'élu référent de chaque courrier, les commentaires des élus, leurs digests

Révision : 20261205_0017
Précédente : 20261205_0015
Créée le : 2026-12-05 19:35:00
"""

from alembic import op
import sqlalchemy as sa


revision = '20261205_0017'
down_revision = '20261205_0015'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Une colonne simple, jamais batch_alter_table('courriers') : SQLite recréerait la table et
    # perdrait les déclencheurs de la recherche plein texte. Vide sur les lignes anciennes, elle
    # n'entre pas dans leur sceau.
    op.add_column(
        'courriers', sa.Column('elu', sa.String(length=40), nullable=False, server_default='')
    )
    op.create_table(
        'commentaires',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('courrier_id', sa.Integer(), sa.ForeignKey('courriers.id'), nullable=False),
        sa.Column('auteur', sa.String(length=64), nullable=False),
        sa.Column('texte', sa.Text(), nullable=False),
        sa.Column('empreinte', sa.String(length=64), nullable=False),
        sa.Column('cree_le', sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index('ix_commentaires_courrier_id', 'commentaires', ['courrier_id'])
    op.create_table(
        'envois_digest_elus',
        sa.Column('jour', sa.Date(), primary_key=True),
        sa.Column('elu', sa.String(length=40), primary_key=True),
        sa.Column('destinataire', sa.Text(), nullable=False),
        sa.Column('message_id', sa.Text(), nullable=False),
        sa.Column('statut', sa.String(length=16), nullable=False),
        sa.Column('prepare_le', sa.DateTime(timezone=True), nullable=False),
        sa.Column('envoye_le', sa.DateTime(timezone=True), nullable=True),
    )


def downgrade() -> None:
    op.drop_table('envois_digest_elus')
    op.drop_index('ix_commentaires_courrier_id', table_name='commentaires')
    op.drop_table('commentaires')
    op.drop_column('courriers', 'elu')
