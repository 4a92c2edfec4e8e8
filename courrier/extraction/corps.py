"""Corps d'un courriel : parcours des parties MIME, alternatives, structures cassées, et
messages transférés (relus avec le même parcours, d'où leur place ici)."""

from __future__ import annotations

import binascii
import email
import re
from collections import Counter
from datetime import datetime
from email.message import Message
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from courrier.extraction.commun import Lecture, extension
from courrier.extraction.entetes import (
    POLITIQUE,
    a_des_entetes,
    analyser_message,
    commence_par_un_entete,
    entetes_depuis,
    valeur_brute,
)
from courrier.extraction.mots_encodes import base64_tolerant, decoder_entete
from courrier.extraction.parties import (
    encodage_transfert,
    est_jointe,
    nom_declare,
    octets_de_partie,
    serialiser,
    texte_de_partie,
    type_de_partie,
)
from courrier.extraction.pieces import (
    Contexte,
    ajouter_erreur,
    analyser_octets,
    appliquer,
    nouvelle_piece,
)
from courrier.extraction.texte import decoder_octets, nettoyer
from noyau.domaine import PieceExtraite

NIVEAUX_MIME_MAX = 40


def lire_message(message: Message, contexte: Contexte, profondeur: int) -> tuple[str, str]:
    """(texte du corps, méthode) ; les pièces rencontrées vont dans le contexte."""
    segments = []
    vus: set[str] = set()
    for texte_segment, methode_segment in _rendre(message, contexte, profondeur, 0, False):
        # Une structure cassée met côte à côte le texte et le HTML d'une même alternative.
        cle = " ".join(texte_segment.split())
        if cle and cle not in vus:
            vus.add(cle)
            segments.append((texte_segment, methode_segment))
    texte = "\n\n".join(t.strip("\n") for t, _ in segments)
    methodes = {m for _, m in segments}
    methode = "texte" if "plain" in methodes else "html" if "html" in methodes else "aucune"
    return texte.strip(), methode


def _rendre(
    partie: Message, contexte: Contexte, profondeur: int, niveau: int, dans_related: bool
) -> list[tuple[str, str]]:
    """Les morceaux de corps (texte, méthode) de `partie` ; les pièces vont dans le contexte."""
    if niveau > NIVEAUX_MIME_MAX:
        contexte.signaler(
            f"Structure MIME imbriquée sur plus de {NIVEAUX_MIME_MAX} niveaux : "
            "les parties plus profondes sont ignorées."
        )
        return []
    type_ = type_de_partie(partie)
    if type_ in ("message/rfc822", "message/global", "message/news"):
        _piece_message(partie, contexte, profondeur)
        return []
    if type_.startswith("message/") and partie.is_multipart():
        _piece(partie, type_, contexte, profondeur, dans_related)
        return []
    if partie.is_multipart():
        enfants = [e for e in partie.get_payload() if isinstance(e, Message)]
        related = dans_related or type_ == "multipart/related"
        rendus = [_rendre(e, contexte, profondeur, niveau + 1, related) for e in enfants]
        epilogue = partie.epilogue or ""
        if len(epilogue) > 20 and "\n--" in epilogue:
            # Corpus (07) : une sous-partie réutilise la frontière de sa mère et la ferme trop
            # tôt ; la pièce jointe suivante atterrit dans l'épilogue, où Python l'ignore.
            perdues = _recuperer_multipart(epilogue, "multipart/mixed")
            if perdues is not None:
                rendus.append(_rendre(perdues, contexte, profondeur, niveau + 1, related))
        if type_ == "multipart/alternative":
            return _choisir_alternative(rendus)
        return [segment for rendu in rendus for segment in rendu]
    if type_.startswith("multipart/"):
        return _rendre_multipart_casse(partie, type_, contexte, profondeur, niveau, dans_related)
    if type_ in ("text/plain", "text/html") and not est_jointe(partie):
        return [
            (texte_de_partie(partie, octets_de_partie(partie), type_ == "text/html"), type_[5:])
        ]
    _piece(partie, type_, contexte, profondeur, dans_related)
    return []


def _choisir_alternative(rendus: list[list[tuple[str, str]]]) -> list[tuple[str, str]]:
    """Le texte brut d'abord ; le HTML quand la version texte manque ou est vide."""
    non_vides = [r for r in rendus if any(t.strip() for t, _ in r)]
    for rendu in non_vides:
        if any(m == "plain" and t.strip() for t, m in rendu):
            return rendu
    return non_vides[0] if non_vides else []


def _rendre_multipart_casse(
    partie: Message,
    type_: str,
    contexte: Contexte,
    profondeur: int,
    niveau: int,
    dans_related: bool,
) -> list[tuple[str, str]]:
    charge = partie.get_payload()
    if not isinstance(charge, str) or not charge.strip():
        return []
    recupere = _recuperer_multipart(charge, type_)
    if recupere is not None:
        return _rendre(recupere, contexte, profondeur, niveau + 1, dans_related)
    contexte.signaler(
        "Structure MIME cassée (frontière entre les parties introuvable) : le contenu est lu "
        "tel quel, sans découpage ; des pièces jointes peuvent y être mêlées."
    )
    return [(nettoyer(decoder_octets(charge.encode("utf-8", "surrogateescape"))), "plain")]


