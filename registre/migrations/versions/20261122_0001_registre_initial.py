"""registre initial

Révision : 20261122_0001
Précédente : 
Créée le : 2026-11-22 23:52:43.911678
"""

from alembic import op
import sqlalchemy as sa


revision = '20261122_0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table('compteurs',
    sa.Column('annee', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('dernier', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('annee')
    )
    op.create_table('courriers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('numero', sa.String(length=16), nullable=False),
    sa.Column('annee', sa.Integer(), nullable=False),
    sa.Column('rang', sa.Integer(), nullable=False),
    sa.Column('canal', sa.String(length=16), nullable=False),
    sa.Column('source', sa.String(length=32), nullable=False),
    sa.Column('reference', sa.Text(), nullable=False),
    sa.Column('recu_le', sa.DateTime(timezone=True), nullable=False),
    sa.Column('enregistre_le', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expediteur', sa.Text(), nullable=False),
    sa.Column('expediteur_adresse', sa.Text(), nullable=False),
    sa.Column('destinataires', sa.Text(), nullable=False),
    sa.Column('objet', sa.Text(), nullable=False),
    sa.Column('message_id', sa.Text(), nullable=False),
    sa.Column('in_reply_to', sa.Text(), nullable=False),
    sa.Column('references', sa.Text(), nullable=False),
    sa.Column('date_entete', sa.DateTime(timezone=True), nullable=True),
    sa.Column('nom_fichier', sa.Text(), nullable=False),
    sa.Column('empreinte', sa.String(length=64), nullable=False),
    sa.Column('taille', sa.BigInteger(), nullable=False),
    sa.Column('statut', sa.String(length=32), nullable=False),
    sa.Column('erreur', sa.Text(), nullable=False),
    sa.Column('texte', sa.Text(), nullable=False),
    sa.Column('methode_extraction', sa.String(length=16), nullable=False),
    sa.Column('confiance_ocr', sa.Float(), nullable=True),
    sa.Column('pages', sa.Integer(), nullable=True),
    sa.Column('extrait_le', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('annee', 'rang', name='uq_courriers_annee_rang'),
    sa.UniqueConstraint('numero')
    )
    with op.batch_alter_table('courriers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_courriers_empreinte'), ['empreinte'], unique=False)
        batch_op.create_index(batch_op.f('ix_courriers_statut'), ['statut'], unique=False)

    op.create_table('tete_journal',
    sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('dernier_id', sa.Integer(), nullable=False),
    sa.Column('empreinte', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('evenements',
    sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('courrier_id', sa.Integer(), nullable=True),
    sa.Column('numero', sa.String(length=16), nullable=False),
    sa.Column('type', sa.String(length=32), nullable=False),
    sa.Column('horodatage', sa.DateTime(timezone=True), nullable=False),
    sa.Column('acteur', sa.String(length=128), nullable=False),
    sa.Column('details', sa.Text(), nullable=False),
    sa.Column('etat', sa.String(length=64), nullable=False),
    sa.Column('precedent', sa.String(length=64), nullable=False),
    sa.Column('empreinte', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['courrier_id'], ['courriers.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('empreinte')
    )
    with op.batch_alter_table('evenements', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_evenements_courrier_id'), ['courrier_id'], unique=False)

    op.create_table('identites',
    sa.Column('cle', sa.String(length=512), nullable=False),
    sa.Column('courrier_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['courrier_id'], ['courriers.id'], ),
    sa.PrimaryKeyConstraint('cle')
    )
    with op.batch_alter_table('identites', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_identites_courrier_id'), ['courrier_id'], unique=False)

    op.create_table('pieces',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('courrier_id', sa.Integer(), nullable=False),
    sa.Column('rang', sa.Integer(), nullable=False),
    sa.Column('nom', sa.Text(), nullable=False),
    sa.Column('type_mime', sa.Text(), nullable=False),
    sa.Column('taille', sa.BigInteger(), nullable=False),
    sa.Column('empreinte', sa.String(length=64), nullable=False),
    sa.Column('texte', sa.Text(), nullable=False),
    sa.Column('methode', sa.String(length=16), nullable=False),
    sa.Column('confiance_ocr', sa.Float(), nullable=True),
    sa.Column('pages', sa.Integer(), nullable=True),
    sa.Column('erreur', sa.Text(), nullable=False),
    sa.Column('en_ligne', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['courrier_id'], ['courriers.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('courrier_id', 'rang', name='uq_pieces_courrier_rang')
    )
    with op.batch_alter_table('pieces', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_pieces_courrier_id'), ['courrier_id'], unique=False)




    # La tête du journal existe dès la création : son verrou sérialise les enregistrements,
    # sans course à sa création entre deux relèves concurrentes.
    op.bulk_insert(
        sa.table("tete_journal", sa.column("id", sa.Integer), sa.column("dernier_id", sa.Integer),
                 sa.column("empreinte", sa.String)),
        [{"id": 1, "dernier_id": 0, "empreinte": "0" * 64}],
    )


def downgrade() -> None:

    with op.batch_alter_table('pieces', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_pieces_courrier_id'))

    op.drop_table('pieces')
    with op.batch_alter_table('identites', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_identites_courrier_id'))

    op.drop_table('identites')
    with op.batch_alter_table('evenements', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_evenements_courrier_id'))

    op.drop_table('evenements')
    op.drop_table('tete_journal')
    with op.batch_alter_table('courriers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_courriers_statut'))
        batch_op.drop_index(batch_op.f('ix_courriers_empreinte'))

    op.drop_table('courriers')
    op.drop_table('compteurs')

