"""recherche plein texte : le texte lu des pièces jointes aussi

Révision : 20261205_0015
Précédente : 20261205_0014
Créée le : 2026-12-05 18:00:00

Même principe que 20261205_0009 pour la table `pieces` (nom et texte lu) : une lettre Word ou un
PDF joint à un courriel est souvent tout le courrier. Voir registre/plein_texte.py.
"""

from alembic import op


revision = '20261205_0015'
down_revision = '20261205_0014'
branch_labels = None
depends_on = None

COLONNES = "nom, texte"

SQLITE = [
    f"""CREATE VIRTUAL TABLE pieces_fts USING fts5({COLONNES}, content='pieces',
        content_rowid='id', tokenize='unicode61 remove_diacritics 2')""",
    f"""CREATE TRIGGER pieces_fts_insertion AFTER INSERT ON pieces BEGIN
        INSERT INTO pieces_fts(rowid, {COLONNES}) VALUES (new.id, new.nom, new.texte);
    END""",
    f"""CREATE TRIGGER pieces_fts_suppression AFTER DELETE ON pieces BEGIN
        INSERT INTO pieces_fts(pieces_fts, rowid, {COLONNES})
        VALUES ('delete', old.id, old.nom, old.texte);
    END""",
    f"""CREATE TRIGGER pieces_fts_modification AFTER UPDATE OF {COLONNES} ON pieces BEGIN
        INSERT INTO pieces_fts(pieces_fts, rowid, {COLONNES})
        VALUES ('delete', old.id, old.nom, old.texte);
        INSERT INTO pieces_fts(rowid, {COLONNES}) VALUES (new.id, new.nom, new.texte);
    END""",
    "INSERT INTO pieces_fts(pieces_fts) VALUES ('rebuild')",
]

POSTGRES = [
    "ALTER TABLE pieces ADD COLUMN recherche tsvector",
    # courriers_recherche_mots vient de 20261205_0009 (unaccent, ponctuation en espaces).
    """CREATE FUNCTION pieces_recherche_maj() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        NEW.recherche :=
            setweight(to_tsvector('simple', courriers_recherche_mots(NEW.nom)), 'B')
            || setweight(to_tsvector('simple',
                         courriers_recherche_mots(left(NEW.texte, 300000))), 'D');
        RETURN NEW;
    END
    $$""",
    f"""CREATE TRIGGER pieces_recherche BEFORE INSERT OR UPDATE OF {COLONNES} ON pieces
        FOR EACH ROW EXECUTE FUNCTION pieces_recherche_maj()""",
    "UPDATE pieces SET nom = nom",
    "CREATE INDEX ix_pieces_recherche ON pieces USING gin (recherche)",
]


def upgrade() -> None:
    for instruction in POSTGRES if op.get_bind().dialect.name == "postgresql" else SQLITE:
        op.execute(instruction)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS pieces_recherche ON pieces")
        op.execute("DROP FUNCTION IF EXISTS pieces_recherche_maj()")
        op.execute("DROP INDEX IF EXISTS ix_pieces_recherche")
        op.execute("ALTER TABLE pieces DROP COLUMN IF EXISTS recherche")
        return
    for nom in ("insertion", "suppression", "modification"):
        op.execute(f"DROP TRIGGER IF EXISTS pieces_fts_{nom}")
    op.execute("DROP TABLE IF EXISTS pieces_fts")
