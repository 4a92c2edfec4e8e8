"""Les indicateurs du courrier (issue #13) : volume par semaine et par catégorie, brouillons
validés tels quels, taille des modifications, délai de réponse, échéances, justesse du
classement. Pour la page « Indicateurs », son export et `courrier indicateurs`.

Tout porte sur la même période : les courriers reçus pendant les N dernières semaines ISO
(lundi–dimanche, heure de Paris), celle du jour comprise. Le jour vient de l'appelant (l'horloge
du registre), jamais de la machine. Les absences et avis de non-remise ne comptent pas, comme
dans le digest ; un courrier purgé (RGPD) compte partout sauf dans les mesures qui lisent le
texte de ses brouillons, effacé.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from statistics import median
from typing import Any

import pandas as pd
from sqlalchemy import Engine, Row, select
from sqlalchemy.orm import Session

from noyau.analyse import TypeBrouillon
from noyau.calendrier import PARIS, jour_de_paris
from noyau.difference import part_changee
from noyau.domaine import NatureAutomatique, StatutBrouillon, TypeEvenement
from noyau.erreurs import CourrierErreur, raison_systeme
from registre.export import dossier_de_sortie_existant
from registre.tables import BrouillonLigne, Courrier, Evenement

SEMAINES_PAR_DEFAUT = 12
SEMAINES_MAX = 520
# Validés par une personne, partis ou sur le point de partir (un rejet n'est pas une validation).
STATUTS_VALIDES = tuple(
    s.value
    for s in (
        StatutBrouillon.VALIDE,
        StatutBrouillon.EN_ENVOI,
        StatutBrouillon.ENVOYE,
        StatutBrouillon.A_VERIFIER,
        StatutBrouillon.NON_REMIS,
        StatutBrouillon.PAPIER,
    )
)
HORS_DES_COMPTES = [n.value for n in NatureAutomatique if n.hors_des_comptes]
# Tranches de la part changée (bornes hautes exclues), pour la distribution.
TRANCHES = (
    (0.0, 0.05, "moins de 5 %"),
    (0.05, 0.20, "5 à 20 %"),
    (0.20, 0.50, "20 à 50 %"),
    (0.50, 1.01, "50 % et plus"),
)
TEL_QUEL = "aucune (tel quel)"
ETATS_ECHEANCE = {"tenues": "tenues", "manquees": "manquées", "en_cours": "en cours"}
NON_CLASSE = "non classé"
SORTES = ("Réponse de l'IA", "Réponse d'un modèle", "Accusé de réception")


@dataclass(frozen=True)
class Justesse:
    moteur: str  # « IA » ou « Règles »
    analyses: int
    corriges: int

    @property
    def part(self) -> float | None:
        return None if not self.analyses else (self.analyses - self.corriges) / self.analyses


@dataclass(frozen=True)
class Validation:
    """Les brouillons validés d'une sorte (réponse de l'IA, d'un modèle, accusé de réception) :
    un accusé de réception, presque toujours validé tel quel, ne doit pas cacher ce que la
    secrétaire corrige dans les réponses de l'IA."""

    sorte: str
    valides: int
    tels_quels: int

    @property
    def part(self) -> float | None:
        return self.tels_quels / self.valides if self.valides else None


@dataclass(frozen=True)
class Indicateurs:
    jour: date
    debut: date  # le lundi de la première semaine
    fin: date  # le dimanche de la dernière
    volume: pd.DataFrame  # index : lundi de chaque semaine ; colonnes : catégories, triées
    brouillons_valides: int
    tels_quels: int
    rejetes: int
    parts_changees: list[float]  # une par brouillon validé après modification
    delais_jours: list[float]
    echeances: dict[str, int]  # tenues, manquees, en_cours
    justesse: list[Justesse]
    par_sorte: list[Validation]

    @property
    def courriers(self) -> int:
        return int(self.volume.to_numpy().sum())

    @property
    def vide(self) -> bool:
        return self.courriers == 0

    @property
    def par_semaine(self) -> list[tuple[date, int]]:
        return [(d, int(n)) for d, n in self.volume.sum(axis=1).items()]

    @property
    def par_categorie(self) -> list[tuple[str, int]]:
        totaux = self.volume.sum(axis=0)
        return sorted(((c, int(n)) for c, n in totaux.items() if n), key=lambda x: (-x[1], x[0]))

    @property
    def part_tels_quels(self) -> float | None:
        return self.tels_quels / self.brouillons_valides if self.brouillons_valides else None

    @property
    def mediane_modification(self) -> float | None:
        return median(self.parts_changees) if self.parts_changees else None

    @property
    def delai_median(self) -> float | None:
        return median(self.delais_jours) if self.delais_jours else None

    @property
    def distribution(self) -> list[tuple[str, int]]:
        lignes = [(TEL_QUEL, self.tels_quels)]
        for bas, haut, libelle in TRANCHES:
            lignes.append((libelle, sum(1 for p in self.parts_changees if bas <= p < haut)))
        return lignes


