"""Les messages écrits par des programmes : réponses automatiques et avis de non-remise.

RFC 3834 : on ne répond jamais à un message qui porte `Auto-Submitted` (autre que « no »), ni à
un répondeur (`X-Autoreply`, `Precedence: auto_reply`, objet « Absence », « Out of office »,
« Réponse automatique »…) ; ni brouillon ni accusé de réception. RFC 3464 : un avis de
non-remise est un `multipart/report` (report-type=delivery-status) dont la partie
`message/delivery-status` nomme les destinataires en échec, et qui renvoie les en-têtes du
message perdu (`text/rfc822-headers` ou `message/rfc822`) : leur Message-ID rattache l'avis à
la réponse de la mairie qu'il concerne. Les deux formats sont lus par le paquet `email` de
Python ; ici on ne fait que regarder ce qu'il a analysé.
"""

from __future__ import annotations

import contextlib
import email
import email.header
import email.policy
import re
from email.message import Message

from noyau.domaine import EchecRemise, MessageAutomatique, NatureAutomatique

_POLITIQUE = email.policy.compat32  # en-têtes bruts : un en-tête abîmé ne lève rien
_MESSAGE_ID = re.compile(r"<[^<>\s@]+@[^<>\s]+>")
# Un objet de répondeur, au début : « Absence », « Absent du bureau », « Réponse automatique :
# … », « Out of office », « Automatic reply », les préfixes de Sieve « Auto: » et de quelques
# langues voisines. « Absence de ramassage des poubelles » n'en est pas un.
_OBJET_ABSENCE = re.compile(
    r"^\s*(?:(?:absen(?:ce|t|te)|message d'absence|out of (?:the )?office|ooo)"
    r"(?:\s*(?:[:\-–(]|du bureau|$))|"
    r"r[ée]ponse automatique|automatic reply|auto(?:matic)?[ -]?(?:reply|response)\b|auto\s*:|"
    r"abwesenheit|automatyczna odpowied|risposta automatica|respuesta autom[áa]tica)",
    re.IGNORECASE,
)
# Un avis de non-remise sans rapport RFC 3464 (vieux serveurs, qmail) : expéditeur et objet.
_EXPEDITEUR_SYSTEME = re.compile(r"(mailer-daemon|postmaster|mail delivery (?:sub)?system)", re.I)
_OBJET_NON_REMISE = re.compile(
    r"(undeliver|non remis|non distribu|delivery (?:status notification|fail)|"
    r"mail delivery failed|returned mail|failure notice|delivery failure|"
    r"impossible de remettre)",
    re.IGNORECASE,
)
DIAGNOSTIC_MAX = 300


def _entete(message: Message, nom: str) -> str:
    for cle, valeur in message.raw_items():
        if str(cle).strip().lower() == nom:
            return " ".join(str(valeur).split())
    return ""


def _objet(message: Message) -> str:
    brut = _entete(message, "subject")
    try:
        return str(email.header.make_header(email.header.decode_header(brut)))
    except Exception:  # mot encodé abîmé, charset inconnu : l'objet tel qu'il est écrit
        return brut


def reconnaitre(message: Message) -> MessageAutomatique | None:
    """La nature automatique d'un courriel analysé par `email`, ou None pour un courriel écrit
    par une personne. Ne lève jamais d'exception : dans le doute, c'est un courriel ordinaire."""
    try:
        return _reconnaitre(message)
    except Exception:
        return None


def _reconnaitre(message: Message) -> MessageAutomatique | None:
    avis = _avis_de_non_remise(message)
    if avis is not None:
        return avis
    return _reponse_automatique(message) or _envoi_automatique(message)


def _avis_de_non_remise(message: Message) -> MessageAutomatique | None:
    type_ = message.get_content_type()
    rapport = message.get_param("report-type", header="content-type")
    if type_ == "multipart/report" and str(rapport).lower() == "delivery-status":
        return _non_remise(message, "multipart/report (delivery-status)")
    if any(p.get_content_type() == "message/delivery-status" for p in message.walk()):
        return _non_remise(message, "partie message/delivery-status")
    expediteur = _entete(message, "from")
    objet = _objet(message)
    if _EXPEDITEUR_SYSTEME.search(expediteur) and _OBJET_NON_REMISE.search(objet):
        return _non_remise(message, f"expéditeur {expediteur[:80]}")
    return None


def _auto_submitted(message: Message) -> tuple[str, str]:
    """L'en-tête Auto-Submitted en entier, et sa valeur seule (« auto-replied »…)."""
    auto = _entete(message, "auto-submitted").lower()
    return auto, (re.split(r"[\s;(]", auto, maxsplit=1)[0] if auto else "")


def _reponse_automatique(message: Message) -> MessageAutomatique | None:
    """Une absence, un répondeur : en-têtes de RFC 3834 et d'usage, ou objet d'absence."""
    auto, valeur_auto = _auto_submitted(message)
    if valeur_auto == "auto-replied":
        return MessageAutomatique(NatureAutomatique.REPONSE_AUTOMATIQUE, f"Auto-Submitted: {auto}")
    for nom in ("x-autoreply", "x-autorespond", "x-autoresponder"):
        valeur = _entete(message, nom)
        if valeur and valeur.lower() not in ("no", "non", "false", "0"):
            return MessageAutomatique(NatureAutomatique.REPONSE_AUTOMATIQUE, f"{nom}: {valeur}")
    if _entete(message, "precedence").lower() == "auto_reply":
        return MessageAutomatique(NatureAutomatique.REPONSE_AUTOMATIQUE, "Precedence: auto_reply")
    objet = _objet(message)
    if _OBJET_ABSENCE.match(objet):
        return MessageAutomatique(NatureAutomatique.REPONSE_AUTOMATIQUE, f"objet « {objet[:80]} »")
    return None


