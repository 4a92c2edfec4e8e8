"""décisions, envoi des réponses, comptes de la page web

Révision : 20261123_0004
Précédente : 20261123_0003
Créée le : 2026-11-23 03:00:00
"""

from alembic import op
import sqlalchemy as sa


revision = '20261123_0004'
down_revision = '20261123_0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('courriers') as batch:
        batch.add_column(sa.Column('repondu_le', sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table('brouillons') as batch:
        batch.add_column(sa.Column('mode', sa.String(length=16), nullable=False, server_default=''))
        batch.add_column(sa.Column('decide_par', sa.String(length=128), nullable=False, server_default=''))
        batch.add_column(sa.Column('decide_le', sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column('raison', sa.Text(), nullable=False, server_default=''))
        batch.add_column(sa.Column('message_id_envoi', sa.Text(), nullable=False, server_default=''))
        batch.add_column(sa.Column('tentatives', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('envoye_le', sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column('lettre_empreinte', sa.String(length=64), nullable=False, server_default=''))
    op.create_table('utilisateurs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('nom', sa.String(length=64), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('hachage', sa.Text(), nullable=False),
    sa.Column('actif', sa.Boolean(), nullable=False),
    sa.Column('cree_le', sa.DateTime(timezone=True), nullable=False),
    sa.Column('derniere_connexion', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('nom')
    )
    op.create_table('sessions_web',
    sa.Column('jeton', sa.String(length=64), nullable=False),
    sa.Column('utilisateur_id', sa.Integer(), nullable=False),
    sa.Column('csrf', sa.String(length=64), nullable=False),
    sa.Column('cree_le', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expire_le', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['utilisateur_id'], ['utilisateurs.id'], ),
    sa.PrimaryKeyConstraint('jeton')
    )
    op.create_index('ix_sessions_web_utilisateur_id', 'sessions_web', ['utilisateur_id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_sessions_web_utilisateur_id', table_name='sessions_web')
    op.drop_table('sessions_web')
    op.drop_table('utilisateurs')
    with op.batch_alter_table('brouillons') as batch:
        for colonne in ('lettre_empreinte', 'envoye_le', 'tentatives', 'message_id_envoi',
                        'raison', 'decide_le', 'decide_par', 'mode'):
            batch.drop_column(colonne)
    with op.batch_alter_table('courriers') as batch:
        batch.drop_column('repondu_le')