def semaine_iso(lundi: date) -> str:
    annee, numero, _ = lundi.isocalendar()
    return f"{annee}-S{numero:02d}"


def calculer(engine: Engine, jour: date, semaines: int = SEMAINES_PAR_DEFAUT) -> Indicateurs:
    if not 1 <= semaines <= SEMAINES_MAX:
        raise CourrierErreur(f"Le nombre de semaines doit aller de 1 à {SEMAINES_MAX}.")
    debut = jour - timedelta(days=jour.weekday(), weeks=semaines - 1)
    fin = jour + timedelta(days=6 - jour.weekday())
    debut_utc = datetime.combine(debut, time(), tzinfo=PARIS)
    fin_utc = datetime.combine(fin + timedelta(days=1), time(), tzinfo=PARIS)
    periode = (
        Courrier.recu_le >= debut_utc,
        Courrier.recu_le < fin_utc,
        Courrier.automatique.not_in(HORS_DES_COMPTES),
    )
    with Session(engine) as session:
        courriers = session.execute(
            select(
                Courrier.id,
                Courrier.recu_le,
                Courrier.categorie,
                Courrier.repondu_le,
                Courrier.echeance,
                Courrier.moteur,
                Courrier.analyse_le,
            ).where(*periode)
        ).all()
        brouillons = session.execute(
            select(
                BrouillonLigne.statut,
                BrouillonLigne.corps,
                BrouillonLigne.corps_original,
                BrouillonLigne.type,
                BrouillonLigne.prepare_par_ia,
            )
            .join(Courrier, BrouillonLigne.courrier_id == Courrier.id)
            .where(*periode, Courrier.purge_le.is_(None))
        ).all()
        corrections = session.execute(
            select(Evenement.courrier_id, Evenement.details).where(
                Evenement.type == TypeEvenement.CORRECTION.value,
                Evenement.courrier_id.in_(select(Courrier.id).where(*periode)),
            )
        ).all()

    valides = [b for b in brouillons if b.statut in STATUTS_VALIDES]
    modifies = [b for b in valides if not _tel_quel(b)]
    return Indicateurs(
        jour=jour,
        debut=debut,
        fin=fin,
        volume=_volume(courriers, debut, semaines),
        brouillons_valides=len(valides),
        tels_quels=len(valides) - len(modifies),
        rejetes=sum(1 for b in brouillons if b.statut == StatutBrouillon.REJETE.value),
        parts_changees=sorted(part_changee(b.corps_original, b.corps) for b in modifies),
        delais_jours=sorted(
            (c.repondu_le - c.recu_le).total_seconds() / 86400
            for c in courriers
            if c.repondu_le is not None
        ),
        echeances=_echeances(courriers, jour),
        justesse=_justesse(courriers, _categorie_corrigee(corrections)),
        par_sorte=_par_sorte(valides),
    )


def _tel_quel(b: Row[Any]) -> bool:
    return not b.corps_original or b.corps_original == b.corps


