"""Conservation et RGPD : effacer à l'échéance les données personnelles d'un courrier sans casser
la preuve, et rassembler ce que le registre sait d'une personne (droit d'accès, art. 15).

L'effacement garde la ligne du registre (numéro, dates, canal, catégorie, suite donnée, taille,
empreinte sha256 de l'original) et efface le reste : expéditeur, objet, texte lu, résumé,
demande, noms et textes des pièces, brouillons, identifiants de messagerie, puis les fichiers de
l'archive (original, pièces, lettres) que plus aucun courrier conservé ne cite. Il est scellé
par un événement « purge » : `verifier` compare le courrier à ce dernier sceau, et ne cherche
plus dans l'archive les fichiers effacés exprès. Le journal, lui, n'est jamais réécrit : ce que
ses événements disent (nom du fichier reçu, motif d'un rejet) reste — c'est la limite, dite
dans le README.

Les fichiers sont effacés après la validation de la transaction : une panne entre les deux
laisse des fichiers que `verifier` nomme « en trop » et que la purge suivante efface.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from noyau.calendrier import PARIS
from noyau.domaine import TypeEvenement
from noyau.erreurs import ConfigurationErreur
from noyau.fiches import FicheCourrier
from registre.lots import lots_cites, lots_par_courrier
from registre.plein_texte import compacter_apres_effacement
from registre.registre import Registre, fichiers_cites
from registre.repartition import effacer_commentaires
from registre.tables import BrouillonLigne, Courrier, Piece

EFFACE = "[effacé]"
ACTEUR_PURGE = "conservation"


@dataclass(frozen=True)
class Conservation:
    defaut_ans: int
    categories: dict[str, int] = field(default_factory=dict)

    def duree(self, categorie: str) -> int:
        return self.categories.get(categorie or "autre", self.defaut_ans)

    def echeance(self, courrier: Courrier | FicheCourrier) -> date | None:
        """Le jour où les données personnelles peuvent être effacées (None : jamais) : la durée
        court depuis le 1er janvier qui suit la réception, et jamais un courrier n'est effacé
        moins de la durée entière après son entrée au registre. Un courrier daté de 2000 (vieux
        scan copié dans le dépôt, copieur à l'heure fausse : la relève le signale) n'est donc
        pas proposé à la première purge qui suit son enregistrement."""
        ans = self.duree(courrier.categorie)
        if ans <= 0:
            return None
        selon_reception = date(courrier.recu_le.astimezone(PARIS).year + 1 + ans, 1, 1)
        return max(
            selon_reception, _ans_apres(courrier.enregistre_le.astimezone(PARIS).date(), ans)
        )


def _ans_apres(jour: date, ans: int) -> date:
    """Le même jour `ans` ans plus tard (un 29 février donne le 1er mars)."""
    try:
        return jour.replace(year=jour.year + ans)
    except ValueError:
        return date(jour.year + ans, 3, 1)


def charger_conservation(dossier: Path) -> Conservation:
    chemin = dossier / "conservation.yaml"
    try:
        brut = yaml.safe_load(chemin.read_text(encoding="utf-8")) or {}
        categories = {str(k): int(v) for k, v in (brut.get("categories") or {}).items()}
        return Conservation(int(brut.get("defaut_ans", 10)), categories)
    except OSError as e:
        raise ConfigurationErreur(f"Le fichier {chemin} est illisible.") from e
    except (yaml.YAMLError, TypeError, ValueError, AttributeError) as e:
        raise ConfigurationErreur(
            f"{chemin} : les durées doivent être des nombres d'années (defaut_ans, categories)."
        ) from e


def a_purger(registre: Registre, conservation: Conservation, le: date) -> list[FicheCourrier]:
    return [
        c
        for c in registre.courriers()
        if c.purge_le is None and (e := conservation.echeance(c)) is not None and e <= le
    ]


def _effacer(courrier: Courrier, moment: datetime) -> None:
    for nom in ("expediteur", "expediteur_adresse", "destinataires", "objet", "reference"):
        if getattr(courrier, nom):
            setattr(courrier, nom, EFFACE)
    for nom in ("message_id", "in_reply_to", "references", "nom_fichier", "texte", "resume"):
        setattr(courrier, nom, "")
    courrier.demande = ""
    courrier.erreur = ""
    courrier.purge_le = moment
    for piece in courrier.pieces:
        piece.nom = EFFACE
        piece.texte = ""
        piece.erreur = ""
    for b in courrier.brouillons:
        b.objet = EFFACE
        b.corps = ""
        b.corps_original = ""
        b.destinataire = ""
        b.raison = ""
    effacer_commentaires(courrier)


def _fichiers_conserves(registre: Registre) -> set[str]:
    """Les fichiers qu'au moins un courrier non purgé cite encore (une pièce jointe reçue
    deux fois n'est qu'un fichier)."""
    with Session(registre.engine) as session:
        vivants = select(Courrier.id).where(Courrier.purge_le.is_(None))
        cites = set(
            session.execute(select(Courrier.empreinte).where(Courrier.id.in_(vivants))).scalars()
        )
        cites |= set(
            session.execute(select(Piece.empreinte).where(Piece.courrier_id.in_(vivants))).scalars()
        )
        cites |= set(
            session.execute(
                select(BrouillonLigne.lettre_empreinte).where(
                    BrouillonLigne.courrier_id.in_(vivants), BrouillonLigne.lettre_empreinte != ""
                )
            ).scalars()
        )
        # Le PDF d'origine d'un lot de scans reste tant qu'une de ses lettres n'est pas purgée.
        cites |= set(lots_cites(session))
    return cites


@dataclass
class BilanPurge:
    purges: list[str] = field(default_factory=list)
    fichiers_effaces: int = 0


def purger(registre: Registre, conservation: Conservation, le: date, motif: str = "") -> BilanPurge:
    """Efface les données personnelles des courriers arrivés à échéance, puis les fichiers que
    plus rien ne cite (y compris ceux qu'une purge interrompue aurait laissés)."""
    bilan = BilanPurge()
    lots = lots_par_courrier(registre.engine)

    def cites(c: Courrier | FicheCourrier) -> set[str]:
        return set(fichiers_cites(c)) | ({lots[c.id]} if c.id in lots else set())

    for courrier in a_purger(registre, conservation, le):
        ans = conservation.duree(courrier.categorie)

        def details(c: Courrier, ans: int = ans) -> dict[str, Any]:
            return {
                "motif": motif or f"durée de conservation atteinte ({ans} ans, {c.categorie})",
                "empreinte_origine": c.empreinte,
                "fichiers": sorted(cites(c)),
            }

        registre.modifier_et_sceller(
            courrier.numero,
            TypeEvenement.PURGE,
            ACTEUR_PURGE,
            details,
            lambda c: _effacer(c, registre.horloge()),
        )
        bilan.purges.append(courrier.numero)
    if bilan.purges:
        compacter_apres_effacement(registre.engine)
    conserves = _fichiers_conserves(registre)
    for courrier in registre.courriers():
        if courrier.purge_le is None:
            continue
        for empreinte in sorted(cites(courrier) - conserves):
            chemin = registre.archive.chemin(empreinte)
            if chemin.exists():
                chemin.unlink()
                bilan.fichiers_effaces += 1
    return bilan
