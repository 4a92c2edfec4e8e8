"""Vérifier le registre : la chaîne du journal, les sceaux, les numéros, puis l'archive."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from noyau.sceaux import ORIGINE, empreinte_evenement
from registre.controle_archive import BilanArchive, Progression, verifier_archive
from registre.lots import lots_cites
from registre.modeles import Compteur, Courrier, Evenement, TeteJournal
from registre.scellement import CHARGER_TOUT, fichiers_cites, sceau
from registre.socle import SocleRegistre
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
        anomalies: list[str] = []
        attendus: dict[str, str] = {}
        with Session(self.moteur) as session:
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
                    anomalies.append(
                        f"La chaîne est rompue à {nom} : le maillon précédent a changé."
                    )
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
                    anomalies.append(
                        f"Le courrier {courrier.numero} n'a aucun événement qui le scelle."
                    )
                elif scelle.etat != sceau(courrier):
                    anomalies.append(
                        f"Le courrier {courrier.numero} a été modifié après l'événement "
                        f"n°{scelle.id} ({scelle.type}) qui l'a scellé."
                    )
            for numero, ev in dernier_sceau.items():
                if numero not in vus:
                    anomalies.append(
                        f"Le courrier {numero} a disparu du registre "
                        f"(scellé par l'événement n°{ev.id})."
                    )
            for empreinte, porteur in lots_cites(session).items():
                attendus.setdefault(empreinte, porteur)
            compteurs = {c.annee: c.dernier for c in session.execute(select(Compteur)).scalars()}
            for annee, rangs in sorted(par_annee.items()):
                manquants = sorted(set(range(1, compteurs.get(annee, 0) + 1)) - set(rangs))
                if manquants:
                    anomalies.append(
                        f"Numéros manquants en {annee} : "
                        + ", ".join(formater_numero(annee, r) for r in manquants[:10])
                        + ("…" if len(manquants) > 10 else "")
                    )
        return anomalies, attendus