def _par_sorte(valides: Sequence[Row[Any]]) -> list[Validation]:
    comptes: dict[str, list[int]] = {s: [0, 0] for s in SORTES}
    for b in valides:
        if b.type == TypeBrouillon.ACCUSE_RECEPTION.value:
            sorte = "Accusé de réception"
        else:
            sorte = "Réponse de l'IA" if b.prepare_par_ia else "Réponse d'un modèle"
        comptes[sorte][0] += 1
        comptes[sorte][1] += _tel_quel(b)
    return [Validation(s, n, k) for s, (n, k) in comptes.items() if n]


def _volume(courriers: Sequence[Row[Any]], debut: date, semaines: int) -> pd.DataFrame:
    lundis = [debut + timedelta(weeks=i) for i in range(semaines)]
    lignes = [
        {
            "lundi": _lundi(jour_de_paris(c.recu_le)),
            "categorie": c.categorie or NON_CLASSE,
        }
        for c in courriers
    ]
    if not lignes:
        return pd.DataFrame(index=pd.Index(lundis, name="lundi"))
    table = pd.crosstab(
        pd.Series([x["lundi"] for x in lignes], name="lundi"),
        pd.Series([x["categorie"] for x in lignes], name="categorie"),
    )
    return table.reindex(index=lundis, fill_value=0).sort_index(axis=1)


def _lundi(jour: date) -> date:
    return jour - timedelta(days=jour.weekday())


def _echeances(courriers: Sequence[Row[Any]], jour: date) -> dict[str, int]:
    bilan = dict.fromkeys(ETATS_ECHEANCE, 0)
    for c in courriers:
        echeance: date | None = c.echeance
        if echeance is None:
            continue
        repondu: datetime | None = c.repondu_le
        if repondu is not None:
            bilan["tenues" if jour_de_paris(repondu) <= echeance else "manquees"] += 1
        else:
            bilan["manquees" if echeance < jour else "en_cours"] += 1
    return bilan


def _categorie_corrigee(corrections: Sequence[Row[Any]]) -> set[int]:
    """Les courriers dont une personne a changé la catégorie (événements CORRECTION)."""
    corriges: set[int] = set()
    for ident, details in corrections:
        try:
            champs = json.loads(details)
        except ValueError:
            continue
        if isinstance(champs, dict) and "categorie" in champs:
            corriges.add(ident)
    return corriges


def _justesse(courriers: Sequence[Row[Any]], corriges: set[int]) -> list[Justesse]:
    comptes: dict[str, list[int]] = {"IA": [0, 0], "Règles": [0, 0]}
    for c in courriers:
        if c.analyse_le is None or not c.moteur:
            continue
        famille = "IA" if c.moteur.startswith("llm:") else "Règles"
        comptes[famille][0] += 1
        comptes[famille][1] += c.id in corriges
    return [Justesse(m, n, k) for m, (n, k) in comptes.items() if n]


# --- Export ---------------------------------------------------------------------------------


def tableaux(ind: Indicateurs, libelles: Mapping[str, str]) -> dict[str, pd.DataFrame]:
    """Une feuille par indicateur (XLSX) ; le CSV les met bout à bout (`en_long`)."""

    def nom(categorie: str) -> str:
        return libelles.get(categorie, categorie)

    semaine = ind.volume.rename(columns=nom)
    semaine.insert(0, "semaine", [semaine_iso(d) for d in semaine.index])
    semaine["total"] = ind.volume.sum(axis=1).astype(int)
    return {
        "Synthèse": pd.DataFrame(_synthese(ind), columns=["indicateur", "valeur", "unite"]),
        "Par semaine": semaine.reset_index(),
        "Par catégorie": pd.DataFrame(
            [(nom(c), n) for c, n in ind.par_categorie], columns=["categorie", "courriers"]
        ),
        "Tels quels": pd.DataFrame(
            [(v.sorte, v.valides, v.tels_quels, _pourcent(v.part)) for v in ind.par_sorte],
            columns=["brouillons", "valides", "tels_quels", "tels_quels_pourcent"],
        ),
        "Modifications": pd.DataFrame(ind.distribution, columns=["part_changee", "brouillons"]),
        "Échéances": pd.DataFrame(
            [(ETATS_ECHEANCE[k], n) for k, n in ind.echeances.items()],
            columns=["echeances", "courriers"],
        ),
        "Classification": pd.DataFrame(
            [(j.moteur, j.analyses, j.corriges, _pourcent(j.part)) for j in ind.justesse],
            columns=["moteur", "analyses", "categorie_corrigee", "justesse_pourcent"],
        ),
    }


