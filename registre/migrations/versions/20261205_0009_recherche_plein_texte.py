"""recherche plein texte : FTS5 (SQLite), unaccent + tsvector (PostgreSQL)

Révision : 20261205_0009
Précédente : 20261202_0008
Créée le : 2026-12-05 17:00:00

Voir registre/plein_texte.py. Aucune recréation de la table `courriers` (pas de batch_alter_table) :
ses déclencheurs y survivraient mal.
"""

from alembic import op


revision = '20261205_0009'
down_revision = '20261202_0008'
branch_labels = None
depends_on = None

COLONNES = "numero, objet, expediteur, resume, texte"

SQLITE = [
    # Contenu externe : l'index ne garde que les mots, le texte reste dans `courriers`.
    f"""CREATE VIRTUAL TABLE courriers_fts USING fts5({COLONNES}, content='courriers',
        content_rowid='id', tokenize='unicode61 remove_diacritics 2')""",
    f"""CREATE TRIGGER courriers_fts_insertion AFTER INSERT ON courriers BEGIN
        INSERT INTO courriers_fts(rowid, {COLONNES})
        VALUES (new.id, new.numero, new.objet, new.expediteur, new.resume, new.texte);
    END""",
    # 'delete' doit recevoir les anciennes valeurs exactes pour retirer leurs mots de l'index :
    # c'est ce qui rend introuvable ce qu'une purge RGPD efface.
    f"""CREATE TRIGGER courriers_fts_suppression AFTER DELETE ON courriers BEGIN
        INSERT INTO courriers_fts(courriers_fts, rowid, {COLONNES})
        VALUES ('delete', old.id, old.numero, old.objet, old.expediteur, old.resume, old.texte);
    END""",
    f"""CREATE TRIGGER courriers_fts_modification AFTER UPDATE OF {COLONNES} ON courriers BEGIN
        INSERT INTO courriers_fts(courriers_fts, rowid, {COLONNES})
        VALUES ('delete', old.id, old.numero, old.objet, old.expediteur, old.resume, old.texte);
        INSERT INTO courriers_fts(rowid, {COLONNES})
        VALUES (new.id, new.numero, new.objet, new.expediteur, new.resume, new.texte);
    END""",
    "INSERT INTO courriers_fts(courriers_fts) VALUES ('rebuild')",
]

POSTGRES = [
    # unaccent est une extension « de confiance » (PostgreSQL 13+) : le propriétaire de la base
    # l'installe sans être superutilisateur.
    "CREATE EXTENSION IF NOT EXISTS unaccent",
    "ALTER TABLE courriers ADD COLUMN recherche tsvector",
    # unaccent() n'est pas IMMUTABLE (son dictionnaire peut changer) : pas de colonne générée ni
    # d'index sur expression, mais une colonne tenue par déclencheur. Après un changement du
    # dictionnaire, `UPDATE courriers SET texte = texte` recalcule tout.
    # Tout ce qui n'est ni lettre ni chiffre devient une espace avant l'analyseur : sans cela il
    # ferait de « 2026-00042 » les mots « 2026 » et « -00042 », d'une adresse un seul mot, et
    # la requête (découpée en Python) ne les retrouverait pas. Le texte lu est borné : un
    # tsvector ne dépasse pas 1 Mo.
    """CREATE FUNCTION courriers_recherche_mots(t text) RETURNS text LANGUAGE sql STABLE AS $$
        SELECT regexp_replace(lower(unaccent(coalesce(t, ''))), '[^[:alnum:]]+', ' ', 'g')
    $$""",
    """CREATE FUNCTION courriers_recherche_maj() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        NEW.recherche :=
            setweight(to_tsvector('simple', courriers_recherche_mots(NEW.numero)), 'A')
            || setweight(to_tsvector('simple', courriers_recherche_mots(NEW.objet)), 'A')
            || setweight(to_tsvector('simple', courriers_recherche_mots(NEW.expediteur)), 'B')
            || setweight(to_tsvector('simple', courriers_recherche_mots(NEW.resume)), 'C')
            || setweight(to_tsvector('simple',
                         courriers_recherche_mots(left(NEW.texte, 300000))), 'D');
        RETURN NEW;
    END
    $$""",
    f"""CREATE TRIGGER courriers_recherche BEFORE INSERT OR UPDATE OF {COLONNES} ON courriers
        FOR EACH ROW EXECUTE FUNCTION courriers_recherche_maj()""",
    "UPDATE courriers SET numero = numero",
    "CREATE INDEX ix_courriers_recherche ON courriers USING gin (recherche)",
]


def upgrade() -> None:
    for instruction in POSTGRES if op.get_bind().dialect.name == "postgresql" else SQLITE:
        op.execute(instruction)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS courriers_recherche ON courriers")
        op.execute("DROP FUNCTION IF EXISTS courriers_recherche_maj()")
        op.execute("DROP FUNCTION IF EXISTS courriers_recherche_mots(text)")
        op.execute("ALTER TABLE courriers DROP COLUMN IF EXISTS recherche")
        return
    for nom in ("insertion", "suppression", "modification"):
        op.execute(f"DROP TRIGGER IF EXISTS courriers_fts_{nom}")
    op.execute("DROP TABLE IF EXISTS courriers_fts")