def _envoi_automatique(message: Message) -> MessageAutomatique | None:
    """Une notification, un envoi en nombre : analysé, mais sans brouillon."""
    auto, valeur_auto = _auto_submitted(message)
    if valeur_auto and valeur_auto != "no":
        return MessageAutomatique(NatureAutomatique.AUTO_GENERE, f"Auto-Submitted: {auto}")
    precedence = _entete(message, "precedence").lower()
    if precedence in ("bulk", "junk", "list"):
        return MessageAutomatique(NatureAutomatique.AUTO_GENERE, f"Precedence: {precedence}")
    if _entete(message, "return-path").replace(" ", "") == "<>":
        # Expéditeur nul (RFC 5321) : personne ne recevrait une réponse.
        return MessageAutomatique(NatureAutomatique.AUTO_GENERE, "Return-Path: <>")
    return None


def _non_remise(message: Message, indice: str) -> MessageAutomatique:
    echecs: list[EchecRemise] = []
    actions: set[str] = set()
    revenus: list[str] = []
    for partie in message.walk():
        type_ = partie.get_content_type()
        try:
            if type_ == "message/delivery-status":
                trouves, vues = _echecs(partie)
                echecs += trouves
                actions |= vues
            elif type_ in ("text/rfc822-headers", "message/rfc822-headers"):
                revenus += _identifiants_du_texte(_texte(partie))
            elif type_ == "message/rfc822":
                for joint in _messages_joints(partie):
                    revenus += _MESSAGE_ID.findall(_entete(joint, "message-id"))
        except Exception:
            continue  # une partie abîmée ne retire pas à l'avis sa nature
    # Certains serveurs (Exchange, Gmail) mettent aussi le fil : le message revenu y est cité.
    for nom in ("in-reply-to", "references"):
        revenus += _MESSAGE_ID.findall(_entete(message, nom))
    if not revenus:
        revenus = _revenus_cites_dans_le_texte(message)
    return MessageAutomatique(
        NatureAutomatique.NON_REMISE,
        indice,
        echecs=tuple(dict.fromkeys(echecs)),
        # Un avis qui ne dit que « delayed » (retardé) ou « delivered » n'est pas un échec ;
        # sans aucune action lisible, l'avis lui-même vaut échec.
        remise_echouee=bool(echecs) or not actions or "failed" in actions,
        messages_revenus=tuple(dict.fromkeys(revenus)),
    )


def _revenus_cites_dans_le_texte(message: Message) -> list[str]:
    """Rapport non conforme : le Message-ID cité dans le texte de l'avis (qmail, vieux Exchange)."""
    revenus: list[str] = []
    propre = set(_MESSAGE_ID.findall(_entete(message, "message-id")))
    for partie in message.walk():
        if partie.get_content_maintype() == "text":
            with contextlib.suppress(Exception):
                revenus += [m for m in _identifiants_du_texte(_texte(partie)) if m not in propre]
    return revenus


def _texte(partie: Message) -> str:
    charge = partie.get_payload(decode=True)
    if isinstance(charge, bytes):
        return charge.decode("utf-8", "replace")
    brute = partie.get_payload()
    if isinstance(brute, list):  # un analyseur a déjà fait des messages de ce texte
        return "\n\n".join(m.as_string() for m in brute if isinstance(m, Message))
    return str(brute or "")


def _identifiants_du_texte(texte: str) -> list[str]:
    trouves = re.findall(r"^message-id:\s*(<[^<>\s]+>)", texte, re.IGNORECASE | re.MULTILINE)
    return [m for m in trouves if _MESSAGE_ID.fullmatch(m)]


def _messages_joints(partie: Message) -> list[Message]:
    charge = partie.get_payload()
    if isinstance(charge, list):
        return [m for m in charge if isinstance(m, Message)]
    if isinstance(charge, str) and charge.strip():
        return [email.message_from_string(charge, policy=_POLITIQUE)]
    return []


def _echecs(partie: Message) -> tuple[list[EchecRemise], set[str]]:
    """Les destinataires en échec (Action: failed) d'une partie message/delivery-status.

    Le paquet `email` la lit comme une suite de blocs d'en-têtes : le premier décrit le message,
    chacun des suivants un destinataire (RFC 3464, § 2.1).
    """
    blocs = _messages_joints(partie)
    if not blocs:
        blocs = [email.message_from_string(_texte(partie), policy=_POLITIQUE)]
    echecs = []
    actions = set()
    for bloc in blocs:
        destinataire = _entete(bloc, "final-recipient") or _entete(bloc, "original-recipient")
        action = _entete(bloc, "action").lower()
        if action:
            actions.add(action)
        if not destinataire or (action and action != "failed"):
            continue  # « delayed », « delivered » : pas un échec
        adresse = destinataire.split(";", 1)[-1].strip().strip("<>").strip().lower()
        if "@" not in adresse:
            continue
        statut = _entete(bloc, "status").split(" ", 1)[0]
        diagnostic = _entete(bloc, "diagnostic-code")[:DIAGNOSTIC_MAX]
        echecs.append(EchecRemise(adresse=adresse[:320], statut=statut[:16], diagnostic=diagnostic))
    return echecs, actions
