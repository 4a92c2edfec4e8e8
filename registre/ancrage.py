"""L'ancrage du journal hors de la base : chaque jour, la tête de la chaîne est horodatée par
une autorité RFC 3161, et `verifier` contrôle chaque jeton.

Sans ancre, qui a la main sur la base peut tout réécrire et recalculer toute la chaîne : elle
resterait cohérente. Avec une ancre, l'empreinte de l'événement n°N est signée, à une date
attestée, par un tiers : la chaîne réécrite ne retrouve plus cette empreinte. Le digest du
matin imprime aussi l'empreinte horodatée, qui vit alors dans la boîte du maire.

L'appel au service se fait hors de toute transaction (le journal n'est pas bloqué pendant
l'aller-retour réseau) ; l'ancre et son événement sont ensuite écrits ensemble.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from cryptography import x509
from sqlalchemy import select
from sqlalchemy.orm import Session

from connecteurs.horodatage import (
    ClientHorodatage,
    ErreurHorodatage,
    Jeton,
    lire_jeton,
    verifier_signature,
)
from noyau.calendrier import PARIS
from noyau.domaine import TypeEvenement
from registre.registre import Registre
from registre.tables import Ancre, Evenement

ACTEUR_ANCRAGE = "horodatage"
Horodater = Callable[[bytes], Jeton]


@dataclass(frozen=True)
class AncreFaite:
    evenement: int
    empreinte: str
    horodate_le: datetime
    autorite: str

    def phrase(self) -> str:
        moment = self.horodate_le.astimezone(PARIS)
        return (
            f"Empreinte du registre (événement n°{self.evenement}) : {self.empreinte}, "
            f"horodatée le {moment:%d/%m/%Y à %H:%M:%S} (heure de Paris) par {self.autorite}."
        )


def ancrer(registre: Registre, horodater: Horodater, autorite: str) -> AncreFaite:
    """Horodate la tête actuelle du journal et la garde ; lève ErreurHorodatage sinon."""
    dernier, empreinte = registre.tete()
    jeton = horodater(empreinte.encode("ascii"))
    ancre = Ancre(
        evenement_id=dernier,
        empreinte=empreinte,
        jeton=jeton.der,
        horodate_le=jeton.horodate_le,
        autorite=autorite[:500],
    )
    registre.evenement_general(
        TypeEvenement.ANCRAGE,
        ACTEUR_ANCRAGE,
        {
            "evenement": dernier,
            "empreinte": empreinte,
            "horodate_le": jeton.horodate_le.isoformat(),
            "autorite": autorite[:500],
        },
        avec=lambda session: session.add(ancre),
    )
    return AncreFaite(dernier, empreinte, jeton.horodate_le, autorite)


def ancrer_ou_dire(registre: Registre, url: str, delai_s: float) -> str:
    """L'ancrage du matin : la phrase pour le digest, ou pourquoi il n'a pas pu se faire (le
    digest part quand même ; la panne est une erreur du journal, reprise au digest suivant)."""
    try:
        return ancrer(registre, ClientHorodatage(url, delai_s).horodater, url).phrase()
    except ErreurHorodatage as e:
        registre.evenement_general(
            TypeEvenement.ERREUR, ACTEUR_ANCRAGE, {"etape": "ancrage", "raison": str(e)}
        )
        return f"Horodatage du registre impossible ce matin : {e}"


@dataclass
class BilanAncres:
    ancres: int = 0
    prouvee: AncreFaite | None = None  # la plus récente qui tient
    jeton: bytes = b""  # son jeton (DER), pour l'imprimer avec le registre
    anomalies: list[str] = field(default_factory=list)
    signatures_non_verifiees: bool = False  # aucun certificat racine fourni


def verifier_ancres(
    registre: Registre, racines: list[x509.Certificate] | None = None
) -> BilanAncres:
    """Chaque ancre : l'événement qu'elle couvre a toujours son empreinte, le jeton porte sur
    elle, et (si les racines sont données) sa signature remonte à l'autorité."""
    bilan = BilanAncres(signatures_non_verifiees=not racines)
    with Session(registre.engine) as session:
        ancres = session.execute(select(Ancre).order_by(Ancre.id)).scalars().all()
        lignes = session.execute(
            select(Evenement.id, Evenement.empreinte).where(
                Evenement.id.in_({a.evenement_id for a in ancres})
            )
        )
        empreintes = {ident: empreinte for ident, empreinte in lignes}
    for ancre in ancres:
        bilan.ancres += 1
        nom = f"L'ancre du {ancre.horodate_le.astimezone(PARIS):%d/%m/%Y %H:%M}"
        if empreintes.get(ancre.evenement_id) != ancre.empreinte:
            bilan.anomalies.append(
                f"{nom} ne correspond plus au journal : l'événement n°{ancre.evenement_id} "
                "n'a plus l'empreinte horodatée (chaîne réécrite ou événement supprimé)."
            )
            continue
        try:
            jeton = lire_jeton(ancre.jeton, ancre.empreinte.encode("ascii"))
            if racines:
                verifier_signature(ancre.jeton, ancre.empreinte.encode("ascii"), racines)
        except ErreurHorodatage as e:
            bilan.anomalies.append(f"{nom} (événement n°{ancre.evenement_id}) : {e}")
            continue
        if jeton.horodate_le != ancre.horodate_le:
            bilan.anomalies.append(
                f"{nom} (événement n°{ancre.evenement_id}) : la date gardée au registre n'est "
                "pas celle du jeton signé."
            )
            continue
        if bilan.prouvee is None or ancre.evenement_id >= bilan.prouvee.evenement:
            bilan.prouvee = AncreFaite(
                ancre.evenement_id, ancre.empreinte, jeton.horodate_le, ancre.autorite
            )
            bilan.jeton = ancre.jeton
    return bilan
