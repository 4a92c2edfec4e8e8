"""Vérifier le registre : la chaîne du journal, les sceaux, les numéros, puis l'archive."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from noyau.sceaux import ORIGINE, empreinte_evenement
from registre.controle_archive import BilanArchive, Progression, verifier_archive
from registre.lots import lots_cites
from registre.scellement import CHARGER_TOUT, fichiers_cites, sceau
from registre.socle import SocleRegistre
from registre.tables import Compteur, Courrier, Evenement, TeteJournal
from registre.textes import formater_numero, majuscule


@dataclass(frozen=True)
class Verification:
    anomalies: list[str]
    archive: BilanArchive


class RegistreVerification(SocleRegistre):
    def verifier(self, progression: Progression | None = None) -> list[str]:
        """Refait la chaîne et les sceaux, relit l'archive ; les anomalies, la première d'abord."""
        return self.verifier_tout(progression).anomalies

    def verifier_tout(self, progression: Progression | None = None) -> Verification:
        """La chaîne du journal, les sceaux, les numéros, puis chaque fichier de l'archive."""
        anomalies, attendus = self.verifier_journal()
        bilan = verifier_archive(self.archive, attendus, progression)
        return Verification([*anomalies, *bilan.anomalies], bilan)

    def verifier_journal(self) -> tuple[list[str], dict[str, str]]:
        """La chaîne, les sceaux et les numéros ; rend aussi les fichiers que l'archive doit
        contenir (empreinte → ce qui la cite)."""
        attendus: dict[str, str] = {}
        with Session(self.engine) as session:
            anomalies, dernier_sceau = _verifier_chaine(session)
            anomalies += _verifier_courriers(session, dernier_sceau, attendus)
            for empreinte, porteur in lots_cites(session).items():
                attendus.setdefault(empreinte, porteur)
        return anomalies, attendus


def _verifier_chaine(session: Session) -> tuple[list[str], dict[str, Evenement]]:
    """Chaque maillon du journal refait, puis la tête ; rend aussi le dernier événement qui
    scelle chaque courrier."""
    anomalies: list[str] = []
    tete = session.get_one(TeteJournal, 1)
    precedent = ORIGINE
    attendu = 1
    dernier_sceau: dict[str, Evenement] = {}
    for ev in session.execute(select(Evenement).order_by(Evenement.id)).scalars():
        nom = f"l'événement n°{ev.id} ({ev.type}{', ' + ev.numero if ev.numero else ''})"
        if ev.id != attendu:
            anomalies.append(
                f"Le journal a été amputé : l'événement n°{attendu} manque avant {nom}."
            )
            attendu = ev.id
        if ev.precedent != precedent:
            anomalies.append(f"La chaîne est rompue à {nom} : le maillon précédent a changé.")
        recalcul = empreinte_evenement(
            precedent=ev.precedent,
            ident=ev.id,
            numero=ev.numero,
            type_=ev.type,
            horodatage=ev.horodatage,
            acteur=ev.acteur,
            details=ev.details,
            etat=ev.etat,
        )
        if recalcul != ev.empreinte:
            anomalies.append(f"{majuscule(nom)} a été modifié après coup.")
        if ev.etat and ev.numero:
            dernier_sceau[ev.numero] = ev
        precedent = ev.empreinte
        attendu += 1
    if tete.empreinte != precedent or tete.dernier_id != attendu - 1:
        anomalies.append(
            f"La fin du journal a été supprimée ou modifiée : la tête attend "
            f"l'événement n°{tete.dernier_id}, le journal s'arrête au n°{attendu - 1}."
        )
    return anomalies, dernier_sceau


def _verifier_courriers(
    session: Session, dernier_sceau: dict[str, Evenement], attendus: dict[str, str]
) -> list[str]:
    """Chaque courrier contre son dernier sceau, les courriers disparus, les numéros manquants ;
    range dans `attendus` les fichiers que chaque courrier cite."""
    anomalies: list[str] = []
    courriers = (
        session.execute(
            select(Courrier).options(*CHARGER_TOUT).order_by(Courrier.annee, Courrier.rang)
        )
        .scalars()
        .all()
    )
    vus: set[str] = set()
    par_annee: dict[int, list[int]] = {}
    for courrier in courriers:
        vus.add(courrier.numero)
        # Les fichiers d'un courrier purgé ont été effacés exprès (l'événement le dit).
        if courrier.purge_le is None:
            for empreinte, porteur in fichiers_cites(courrier).items():
                attendus.setdefault(empreinte, porteur)
        par_annee.setdefault(courrier.annee, []).append(courrier.rang)
        scelle = dernier_sceau.get(courrier.numero)
        if scelle is None:
            anomalies.append(f"Le courrier {courrier.numero} n'a aucun événement qui le scelle.")
        elif scelle.etat != sceau(courrier):
            anomalies.append(
                f"Le courrier {courrier.numero} a été modifié après l'événement "
                f"n°{scelle.id} ({scelle.type}) qui l'a scellé."
            )
    for numero, ev in dernier_sceau.items():
        if numero not in vus:
            anomalies.append(
                f"Le courrier {numero} a disparu du registre (scellé par l'événement n°{ev.id})."
            )
    return anomalies + _numeros_manquants(session, par_annee)


def _numeros_manquants(session: Session, par_annee: dict[int, list[int]]) -> list[str]:
    compteurs = {c.annee: c.dernier for c in session.execute(select(Compteur)).scalars()}
    anomalies = []
    for annee, rangs in sorted(par_annee.items()):
        manquants = sorted(set(range(1, compteurs.get(annee, 0) + 1)) - set(rangs))
        if manquants:
            anomalies.append(
                f"Numéros manquants en {annee} : "
                + ", ".join(formater_numero(annee, r) for r in manquants[:10])
                + ("…" if len(manquants) > 10 else "")
            )
    return anomalies
