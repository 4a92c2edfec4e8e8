"""envois du digest

Révision : 20261123_0003
Précédente : 20261123_0002
Créée le : 2026-11-23 01:04:19.838041
"""

from alembic import op
import sqlalchemy as sa


revision = '20261123_0003'
down_revision = '20261123_0002'
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table('envois_digest',
    sa.Column('jour', sa.Date(), nullable=False),
    sa.Column('destinataires', sa.Text(), nullable=False),
    sa.Column('message_id', sa.Text(), nullable=False),
    sa.Column('statut', sa.String(length=16), nullable=False),
    sa.Column('prepare_le', sa.DateTime(timezone=True), nullable=False),
    sa.Column('envoye_le', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('jour')
    )



def downgrade() -> None:

    op.drop_table('envois_digest')

