"""ancres : la tête du journal horodatée par une autorité RFC 3161

Révision : 20261202_0005
Précédente : 20261123_0004
Créée le : 2026-12-02 14:00:00
"""

from alembic import op
import sqlalchemy as sa


revision = '20261202_0005'
down_revision = '20261123_0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('ancres',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('evenement_id', sa.Integer(), nullable=False),
    sa.Column('empreinte', sa.String(length=64), nullable=False),
    sa.Column('jeton', sa.LargeBinary(), nullable=False),
    sa.Column('horodate_le', sa.DateTime(timezone=True), nullable=False),
    sa.Column('autorite', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )


def downgrade() -> None:
    op.drop_table('ancres')
