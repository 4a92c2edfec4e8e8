"""La publication du digest : lire le registre, construire le digest du maire et ceux des élus,
réserver l'envoi au registre AVANT l'appel SMTP, puis le confirmer ou l'annuler.

Une relance le même jour trouve l'intention et n'envoie rien : le maire ne reçoit jamais deux
fois le digest d'un jour. Si l'envoi échoue d'une façon qui garantit que rien n'est parti,
l'intention est annulée et une relance pourra envoyer ; si le serveur a pu accepter le message,
elle reste « prepare » et la secrétaire vérifie. Qui envoie (le client SMTP, ou la tâche
Prefect du flow `digest` avec ses reprises) est donné par l'appelant.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from email.message import EmailMessage

from connecteurs.smtp import ClientSmtp, ErreurSmtp
from courrier.config import Reglages
from courrier.digest import (
    BrouillonEnAttente,
    CourrierDigest,
    Digest,
    ErreurGenerale,
    composer_message,
    construire_digest,
    graphique_volumes,
)
from courrier.digest_elus import ResultatElu, publier_digests_elus
from courrier.envoi import parametres_smtp
from courrier.reprises import PANNES_PASSAGERES, Reprise
from noyau.delais import depuis_json
from noyau.domaine import TypeEvenement
from noyau.erreurs import ConfigurationErreur
from noyau.fiches import FicheCourrier, FicheEvenement
from noyau.pages_ocr import SEUIL_PAR_DEFAUT, signalement_du_courrier
from registre.ancrage import ancrer_ou_dire
from registre.registre import Registre, details
from registre.repartition import courriers_de_l_elu
from regles.chargement import charger_regles
from regles.repartition import charger_repartition

NUIT_PAR_DEFAUT = timedelta(hours=24)  # sans digest précédent, « la nuit » = les dernières 24 h


@dataclass(frozen=True)
class ResultatDigest:
    jour: date
    statut: str  # envoye, deja_envoye, en_suspens (un envoi précédent non confirmé)
    objet: str
    nouveaux: int
    urgents: int
    message_id: str = ""
    destinataires: tuple[str, ...] = ()


@dataclass(frozen=True)
class Preparation:
    digest: Digest
    graphique: bytes | None


# --- Lecture du registre (les lignes ORM s'arrêtent ici) ------------------------------------


def courrier_digest(c: FicheCourrier, seuil_ocr: float = SEUIL_PAR_DEFAUT) -> CourrierDigest:
    # Une page mal lue rejoint les alertes du courrier : le digest la signale comme les autres.
    lecture = signalement_du_courrier(c, seuil_ocr)
    return CourrierDigest(
        numero=c.numero,
        canal=c.canal,
        recu_le=c.recu_le,
        enregistre_le=c.enregistre_le,
        statut=c.statut,
        expediteur=c.expediteur,
        objet=c.objet,
        nom_fichier=c.nom_fichier,
        categorie=c.categorie,
        service=c.service,
        urgence=c.urgence,
        resume=c.resume,
        echeance=c.echeance,
        alertes=tuple(a for a in c.alertes.split(",") if a) + ((lecture,) if lecture else ()),
        erreur=c.erreur,
        brouillons=tuple((b.type, b.statut) for b in c.brouillons),
        automatique=c.automatique,
        delais_legaux=tuple(
            (e.libelle, e.le) for e in depuis_json(c.echeances_legales) if e.suspendue_le is None
        ),
    )


def debut_de_la_nuit(
    registre: Registre, evenements: list[FicheEvenement], jour: date, maintenant: datetime
) -> datetime:
    """Le moment où le dernier digest envoyé avant `jour` a été préparé, sinon il y a 24 h."""
    jours = set()
    for ev in evenements:
        if ev.type != TypeEvenement.DIGEST.value:
            continue
        d = details(ev)
        try:
            j = date.fromisoformat(str(d.get("jour")))
        except ValueError:
            continue
        if d.get("etape") == "envoye" and j < jour:
            jours.add(j)
    for j in sorted(jours, reverse=True):
        envoi = registre.envoi_digest(j)
        if envoi is not None and envoi.statut == "envoye":
            return envoi.prepare_le
    return maintenant - NUIT_PAR_DEFAUT


def lire_registre(
    registre: Registre, evenements: list[FicheEvenement], seuil_ocr: float = SEUIL_PAR_DEFAUT
) -> tuple[list[CourrierDigest], list[BrouillonEnAttente], list[ErreurGenerale]]:
    courriers = [courrier_digest(c, seuil_ocr) for c in registre.courriers()]
    brouillons = [
        BrouillonEnAttente(
            numero=c.numero,
            type=b.type,
            cree_le=b.cree_le,
            objet=c.objet,
            expediteur=c.expediteur,
            urgence=c.urgence,
            statut=b.statut,
            raison=b.raison,
        )
        for c, b in registre.brouillons_a_valider()
    ]
    erreurs = [
        ErreurGenerale(horodatage=ev.horodatage, details=details(ev))
        for ev in evenements
        if ev.type == TypeEvenement.ERREUR.value and not ev.numero
    ]
    return courriers, brouillons, erreurs


def preparer(
    registre: Registre,
    r: Reglages,
    jour: date,
    maintenant: datetime | None = None,
) -> Preparation:
    """Le digest du jour et son graphique, depuis le registre ; rien n'est écrit."""
    maintenant = maintenant or registre.horloge()
    libelles = {ident: c.libelle for ident, c in charger_regles(r.regles).categories.items()}
    evenements = registre.evenements()
    courriers, brouillons, erreurs = lire_registre(registre, evenements, r.ocr_seuil_confiance)
    digest = construire_digest(
        courriers,
        brouillons,
        erreurs,
        jour,
        r.url_publique,
        r.commune,
        depuis=debut_de_la_nuit(registre, evenements, jour, maintenant),
        libelles=libelles,
    )
    return Preparation(digest, graphique_volumes(courriers, jour, libelles))