def _synthese(ind: Indicateurs) -> list[tuple[str, object, str]]:
    return [
        ("Période", f"du {ind.debut.isoformat()} au {ind.fin.isoformat()}", ""),
        ("Courriers reçus", ind.courriers, "courriers"),
        ("Brouillons validés", ind.brouillons_valides, "brouillons"),
        ("Validés tels quels", _pourcent(ind.part_tels_quels), "%"),
        ("Brouillons rejetés", ind.rejetes, "brouillons"),
        ("Part changée, médiane des brouillons modifiés", _pourcent(ind.mediane_modification), "%"),
        ("Délai médian de réponse", _arrondi(ind.delai_median), "jours"),
        ("Réponses parties", len(ind.delais_jours), "courriers"),
        *((f"Échéances {ETATS_ECHEANCE[k]}", n, "courriers") for k, n in ind.echeances.items()),
        *((f"Classement juste ({j.moteur})", _pourcent(j.part), "%") for j in ind.justesse),
    ]


def en_long(feuilles: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """Toutes les feuilles en une table (indicateur ; détail ; valeur) pour un seul CSV."""
    lignes: list[tuple[str, str, object]] = []
    for titre, table in feuilles.items():
        if titre == "Synthèse":
            lignes += [(str(i), str(u), v) for i, v, u in table.itertuples(index=False)]
            continue
        if titre == "Par semaine":
            for _, rangee in table.iterrows():
                for colonne in table.columns[2:]:
                    lignes.append((titre, f"{rangee['semaine']} {colonne}", rangee[colonne]))
            continue
        cle, *valeurs = table.columns
        for _, rangee in table.iterrows():
            for colonne in valeurs:
                detail = str(rangee[cle]) + ("" if len(valeurs) == 1 else f" {colonne}")
                lignes.append((titre, detail, rangee[colonne]))
    return pd.DataFrame(lignes, columns=["indicateur", "detail", "valeur"])


def exporter(ind: Indicateurs, libelles: Mapping[str, str], format_: str, sortie: Path) -> None:
    feuilles = tableaux(ind, libelles)
    dossier_de_sortie_existant(sortie)
    try:
        if format_ == "csv":
            # Comme l'export du registre : point-virgule et BOM pour un tableur réglé en
            # français ; la virgule décimale écrite ici (la colonne mêle textes et nombres, que
            # l'option `decimal` de pandas ne touche pas).
            longue = en_long(feuilles)
            longue["valeur"] = longue["valeur"].map(_cellule_csv)
            longue.to_csv(sortie, index=False, sep=";", encoding="utf-8-sig")
        elif format_ == "xlsx":
            with pd.ExcelWriter(sortie, engine="openpyxl") as classeur:
                for titre, table in feuilles.items():
                    table.to_excel(classeur, index=False, sheet_name=titre)
        else:
            raise CourrierErreur(f"Format d'export inconnu : « {format_} » (csv ou xlsx).")
    except OSError as e:
        raise CourrierErreur(
            f"Impossible d'écrire le fichier « {sortie} » : {raison_systeme(e)}."
        ) from e


def nombre(valeur: float | None) -> str:
    """« 2,5 » : la virgule décimale, un chiffre après ; un tiret quand il n'y a rien à mesurer."""
    if valeur is None:
        return "–"
    return f"{valeur:.1f}".replace(".", ",").removesuffix(",0")


def pourcent(part: float | None) -> str:
    return "–" if part is None else f"{nombre(100 * part)}\u00a0%"


def _cellule_csv(valeur: object) -> object:
    if valeur is None or (isinstance(valeur, float) and pd.isna(valeur)):
        return ""
    if isinstance(valeur, float):
        return f"{valeur:.1f}".replace(".", ",")
    return valeur


def _pourcent(part: float | None) -> float | None:
    return None if part is None else round(100 * part, 1)


def _arrondi(valeur: float | None) -> float | None:
    return None if valeur is None else round(valeur, 1)
