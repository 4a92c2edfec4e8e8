"""Recherche plein texte du registre, sans accents ni casse, classée par pertinence.

Deux moteurs, une même API (`plein_texte(nom_du_dialecte)`) :

- SQLite : une table virtuelle FTS5 `courriers_fts` (tokeniseur `unicode61 remove_diacritics 2`)
  à contenu externe — elle n'indexe que les mots, le texte reste dans `courriers` — tenue à jour
  par trois déclencheurs (migration 20261205_0009) ; classement bm25. `pieces_fts` fait de même
  pour le nom et le texte lu des pièces jointes (migration 20261205_0015).
- PostgreSQL : une colonne `recherche` (tsvector, index GIN) sur `courriers` et sur `pieces`,
  remplie par un déclencheur avec `unaccent` et la configuration 'simple' ; classement ts_rank.

Dans les deux cas, la requête n'est jamais du texte de l'utilisateur interprété par le moteur :
on en extrait nous-mêmes les mots (suites de lettres et de chiffres) et chacun devient un terme
entre guillemets ; guillemets, `*`, `OR`, `NEAR`, parenthèses, `%` ou `_` ne sont que des
séparateurs ou des mots ordinaires. Chaque mot d'au moins 3 signes est cherché comme préfixe
(« ecol » trouve « écoles »).
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from sqlalchemy import Engine, Integer, Select, column, func, literal_column, select, text
from sqlalchemy.sql.selectable import SelectBase

from registre.modeles import Courrier

MOTS_MAX = 10
LONGUEUR_MAX = 500  # signes de la saisie examinés ; un mot plus long ne désigne rien d'utile
PREFIXE_MIN = 3

# Ce que la migration crée et que les modèles SQLAlchemy ne décrivent pas (l'autogénération
# d'Alembic et le test qui compare migrations et modèles les laissent de côté).
TABLES_SQLITE = tuple(
    f"{index}{suffixe}"
    for index in ("courriers_fts", "pieces_fts")
    for suffixe in ("", "_data", "_idx", "_docsize", "_config")
)
OBJETS_POSTGRES = ("recherche", "ix_courriers_recherche", "ix_pieces_recherche")


def hors_modeles(nom: str | None, type_: str, _parent: Any = None) -> bool:
    """Pour `include_name` d'Alembic : faux pour les objets de la recherche plein texte."""
    if type_ == "table":
        return nom not in TABLES_SQLITE
    if type_ in ("column", "index"):
        return nom not in OBJETS_POSTGRES
    return True


# Une date « 2026-12-05 » n'est pas un numéro : ni tiret ni chiffre autour.
_NUMERO_COURT = re.compile(r"(?<![-\w])(\d{4})-(\d{1,5})(?![-\w])")
_MOT = re.compile(r"[^\W_]+")


def mots(saisie: str) -> list[str]:
    """Les mots à chercher : lettres et chiffres seulement, au plus MOTS_MAX.

    « 2026-42 » devient « 2026-00042 » : le numéro chrono se tape sans ses zéros.
    Les lettres d'un seul signe (« l' », « d' ») sont laissées de côté s'il reste autre chose.
    """
    saisie = unicodedata.normalize("NFC", saisie[:LONGUEUR_MAX])
    saisie = _NUMERO_COURT.sub(lambda m: f"{m[1]}-{int(m[2]):05d}", saisie)
    # lower et non casefold : FTS5 ne change pas « ß » en « ss ».
    trouves = [m.lower() for m in _MOT.findall(saisie)]
    utiles = [m for m in trouves if len(m) > 1 or m.isdigit()]
    return (utiles or trouves)[:MOTS_MAX]


def _terme(mot: str, guillemet: str) -> str:
    # `mot` n'a que des lettres et des chiffres : le guillemet ne peut pas y apparaître.
    etoile = "*" if len(mot) >= PREFIXE_MIN else ""
    if guillemet == "'":
        return f"'{mot}'" + (":*" if etoile else "")
    return f'"{mot}"{etoile}'


class PleinTexte:
    """Ajoute à une requête sur `Courrier` la condition « contient ces mots » et son score.

    Chaque mot doit se trouver dans le courrier (numéro, objet, expéditeur, résumé, texte lu) ou
    dans l'une de ses pièces jointes (nom, texte lu : une lettre Word jointe est souvent tout le
    courrier) ; les mots d'une même saisie peuvent se répartir entre les deux. La pertinence est
    celle du courrier lui-même : un courrier trouvé par ses seules pièces vient après.
    """

    def requete(self, mots: list[str]) -> str:
        raise NotImplementedError

    def courriers_contenant(self, terme: str, nom: str) -> SelectBase:
        """Les identifiants des courriers qui contiennent ce terme, ou dont une pièce le
        contient (les deux passent par leur index)."""
        raise NotImplementedError

    def score(self, requete: Select[Any], mots: list[str]) -> tuple[Select[Any], Any]:
        raise NotImplementedError

    def filtrer(self, requete: Select[Any], mots: list[str]) -> tuple[Select[Any], Any]:
        """La requête restreinte aux courriers qui contiennent tous les mots, et l'expression
        par laquelle trier (la plus pertinente d'abord)."""
        for i, mot in enumerate(mots):
            terme = self.requete([mot])
            requete = requete.where(Courrier.id.in_(self.courriers_contenant(terme, f"mot_{i}")))
        return self.score(requete, mots)


