"""En-têtes d'un courriel : bloc d'en-têtes séparé et réparé, expéditeur, destinataires, date.

Les en-têtes sont lus sur leur valeur brute (`raw_items`) et décodés ici : l'analyse
« moderne » du paquet `email` lève des exceptions ou rend des caractères de remplacement sur
les en-têtes abîmés que le courrier réel contient (octets 8 bits bruts, mots encodés coupés).
"""

from __future__ import annotations

import email
import email.policy
import email.utils
import re
from datetime import UTC, datetime
from email.message import Message

from courrier.extraction.commun import assainir_entetes, taille_lisible
from courrier.extraction.mots_encodes import (
    decoder_entete,
    decoder_mots_encodes,
    deplier,
    sans_octets_bruts,
)
from courrier.extraction.outlook import entetes_msg, est_un_msg
from courrier.extraction.texte import nettoyer_ligne
from noyau.domaine import EntetesCourrier

POLITIQUE = email.policy.default


# Une ligne d'en-tête telle que l'entend le parseur de Python (feedparser.headerRE), avec au
# moins un caractère de nom.
_LIGNE_ENTETE = re.compile(rb"From |[\x21-\x39\x3b-\x7e]+:|[ \t]")
# Au-delà, une ligne d'en-tête est coupée avant l'analyse : l'analyseur d'en-têtes structurés
# de Python devient très lent sur des valeurs géantes.
LIGNE_ENTETE_MAX = 64 * 1024


LONGUEURS = {
    "expediteur": 500,
    "destinataires": 4000,
    "objet": 1000,
    "message_id": 998,
    "references": 8000,
}

ENTETES_CONNUS = frozenset(
    {
        "from", "to", "cc", "subject", "date", "message-id", "received", "mime-version",
        "content-type", "return-path", "delivered-to", "sender", "reply-to", "in-reply-to",
        "references", "x-mailer",
    }
)  # fmt: skip


def lire_entetes(contenu: bytes) -> EntetesCourrier:
    """Les en-têtes décodés d'un courriel ; ne lève jamais d'exception, quels que soient les octets.

    Seul le bloc d'en-têtes est analysé : c'est appelé à l'enregistrement, avant toute lecture.
    """
    try:
        if est_un_msg(contenu):
            return entetes_msg(contenu)
        if not contenu or not commence_par_un_entete(contenu):
            return EntetesCourrier()
        tete, _ = separer(contenu)
        tete, _ = reparer_entetes(tete)
        message = email.message_from_bytes(tete + b"\n", policy=POLITIQUE)
        return assainir_entetes(entetes_depuis(message))
    except Exception:
        # Promesse du contrat : l'enregistrement ne doit jamais tomber sur un en-tête.
        return EntetesCourrier()


def _debut(contenu: bytes) -> bytes:
    """Sans BOM UTF-8 (fichiers .eml enregistrés sous Windows) ni lignes vides de tête."""
    return contenu.removeprefix(b"\xef\xbb\xbf").lstrip(b"\r\n")


def commence_par_un_entete(contenu: bytes) -> bool:
    return bool(_LIGNE_ENTETE.match(_debut(contenu[:1000])))


def separer(contenu: bytes) -> tuple[bytes, bytes]:
    """(bloc d'en-têtes, reste) ; les lignes vides de tête sont sautées."""
    contenu = _debut(contenu)
    # Groupe atomique : « \r\n » suivi d'une ligne non vide n'est pas une ligne vide.
    fin = re.search(rb"(?>\r\n|\n|\r)(?:\r\n|\n|\r)", contenu)
    if fin is None:
        return contenu, b""
    return contenu[: fin.start()], contenu[fin.start() :]


def reparer_entetes(tete: bytes) -> tuple[bytes, list[str]]:
    """Retire les lignes qui ne sont pas des en-têtes et coupe les lignes géantes.

    Le parseur de Python arrête les en-têtes à la première ligne invalide (corpus : une ligne
    « quite Delivered-To: … », des suites de DKIM sans espace initial) et range le reste,
    Subject et From compris, dans le corps.
    """
    lignes = tete.splitlines(keepends=True)
    remarques: list[str] = []
    gardees: list[bytes] = []
    modifie = False
    for ligne in lignes:
        if len(ligne) > LIGNE_ENTETE_MAX:
            remarques.append(
                f"Un en-tête anormalement long ({taille_lisible(len(ligne))}) a été coupé "
                f"à {taille_lisible(LIGNE_ENTETE_MAX)}."
            )
            fin = b"\r\n" if ligne.endswith(b"\r\n") else b"\n"
            ligne = ligne[:LIGNE_ENTETE_MAX].rstrip(b"\r\n") + fin
            modifie = True
        if _LIGNE_ENTETE.match(ligne) or (not gardees and ligne.startswith(b"From ")):
            gardees.append(ligne)
        else:
            modifie = True
    if not modifie:
        return tete, remarques
    return b"".join(gardees), remarques


def _valeurs_brutes(message: Message) -> dict[str, list[str]]:
    valeurs: dict[str, list[str]] = {}
    for nom, valeur in message.raw_items():
        valeurs.setdefault(str(nom).strip().lower(), []).append(str(valeur))
    return valeurs