# --- Envoi ---------------------------------------------------------------------------------


def adresses_digest(r: Reglages) -> tuple[str, list[str]]:
    destinataires = r.liste_destinataires_digest
    if not destinataires:
        raise ConfigurationErreur(
            "COURRIER_DESTINATAIRES_DIGEST manque : l'adresse du maire (plusieurs adresses "
            "séparées par des virgules)."
        )
    expediteur = r.expediteur_mairie
    if not expediteur:
        raise ConfigurationErreur(
            "COURRIER_ADRESSE_MAIRIE manque : l'adresse d'où part le digest "
            "(par exemple mairie@commune.example)."
        )
    return expediteur, destinataires


def verifier_envoi_possible(r: Reglages) -> None:
    parametres_smtp(r)
    adresses_digest(r)


def envoi_smtp(
    r: Reglages,
    reprise: Reprise = PANNES_PASSAGERES,
    dormir: Callable[[float], None] = time.sleep,
) -> Callable[[EmailMessage], None]:
    """L'envoi du digest lancé à la main, sans orchestrateur : le client SMTP, retenté comme la
    tâche du flow `digest` (les seules pannes passagères où rien n'est parti)."""
    client = ClientSmtp(parametres_smtp(r))
    return lambda message: reprise.executer(lambda: client.envoyer(message), dormir)


def publier_digest(
    registre: Registre,
    r: Reglages,
    jour: date,
    envoyer: Callable[[EmailMessage], None],
    maintenant: datetime | None = None,
) -> ResultatDigest:
    """Construit, réserve, envoie, confirme. `envoyer` : le client SMTP (ou la tâche Prefect)."""
    expediteur, destinataires = adresses_digest(r)
    maintenant = maintenant or registre.horloge()
    # L'ancre d'abord : le digest imprime l'empreinte horodatée, qui vit alors hors de la base.
    ancre = ""
    if r.horodatage_url and registre.envoi_digest(jour) is None:
        ancre = ancrer_ou_dire(registre, r.horodatage_url, r.horodatage_delai_s)
    preparation = preparer(registre, r, jour, maintenant)
    d = replace(preparation.digest, ancre=ancre)
    message = composer_message(
        d, expediteur, destinataires, preparation.graphique, maintenant=maintenant
    )
    message_id = str(message["Message-ID"])

    def resultat(statut: str) -> ResultatDigest:
        return ResultatDigest(
            jour=jour,
            statut=statut,
            objet=d.objet,
            nouveaux=d.nouveaux,
            urgents=d.urgents,
            message_id=message_id,
            destinataires=tuple(destinataires),
        )

    if not registre.reserver_digest(jour, ", ".join(destinataires), message_id):
        envoi = registre.envoi_digest(jour)
        statut = "deja_envoye" if envoi is None or envoi.statut == "envoye" else "en_suspens"
        return resultat(statut)
    try:
        envoyer(message)
    except ErreurSmtp as e:
        if e.rien_envoye:
            registre.annuler_digest(jour, str(e))
            raise type(e)(
                f"Le digest du {jour:%d/%m/%Y} n'est pas parti : {e} "
                "Une relance l'enverra (courrier digest --envoyer).",
                rien_envoye=True,
            ) from e
        raise type(e)(
            f"Le digest du {jour:%d/%m/%Y} est peut-être parti : {e} "
            "Il ne sera pas renvoyé aujourd'hui ; vérifiez la boîte du maire.",
            rien_envoye=False,
        ) from e
    # Toute autre panne (bogue, interruption) ne prouve pas que rien n'est parti : l'intention
    # reste « prepare », la secrétaire vérifie.
    registre.confirmer_digest(jour)
    return resultat("envoye")


def publier_digests_des_elus(
    registre: Registre,
    r: Reglages,
    jour: date,
    envoyer: Callable[[EmailMessage], None],
    maintenant: datetime | None = None,
) -> list[ResultatElu]:
    """Le digest de chaque élu référent qui a une adresse (regles/elus.yaml) ; aucun élu réglé :
    rien, le maire seul reçoit le digest, comme avant."""
    repartition = charger_repartition(r.regles)
    if not any(e.courriel for e in repartition.elus.values()):
        return []
    expediteur, _ = adresses_digest(r)
    maintenant = maintenant or registre.horloge()
    depuis = debut_de_la_nuit(registre, registre.evenements(), jour, maintenant)
    return publier_digests_elus(
        registre,
        repartition,
        # Les courriers de la nuit qui ont un élu ou sont urgents, pas tout le registre.
        courriers_de_l_elu(registre, None, depuis),
        jour,
        depuis,
        expediteur,
        r.commune,
        r.url_publique,
        {ident: c.libelle for ident, c in charger_regles(r.regles).categories.items()},
        envoyer,
        maintenant,
    )


def publier_digests(
    registre: Registre,
    r: Reglages,
    jour: date,
    envoyer: Callable[[EmailMessage], None],
    maintenant: datetime | None = None,
) -> ResultatDigest:
    """Le digest du maire, puis celui de chaque élu : un élu reçoit le sien même quand celui du
    maire n'est pas parti (l'erreur du maire remonte ensuite, telle quelle)."""
    try:
        resultat = publier_digest(registre, r, jour, envoyer, maintenant)
    except Exception:
        publier_digests_des_elus(registre, r, jour, envoyer, maintenant)
        raise
    publier_digests_des_elus(registre, r, jour, envoyer, maintenant)
    return resultat
