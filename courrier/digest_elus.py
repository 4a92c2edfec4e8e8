"""Le digest de chaque élu référent : ses courriers arrivés depuis le dernier digest, plus l'urgent.

Le maire reçoit toujours le digest complet (courrier/digest.py) ; un élu qui a une adresse dans
`regles/elus.yaml` reçoit en plus le sien. Données personnelles : le courriel ne porte ni
expéditeur, ni objet, ni résumé, ni pièce jointe — le numéro, la catégorie, le service,
l'urgence, l'échéance et un lien vers la page authentifiée, où l'élu lit le reste. Chaque envoi
est réservé au registre avant l'appel SMTP : une relance le même jour ne le double pas.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime

from connecteurs.smtp import ErreurSmtp
from courrier.digest import identifiant, pluriel
from noyau.calendrier import PARIS, date_en_lettres
from noyau.erreurs import CourrierErreur
from registre.registre import Registre
from registre.repartition import annuler_digest_elu, confirmer_digest_elu, reserver_digest_elu
from registre.tables import Courrier
from regles.repartition import Elu, Repartition


@dataclass(frozen=True)
class LigneElu:
    numero: str
    recu_le: str
    categorie: str
    service: str
    urgent: bool
    a_lui: bool  # confié à cet élu (sinon : un urgent de la mairie)
    echeance: str
    lien: str


@dataclass(frozen=True)
class DigestElu:
    elu: Elu
    jour: date
    mairie: str
    lignes: tuple[LigneElu, ...]
    vue: str  # le lien vers la vue de l'élu, "" sans COURRIER_URL_PUBLIQUE

    @property
    def objet(self) -> str:
        a_lui = sum(ligne.a_lui for ligne in self.lignes)
        urgents = sum(ligne.urgent for ligne in self.lignes)
        return (
            f"Courrier de {self.mairie} – {date_en_lettres(self.jour)} : "
            f"{pluriel(a_lui, 'courrier', 'courriers')} pour vous, "
            f"{pluriel(urgents, 'urgent', 'urgents')}"
        )


@dataclass(frozen=True)
class ResultatElu:
    elu: str
    statut: str  # envoye, deja_envoye, rien, sans_adresse, echec
    destinataire: str = ""
    lignes: int = 0
    raison: str = ""


def construire_digest_elu(
    elu: Elu,
    courriers: Iterable[Courrier],
    jour: date,
    depuis: datetime,
    mairie: str,
    url_publique: str | None,
    libelles: Mapping[str, str],
) -> DigestElu:
    """Ce qui concerne l'élu parmi les courriers enregistrés depuis `depuis` ; rien d'autre."""
    base = url_publique.rstrip("/") if url_publique else ""
    lignes = [
        LigneElu(
            numero=c.numero,
            recu_le=c.recu_le.astimezone(PARIS).strftime("%d/%m/%Y"),
            categorie=libelles.get(c.categorie, c.categorie),
            service=c.service,
            urgent=c.urgence == "haute",
            a_lui=c.elu == elu.ident,
            echeance=c.echeance.strftime("%d/%m/%Y") if c.echeance else "",
            lien=f"{base}/elu/courrier/{c.numero}" if base else "",
        )
        for c in courriers
        if c.enregistre_le >= depuis
        and c.purge_le is None
        and (c.elu == elu.ident or c.urgence == "haute")
    ]
    # Urgents d'abord, puis les siens, puis par numéro.
    lignes.sort(key=lambda ligne: (not ligne.urgent, not ligne.a_lui, ligne.numero))
    return DigestElu(elu, jour, mairie, tuple(lignes), f"{base}/elu" if base else "")


def rendre_texte_elu(d: DigestElu) -> str:
    sortie = [
        f"Bonjour {d.elu.nom},",
        "",
        f"Voici le courrier arrivé à la mairie de {d.mairie} qui vous concerne "
        f"({d.elu.fonction}), et les courriers urgents.",
        "",
    ]
    for ligne in d.lignes:
        marques = ", ".join(
            m
            for m in (
                "URGENT" if ligne.urgent else "",
                "pour vous" if ligne.a_lui else "urgent de la mairie",
                f"échéance {ligne.echeance}" if ligne.echeance else "",
            )
            if m
        )
        sortie.append(f"- {ligne.numero}, reçu le {ligne.recu_le} : {ligne.categorie}")
        sortie.append(f"  {ligne.service} ; {marques}")
        if ligne.lien:
            sortie.append(f"  {ligne.lien}")
    sortie += [
        "",
        "Le détail de chaque courrier (expéditeur, objet, texte) est sur la page Courrier de la "
        "mairie, après connexion"
        + (f" : {d.vue}" if d.vue else " (demandez-en l'adresse au secrétariat)")
        + ". Vous pouvez y laisser un commentaire pour le secrétariat.",
        "",
        "Ce message est envoyé automatiquement ; le secrétariat de mairie répond aux usagers.",
    ]
    return "\n".join(sortie) + "\n"


def composer_message_elu(
    d: DigestElu, expediteur: str, maintenant: datetime | None = None
) -> EmailMessage:
    domaine = expediteur.rpartition("@")[2] or "localhost"
    message = EmailMessage()
    message["Subject"] = d.objet
    message["From"] = Address(display_name=f"Courrier – {d.mairie}", addr_spec=expediteur)
    message["To"] = Address(display_name=d.elu.nom, addr_spec=d.elu.courriel)
    moment = maintenant or datetime.now(PARIS)
    message["Date"] = format_datetime(moment.astimezone(PARIS))
    message["Message-ID"] = identifiant(f"digest-elu.{d.jour:%Y%m%d}.{d.elu.ident}", domaine)
    message["Content-Language"] = "fr"
    message["Auto-Submitted"] = "auto-generated"
    message["X-Auto-Response-Suppress"] = "All"
    message.set_content(rendre_texte_elu(d), subtype="plain", cte="quoted-printable")
    return message


def publier_digests_elus(
    registre: Registre,
    repartition: Repartition,
    courriers: list[Courrier],
    jour: date,
    depuis: datetime,
    expediteur: str,
    mairie: str,
    url_publique: str | None,
    libelles: Mapping[str, str],
    envoyer: Callable[[EmailMessage], None],
    maintenant: datetime | None = None,
) -> list[ResultatElu]:
    """Un digest par élu qui a une adresse et au moins un courrier à voir ; un échec d'envoi
    pour un élu n'empêche pas les autres."""
    resultats: list[ResultatElu] = []
    for elu in repartition.elus.values():
        if not elu.courriel:
            resultats.append(ResultatElu(elu.ident, "sans_adresse"))
            continue
        d = construire_digest_elu(elu, courriers, jour, depuis, mairie, url_publique, libelles)
        if not d.lignes:
            resultats.append(ResultatElu(elu.ident, "rien", elu.courriel))
            continue
        message = composer_message_elu(d, expediteur, maintenant)
        if not reserver_digest_elu(registre, jour, elu.ident, elu.courriel, message["Message-ID"]):
            resultats.append(ResultatElu(elu.ident, "deja_envoye", elu.courriel, len(d.lignes)))
            continue
        try:
            envoyer(message)
        except (ErreurSmtp, CourrierErreur) as e:
            if isinstance(e, ErreurSmtp) and e.rien_envoye:
                annuler_digest_elu(registre, jour, elu.ident, str(e))
            resultats.append(ResultatElu(elu.ident, "echec", elu.courriel, len(d.lignes), str(e)))
            continue
        confirmer_digest_elu(registre, jour, elu.ident)
        resultats.append(ResultatElu(elu.ident, "envoye", elu.courriel, len(d.lignes)))
    return resultats