def valeur_brute(message: Message, nom: str) -> str | None:
    nom = nom.lower()
    for cle, valeur in message.raw_items():
        if str(cle).strip().lower() == nom:
            return str(valeur)
    return None


def _adresses(valeurs: list[str], indice: str | None) -> list[tuple[str, str]]:
    """(nom décodé, adresse) ; les mots encodés sont décodés après découpage des adresses."""
    bruts = [sans_octets_bruts(deplier(v), indice) for v in valeurs]
    try:
        paires = email.utils.getaddresses(bruts)
    except Exception:
        paires = []
    resultat = []
    for nom, adresse in paires:
        adresse = nettoyer_ligne(adresse, 320)
        nom = nettoyer_ligne(decoder_mots_encodes(nom), 300)
        if (adresse and "@" in adresse) or nom:
            resultat.append((nom, adresse))
    return resultat


def _affiche(nom: str, adresse: str) -> str:
    if nom and adresse:
        return f"{nom} <{adresse}>"
    return adresse or nom


def _charset_indice(valeurs: dict[str, list[str]]) -> str | None:
    for valeur in valeurs.get("content-type", []):
        trouve = re.search(r"charset\s*=\s*\"?([A-Za-z0-9_.:-]{1,40})", valeur, re.I)
        if trouve:
            return trouve.group(1)
    return None


def _date(valeur: str | None) -> datetime | None:
    if not valeur:
        return None
    texte = nettoyer_ligne(sans_octets_bruts(deplier(valeur), None), 200)
    try:
        date = email.utils.parsedate_to_datetime(texte)
        if date.tzinfo is None:
            # « -0000 » : heure UTC sans fuseau d'origine connu (RFC 5322 §3.3).
            date = date.replace(tzinfo=UTC)
        date = date.astimezone(UTC)
    except (TypeError, ValueError, IndexError, OverflowError, AttributeError):
        return None
    if not 1970 <= date.year <= 2200:
        return None
    return date


def _identifiant(valeur: str | None) -> str:
    if not valeur:
        return ""
    texte = nettoyer_ligne(sans_octets_bruts(deplier(valeur), None), LONGUEURS["message_id"])
    trouve = re.search(r"<[^<>\s]+>", texte)
    return trouve.group(0) if trouve else texte


def entetes_depuis(message: Message) -> EntetesCourrier:
    valeurs = _valeurs_brutes(message)
    indice = _charset_indice(valeurs)

    def premier(*noms: str) -> list[str]:
        for nom in noms:
            if valeurs.get(nom):
                return valeurs[nom][:1]
        return []

    bruts_expediteur = premier("from", "sender")
    expediteurs = _adresses(bruts_expediteur, indice)
    if expediteurs:
        nom, adresse = expediteurs[0]
        expediteur = nettoyer_ligne(_affiche(nom, adresse), LONGUEURS["expediteur"])
        expediteur_adresse = adresse.lower()
    else:
        expediteur = decoder_entete(bruts_expediteur[0], indice) if bruts_expediteur else ""
        expediteur = nettoyer_ligne(expediteur, LONGUEURS["expediteur"])
        trouve = re.search(r"[\w.+'-]+@[\w-]+(?:\.[\w-]+)+", expediteur)
        expediteur_adresse = trouve.group(0).lower() if trouve else ""

    bruts_destinataires = valeurs.get("to", []) + valeurs.get("cc", [])
    destinataires = ", ".join(_affiche(n, a) for n, a in _adresses(bruts_destinataires, indice))
    if not destinataires and bruts_destinataires:
        destinataires = ", ".join(decoder_entete(v, indice) for v in bruts_destinataires)
    destinataires = nettoyer_ligne(destinataires, LONGUEURS["destinataires"])

    objets = premier("subject")
    references = premier("references")
    return EntetesCourrier(
        expediteur=expediteur,
        expediteur_adresse=nettoyer_ligne(expediteur_adresse, 320),
        destinataires=destinataires,
        objet=decoder_entete(objets[0], indice, LONGUEURS["objet"]) if objets else "",
        message_id=_identifiant(next(iter(premier("message-id")), None)),
        in_reply_to=_identifiant(next(iter(premier("in-reply-to")), None)),
        references=nettoyer_ligne(
            sans_octets_bruts(deplier(references[0]), None) if references else "",
            LONGUEURS["references"],
        ),
        date=_date(next(iter(premier("date")), None)),
    )


def analyser_message(contenu: bytes) -> tuple[Message | None, list[str]]:
    tete, reste = separer(contenu)
    tete, remarques = reparer_entetes(tete)
    try:
        return email.message_from_bytes(tete + reste, policy=POLITIQUE), remarques
    except RecursionError:
        raison = "Structure MIME trop imbriquée pour être analysée : conservé tel quel, non lu."
    except Exception as e:
        # Le parseur de Python est tolérant ; ce filet couvre un cas qu'il ne saurait pas rendre.
        raison = f"Le courriel n'a pas pu être analysé ({type(e).__name__}) : conservé, non lu."
    return None, [*remarques, raison]


def a_des_entetes(message: Message) -> bool:
    return any(str(nom).strip().lower() in ENTETES_CONNUS for nom, _ in message.raw_items())
