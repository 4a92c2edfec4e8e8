"""confiance OCR et angle de redressement par page (JSON), du courrier et de chaque pièce

Révision : 20261205_0010
Précédente : 20261205_0009
Créée le : 2026-12-05 17:00:00
"""

from alembic import op
import sqlalchemy as sa


revision = '20261205_0010'
down_revision = '20261205_0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # add_column simple, jamais batch_alter_table : SQLite recréerait `courriers` et perdrait
    # les déclencheurs qu'une autre migration y pose.
    op.add_column('courriers', sa.Column('pages_ocr', sa.Text(), nullable=False, server_default=''))
    op.add_column('pieces', sa.Column('pages_ocr', sa.Text(), nullable=False, server_default=''))


def downgrade() -> None:
    op.drop_column('pieces', 'pages_ocr')
    op.drop_column('courriers', 'pages_ocr')
