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

from sqlalchemy import Engine, Float, Integer, Select, column, text

from registre.tables import Courrier

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


def hors_tables(nom: str | None, type_: str, _parent: Any = None) -> bool:
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
    celle du courrier lui-même : un courrier trouvé par ses seules pièces vient après (score 0).

    Le cas courant reste une seule interrogation de l'index des courriers (tous les mots à la
    fois, score compris) ; l'examen mot à mot ne porte que sur les courriers dont une pièce
    contient au moins un des mots, et qui ne sont pas déjà trouvés.
    """

    ET = " "
    OU = " OR "
    GUILLEMET = '"'

    def requete(self, mots: list[str]) -> str:
        return self.ET.join(_terme(m, self.GUILLEMET) for m in mots)

    def dans_les_courriers(self, parametre: str) -> str:
        """SQL : les identifiants des courriers dont l'index répond à `:parametre`."""
        raise NotImplementedError

    def scores(self, parametre: str) -> str:
        """SQL : (id, score) des courriers dont l'index répond à `:parametre`."""
        raise NotImplementedError

    def dans_les_pieces(self, parametre: str) -> str:
        """SQL : la colonne `courrier_id` des pièces dont l'index répond à `:parametre`."""
        raise NotImplementedError

    def ordre(self, score: Any) -> Any:
        raise NotImplementedError

    def filtrer(self, requete: Select[Any], mots: list[str]) -> tuple[Select[Any], Any]:
        """La requête restreinte aux courriers qui contiennent tous les mots, et l'expression
        par laquelle trier (la plus pertinente d'abord)."""
        termes = [_terme(m, self.GUILLEMET) for m in mots]
        parametres = {"tout": self.ET.join(termes), "un_des_mots": self.OU.join(termes)}
        chaque_mot = [f"c.courrier_id NOT IN ({self.dans_les_courriers('tout')})"]
        for i, terme in enumerate(termes):
            parametres[f"mot_{i}"] = terme
            chaque_mot.append(
                f"(c.courrier_id IN ({self.dans_les_courriers(f'mot_{i}')}) "
                f"OR c.courrier_id IN ({self.dans_les_pieces(f'mot_{i}')}))"
            )
        sql = (
            f"{self.scores('tout')} UNION ALL SELECT DISTINCT c.courrier_id, 0.0 "
            f"FROM ({self.dans_les_pieces('un_des_mots')}) AS c WHERE {' AND '.join(chaque_mot)}"
        )
        trouves = (
            text(sql)
            .bindparams(**parametres)
            .columns(column("id", Integer), column("score", Float))
            .subquery("trouves")
        )
        return requete.join(trouves, trouves.c.id == Courrier.id), self.ordre(trouves.c.score)


class PleinTexteSqlite(PleinTexte):
    # bm25 : un mot dans le numéro ou l'objet compte plus que dans le texte lu.
    POIDS = "10.0, 5.0, 3.0, 2.0, 1.0"  # numero, objet, expediteur, resume, texte

    def dans_les_courriers(self, parametre: str) -> str:
        return f"SELECT rowid FROM courriers_fts WHERE courriers_fts MATCH :{parametre}"

    def scores(self, parametre: str) -> str:
        return (
            f"SELECT rowid AS id, bm25(courriers_fts, {self.POIDS}) AS score "
            f"FROM courriers_fts WHERE courriers_fts MATCH :{parametre}"
        )

    def dans_les_pieces(self, parametre: str) -> str:
        return (
            "SELECT p.courrier_id FROM pieces AS p JOIN pieces_fts AS f ON f.rowid = p.id "
            f"WHERE f.pieces_fts MATCH :{parametre}"
        )

    def ordre(self, score: Any) -> Any:
        # bm25 est négatif : plus il est petit, plus le courrier est pertinent.
        return score.asc()


class PleinTextePostgres(PleinTexte):
    # 'simple' et non 'french' : pas de racinisation (qui mutile les noms propres et rend les
    # préfixes imprévisibles) ni de mots vides ; les deux moteurs trouvent alors la même chose.
    ET = " & "
    OU = " | "
    GUILLEMET = "'"
    TSQUERY = "to_tsquery('simple', unaccent(:{}))"

    def dans_les_courriers(self, parametre: str) -> str:
        return f"SELECT id FROM courriers WHERE recherche @@ {self.TSQUERY.format(parametre)}"

    def scores(self, parametre: str) -> str:
        q = self.TSQUERY.format(parametre)
        return f"SELECT id, ts_rank(recherche, {q}) AS score FROM courriers WHERE recherche @@ {q}"

    def dans_les_pieces(self, parametre: str) -> str:
        return f"SELECT courrier_id FROM pieces WHERE recherche @@ {self.TSQUERY.format(parametre)}"

    def ordre(self, score: Any) -> Any:
        return score.desc()


def plein_texte(dialecte: str) -> PleinTexte:
    return PleinTextePostgres() if dialecte == "postgresql" else PleinTexteSqlite()


def compacter_apres_effacement(engine: Engine) -> None:
    """Après une purge RGPD : réécrit l'index SQLite d'un seul tenant.

    FTS5 ne réécrit pas ses segments à la suppression, il y ajoute des marques : les mots
    effacés, introuvables, resteraient lisibles dans le fichier jusqu'à la prochaine fusion.
    « optimize » fusionne tout et les en retire. (Sur PostgreSQL, c'est le VACUUM automatique
    qui retire les anciennes versions des lignes.)
    """
    if engine.dialect.name == "sqlite":
        with engine.begin() as connexion:
            for index in ("courriers_fts", "pieces_fts"):
                connexion.exec_driver_sql(f"INSERT INTO {index}({index}) VALUES ('optimize')")
