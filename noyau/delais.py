"""Les délais légaux d'un courrier : calculés à l'analyse, gardés au registre, suivis jusqu'au bout.

- La naissance d'une décision implicite (CRPA L231-1, L231-4 et les exceptions de
  `regles/crpa.yaml`, dont les délais d'instruction d'urbanisme, R423-23) : le jour à la fin
  duquel le silence de la mairie vaut acceptation ou rejet. C'est la date que l'accusé de
  réception annonce ; la même règle, le même calcul (`ReglesCrpa.date_decision`).
- Pour une autorisation d'urbanisme, la date limite pour réclamer les pièces manquantes (un mois
  après le dépôt, R423-38 et R423-39 du code de l'urbanisme ; passé ce jour, le dossier est
  réputé complet).
- Une demande transmise à l'autorité compétente (CRPA L114-2) ne fait plus courir de délai chez
  nous : il court à sa réception par cette autorité (L114-3) ; la transmission est gardée.
- Une demande de pièces suspend le délai (CRPA L114-5) ; à la réception des pièces, il repart
  de zéro. Pour un rejet implicite la loi dit « suspendu » (le délai reprend où il en était) :
  le faire repartir de zéro annonce une date plus tardive, jamais plus tôt — même prudence que
  la prorogation de l'article 642 du code de procédure civile. À faire relire par un juriste.

Aucune entrée-sortie : les dates viennent du courrier, les règles de `ReglesCrpa`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass, replace
from datetime import date

from noyau.analyse import Analyse, CourrierALire
from noyau.calendrier import fin_de_delai, jour_de_paris
from noyau.crpa import ReglesCrpa

DECISION = "decision_implicite"
PIECES = "demande_pieces"
REGLES_URBANISME = (
    "declaration_prealable",
    "permis_de_demolir",
    "permis_de_construire_maison_individuelle",
    "permis_de_construire_ou_amenager",
)


@dataclass(frozen=True)
class EcheanceLegale:
    nature: str  # DECISION ou PIECES
    le: date  # le jour de l'échéance
    libelle: str  # « acceptation implicite », « réclamer les pièces manquantes »
    reference: str
    regle: str  # le nom de la règle de regles/crpa.yaml
    depart: date  # le jour d'où le délai court (réception, ou pièces reçues)
    suspendue_le: date | None = None  # pièces demandées ce jour, délai arrêté
    transmise_a: str = ""  # CRPA L114-2 : demande transmise à l'autorité compétente

    @property
    def texte(self) -> str:
        if self.transmise_a:
            return (
                f"{self.libelle} : demande transmise le {self.suspendue_le:%d/%m/%Y} à "
                f"{self.transmise_a} (article L. 114-2 du CRPA), le délai court chez elle"
            )
        if self.suspendue_le is not None:
            demandees = f"{self.suspendue_le:%d/%m/%Y}"
            return f"{self.libelle} : délai suspendu (pièces demandées le {demandees})"
        return f"{self.libelle} le {self.le:%d/%m/%Y}"


def calculer(courrier: CourrierALire, analyse: Analyse, crpa: ReglesCrpa) -> list[EcheanceLegale]:
    """Les échéances légales d'un courrier analysé ; aucune hors des demandes du public."""
    if not analyse.est_demande_usager or analyse.categorie in crpa.sans_brouillon:
        return []
    recu = jour_de_paris(courrier.recu_le)
    regle = crpa.regle_pour(analyse.categorie, courrier.objet, analyse.demande)
    return _depuis(recu, regle.nom, crpa)


def _depuis(depart: date, nom_regle: str, crpa: ReglesCrpa) -> list[EcheanceLegale]:
    regle = next((r for r in crpa.exceptions if r.nom == nom_regle), crpa.general)
    echeances = []
    decision = crpa.date_decision(depart, regle)
    if decision is not None:
        echeances.append(
            EcheanceLegale(
                nature=DECISION,
                le=decision,
                libelle=f"{'acceptation' if regle.sens == 'acceptation' else 'rejet'} implicite",
                reference=regle.reference,
                regle=regle.nom,
                depart=depart,
            )
        )
    if regle.nom in REGLES_URBANISME:
        echeances.append(
            EcheanceLegale(
                nature=PIECES,
                le=fin_de_delai(
                    depart, mois=1, proroger=crpa.proroger, alsace_moselle=crpa.alsace_moselle
                ),
                libelle="limite pour réclamer les pièces manquantes",
                reference="articles R. 423-38 et R. 423-39 du code de l'urbanisme",
                regle=regle.nom,
                depart=depart,
            )
        )
    return echeances


def suspendre(echeances: Iterable[EcheanceLegale], le: date) -> list[EcheanceLegale]:
    """Pièces demandées le `le` : le délai de décision s'arrête ; la limite de demande est tenue."""
    return [replace(e, suspendue_le=le) for e in echeances if e.nature == DECISION]


def transmettre(
    echeances: Iterable[EcheanceLegale], le: date, autorite: str
) -> list[EcheanceLegale]:
    """La mairie n'est pas compétente et a transmis la demande (CRPA L114-2) : le délai de
    décision ne court qu'à la réception par l'autorité compétente (L114-3), plus chez nous."""
    return [
        replace(e, suspendue_le=le, transmise_a=autorite[:200])
        for e in echeances
        if e.nature == DECISION
    ]


def reprendre(
    echeances: Iterable[EcheanceLegale], le: date, crpa: ReglesCrpa
) -> list[EcheanceLegale]:
    """Pièces reçues le `le` : le délai de décision repart de ce jour."""
    regles = {e.regle for e in echeances if e.nature == DECISION}
    nouvelles: list[EcheanceLegale] = []
    for nom in sorted(regles):
        nouvelles += [e for e in _depuis(le, nom, crpa) if e.nature == DECISION]
    return nouvelles


def prochaine(echeances: Iterable[EcheanceLegale]) -> EcheanceLegale | None:
    courantes = [e for e in echeances if e.suspendue_le is None]
    return min(courantes, key=lambda e: e.le, default=None)


def en_json(echeances: Iterable[EcheanceLegale]) -> str:
    lignes = [
        {k: (v.isoformat() if isinstance(v, date) else v) for k, v in asdict(e).items()}
        for e in echeances
    ]
    return json.dumps(lignes, ensure_ascii=False, sort_keys=True) if lignes else ""


def depuis_json(texte: str) -> list[EcheanceLegale]:
    if not texte:
        return []
    echeances = []
    for ligne in json.loads(texte):
        suspendue = ligne.get("suspendue_le")
        echeances.append(
            EcheanceLegale(
                nature=ligne["nature"],
                le=date.fromisoformat(ligne["le"]),
                libelle=ligne["libelle"],
                reference=ligne["reference"],
                regle=ligne["regle"],
                depart=date.fromisoformat(ligne["depart"]),
                suspendue_le=date.fromisoformat(suspendue) if suspendue else None,
                transmise_a=ligne.get("transmise_a", ""),
            )
        )
    return echeances