class PleinTexteSqlite(PleinTexte):
    # bm25 : un mot dans le numéro ou l'objet compte plus que dans le texte lu.
    POIDS = "10.0, 5.0, 3.0, 2.0, 1.0"  # numero, objet, expediteur, resume, texte

    def requete(self, mots: list[str]) -> str:
        return " ".join(_terme(m, '"') for m in mots)

    def courriers_contenant(self, terme: str, nom: str) -> SelectBase:
        dans_le_courrier: Select[Any] = (
            select(literal_column("rowid"))
            .select_from(text("courriers_fts"))
            .where(text(f"courriers_fts MATCH :{nom}").bindparams(**{nom: terme}))
        )
        dans_une_piece: Select[Any] = (
            select(literal_column("pieces.courrier_id"))
            .select_from(text("pieces JOIN pieces_fts ON pieces_fts.rowid = pieces.id"))
            .where(text(f"pieces_fts MATCH :{nom}_p").bindparams(**{f"{nom}_p": terme}))
        )
        return select(dans_le_courrier.union(dans_une_piece).subquery().c[0])

    def score(self, requete: Select[Any], mots: list[str]) -> tuple[Select[Any], Any]:
        trouves = (
            select(
                literal_column("rowid").label("id"),
                literal_column(f"bm25(courriers_fts, {self.POIDS})").label("score"),
            )
            .select_from(text("courriers_fts"))
            .where(
                text("courriers_fts MATCH :requete_fts").bindparams(requete_fts=self.requete(mots))
            )
            .subquery("trouves")
        )
        # bm25 est négatif : plus il est petit, plus le courrier est pertinent ; 0 pour celui
        # que ses pièces seules font trouver.
        requete = requete.outerjoin(trouves, trouves.c.id == Courrier.id)
        return requete, func.coalesce(trouves.c.score, 0.0).asc()


class PleinTextePostgres(PleinTexte):
    # 'simple' et non 'french' : pas de racinisation (qui mutile les noms propres et rend les
    # préfixes imprévisibles) ni de mots vides ; les deux moteurs trouvent alors la même chose.
    def requete(self, mots: list[str]) -> str:
        return " & ".join(_terme(m, "'") for m in mots)

    def courriers_contenant(self, terme: str, nom: str) -> SelectBase:
        tsquery = f"to_tsquery('simple', unaccent(:{nom}))"
        # Deux lectures d'index GIN réunies, plutôt qu'un OR avec une sous-requête corrélée
        # que le planificateur ne saurait faire passer par les index.
        return (
            text(
                f"SELECT id FROM courriers WHERE recherche @@ {tsquery} "
                f"UNION SELECT courrier_id FROM pieces WHERE recherche @@ {tsquery}"
            )
            .bindparams(**{nom: terme})
            .columns(column("id", Integer))
        )

    def score(self, requete: Select[Any], mots: list[str]) -> tuple[Select[Any], Any]:
        q = self.requete(mots)
        tsquery = "to_tsquery('simple', unaccent(:requete_fts))"
        score = text(f"ts_rank(courriers.recherche, {tsquery}) DESC").bindparams(requete_fts=q)
        return requete, score


def plein_texte(dialecte: str) -> PleinTexte:
    return PleinTextePostgres() if dialecte == "postgresql" else PleinTexteSqlite()


def compacter_apres_effacement(moteur: Engine) -> None:
    """Après une purge RGPD : réécrit l'index SQLite d'un seul tenant.

    FTS5 ne réécrit pas ses segments à la suppression, il y ajoute des marques : les mots
    effacés, introuvables, resteraient lisibles dans le fichier jusqu'à la prochaine fusion.
    « optimize » fusionne tout et les en retire. (Sur PostgreSQL, c'est le VACUUM automatique
    qui retire les anciennes versions des lignes.)
    """
    if moteur.dialect.name == "sqlite":
        with moteur.begin() as connexion:
            for index in ("courriers_fts", "pieces_fts"):
                connexion.exec_driver_sql(f"INSERT INTO {index}({index}) VALUES ('optimize')")
