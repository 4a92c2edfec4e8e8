"""analyse et brouillons

Révision : 20261123_0002
Précédente : 20261122_0001
Créée le : 2026-11-23 00:29:34.767337
"""

from alembic import op
import sqlalchemy as sa


revision = '20261123_0002'
down_revision = '20261122_0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Les lignes déjà au registre reçoivent des valeurs vides (server_default) : leur sceau ne
    # change pas, car un champ vide n'entre pas dans le sceau.
    op.create_table('brouillons',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('courrier_id', sa.Integer(), nullable=False),
    sa.Column('rang', sa.Integer(), nullable=False),
    sa.Column('type', sa.String(length=32), nullable=False),
    sa.Column('objet', sa.Text(), nullable=False),
    sa.Column('corps', sa.Text(), nullable=False),
    sa.Column('auteur', sa.String(length=160), nullable=False),
    sa.Column('prepare_par_ia', sa.Boolean(), nullable=False),
    sa.Column('destinataire', sa.Text(), nullable=False),
    sa.Column('statut', sa.String(length=16), nullable=False),
    sa.Column('dates', sa.Text(), nullable=False),
    sa.Column('cree_le', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['courrier_id'], ['courriers.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('courrier_id', 'rang', name='uq_brouillons_courrier_rang')
    )
    with op.batch_alter_table('brouillons', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_brouillons_courrier_id'), ['courrier_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_brouillons_statut'), ['statut'], unique=False)

    with op.batch_alter_table('courriers', schema=None) as batch_op:
        batch_op.add_column(sa.Column('categorie', sa.String(length=40), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('service', sa.Text(), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('urgence', sa.String(length=16), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('resume', sa.Text(), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('demande', sa.Text(), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('reponse_attendue', sa.Boolean(), nullable=True))
        batch_op.add_column(sa.Column('est_demande_usager', sa.Boolean(), nullable=True))
        batch_op.add_column(sa.Column('echeance', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('confiance', sa.Float(), nullable=True))
        batch_op.add_column(sa.Column('moteur', sa.String(length=120), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('alertes', sa.Text(), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('analyse', sa.Text(), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('analyse_le', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f('ix_courriers_categorie'), ['categorie'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('courriers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_courriers_categorie'))
        batch_op.drop_column('analyse_le')
        batch_op.drop_column('analyse')
        batch_op.drop_column('alertes')
        batch_op.drop_column('moteur')
        batch_op.drop_column('confiance')
        batch_op.drop_column('echeance')
        batch_op.drop_column('est_demande_usager')
        batch_op.drop_column('reponse_attendue')
        batch_op.drop_column('demande')
        batch_op.drop_column('resume')
        batch_op.drop_column('urgence')
        batch_op.drop_column('service')
        batch_op.drop_column('categorie')

    with op.batch_alter_table('brouillons', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_brouillons_statut'))
        batch_op.drop_index(batch_op.f('ix_brouillons_courrier_id'))

    op.drop_table('brouillons')