def _recuperer_multipart(charge: str, type_: str) -> Message | None:
    """Retrouve la frontière réellement utilisée quand celle annoncée n'apparaît pas.

    Corpus : frontière annoncée « --=_HsWzsKVZkho », utilisée « --=_GlSzQZUbRbpVOpy » ;
    frontière non protégée contenant « = », que Python coupe.
    """
    lignes = charge.splitlines()
    candidates: Counter[str] = Counter()
    for i, ligne in enumerate(lignes[:200_000]):
        if (
            ligne.startswith("--")
            and 3 <= len(ligne) <= 200
            and i + 1 < len(lignes)
            and lignes[i + 1].lower().startswith("content-")
        ):
            candidates[ligne[2:].rstrip()] += 1
    if not candidates:
        return None
    frontiere = candidates.most_common(1)[0][0]
    if not frontiere or '"' in frontiere or "\\" in frontiere:
        return None
    type_sur = re.sub(r"[^a-z0-9/.+-]", "", type_) or "multipart/mixed"
    entete = f'Content-Type: {type_sur}; boundary="{frontiere}"\n\n'.encode("ascii", "replace")
    try:
        message = email.message_from_bytes(
            entete + charge.encode("utf-8", "surrogateescape"), policy=POLITIQUE
        )
    except Exception:
        return None
    if not message.is_multipart() or not message.get_payload():
        return None
    return message


def _piece(
    partie: Message, type_: str, contexte: Contexte, profondeur: int, dans_related: bool
) -> None:
    octets = octets_de_partie(partie)
    nom = nom_declare(partie)
    piece, analyser = nouvelle_piece(partie, octets, type_, nom, contexte)
    if not analyser:
        return
    ext = extension(nom or "")
    if ext == "eml" and commence_par_un_entete(octets):
        message, _ = analyser_message(octets)
        if message is not None and a_des_entetes(message):
            _lire_message_joint(piece, message, contexte, profondeur)
            return
    en_ligne = dans_related and bool(valeur_brute(partie, "content-id"))
    analyser_octets(piece, octets, type_, ext, en_ligne, partie, contexte)


# --- Messages transférés -------------------------------------------------------------------


def _piece_message(partie: Message, contexte: Contexte, profondeur: int) -> None:
    charge = partie.get_payload()
    interne = charge[0] if isinstance(charge, list) and charge else None
    if not isinstance(interne, Message):
        interne = None
    if interne is not None and encodage_transfert(partie) in ("base64", "quoted-printable"):
        # Interdit par la RFC 2046 mais produit par certains logiciels : Python a pris le
        # texte encodé pour un message ; on le décode et on relit.
        encode = serialiser(interne)
        if encodage_transfert(partie) == "base64":
            octets = base64_tolerant(encode) or b""
        else:
            octets = binascii.a2b_qp(encode)
        interne, _ = analyser_message(octets) if octets.strip() else (None, [])
    else:
        octets = serialiser(interne) if interne is not None else octets_de_partie(partie)
    nom = nom_declare(partie)
    if not nom and interne is not None:
        objet = decoder_entete(valeur_brute(interne, "subject") or "", None, 100)
        nom = f"{objet}.eml" if objet else None
    piece, analyser = nouvelle_piece(partie, octets, "message/rfc822", nom, contexte)
    if not octets and interne is not None:
        # Le générateur d'email a renoncé (imbrication extrême) : rien de sûr à relire.
        piece.erreur = "Message transféré trop imbriqué pour être relu : conservé, non lu."
        return
    if not analyser:
        return
    if interne is None or not a_des_entetes(interne):
        ajouter_erreur(piece, "Message transféré illisible : conservé, non lu.")
        return
    _lire_message_joint(piece, interne, contexte, profondeur)


def _heure_locale(date: datetime) -> str:
    try:
        return f"{date.astimezone(ZoneInfo('Europe/Paris')):%d/%m/%Y %H:%M}"
    except (ZoneInfoNotFoundError, ValueError, OverflowError):
        return f"{date:%d/%m/%Y %H:%M} UTC"


def _lire_message_joint(
    piece: PieceExtraite, message: Message, contexte: Contexte, profondeur: int
) -> None:
    if profondeur + 1 > contexte.limites.profondeur_max:
        ajouter_erreur(
            piece,
            f"Message transféré imbriqué sur plus de {contexte.limites.profondeur_max} niveaux : "
            "conservé, non lu.",
        )
        return
    entetes = entetes_depuis(message)
    premier_rang = len(contexte.pieces) + 1
    corps, methode = lire_message(message, contexte, profondeur + 1)
    lignes = [
        f"De : {entetes.expediteur}" if entetes.expediteur else "",
        f"À : {entetes.destinataires}" if entetes.destinataires else "",
        f"Date : {_heure_locale(entetes.date)}" if entetes.date else "",
        f"Objet : {entetes.objet}" if entetes.objet else "",
    ]
    jointes = [p.nom for p in contexte.pieces[premier_rang - 1 :]]
    if jointes:
        lignes.append("Pièces jointes : " + ", ".join(jointes[:50]))
    texte = "\n".join(ligne for ligne in lignes if ligne) + "\n\n" + corps
    appliquer(piece, Lecture(texte=texte.strip(), methode=methode), contexte.limites)
    if methode == "aucune":
        piece.methode = "texte"
