"""Messages Outlook : .msg (extract-msg) et winmail.dat au format TNEF (tnefparse).

Un .msg arrive en pièce jointe, dans le dossier de dépôt des courriels ou dans celui des scans ;
un winmail.dat en pièce jointe. Leur corps et les pièces qu'ils portent (lues si ce sont des
documents, profondeur bornée par `Limites.profondeur_max`) rejoignent le texte lu.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Callable
from datetime import UTC, datetime
from email.utils import getaddresses
from typing import Any

from connecteurs.ocr import LecteurOCR
from courrier.extraction.bureautique import genre_bureautique, illisible, lire_bureautique
from courrier.extraction.commun import (
    Lecture,
    assainir,
    assainir_entetes,
    extension,
    format_par_signature,
    nom_affichable,
    nombre,
    taille_lisible,
    tronquer,
)
from courrier.extraction.texte import decoder_octets, html_en_texte, nettoyer_ligne
from noyau.domaine import EntetesCourrier, Limites, PieceExtraite, ResultatExtraction

OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
JOINTES_LUES_MAX = 50

# extract-msg signale chaque propriété inattendue en journal : bruit pour l'exploitant.
logging.getLogger("extract_msg").setLevel(logging.ERROR)


def est_un_msg(contenu: bytes) -> bool:
    return contenu.startswith(OLE2) and "__substg1.0_".encode("utf-16-le") in contenu


def _ouvrir_msg(octets: bytes) -> Any:
    import extract_msg

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return extract_msg.openMsg(octets, delayAttachments=False)


def _texte(valeur: Any) -> str:
    if valeur is None:
        return ""
    if isinstance(valeur, bytes):
        return decoder_octets(valeur)
    return str(valeur)


def _corps_msg(message: Any) -> str:
    corps = _texte(getattr(message, "body", None)).strip()
    if corps:
        return corps
    html = getattr(message, "htmlBody", None)
    if html:
        return html_en_texte(_texte(html))
    return ""


def _entetes_msg(message: Any) -> EntetesCourrier:
    expediteur = nettoyer_ligne(_texte(message.sender), 500)
    adresses = getaddresses([expediteur])
    adresse = adresses[0][1].lower() if adresses and "@" in adresses[0][1] else ""
    destinataires = ", ".join(_texte(v) for v in (message.to, message.cc) if v)
    date = message.date if isinstance(message.date, datetime) else None
    if date is not None and date.tzinfo is not None:
        date = date.astimezone(UTC)
    elif date is not None:
        date = date.replace(tzinfo=UTC)
    return assainir_entetes(
        EntetesCourrier(
            expediteur=expediteur,
            expediteur_adresse=adresse,
            destinataires=nettoyer_ligne(destinataires, 2000),
            objet=nettoyer_ligne(_texte(message.subject), 1000),
            message_id=nettoyer_ligne(_texte(getattr(message, "messageId", "")), 1000),
            in_reply_to=nettoyer_ligne(_texte(getattr(message, "inReplyTo", "")), 1000),
            date=date,
        )
    )


def entetes_msg(contenu: bytes) -> EntetesCourrier:
    """Les en-têtes d'un .msg, pour l'enregistrement ; jamais d'exception."""
    try:
        message = _ouvrir_msg(contenu)
        try:
            return _entetes_msg(message)
        finally:
            message.close()
    except Exception:
        return EntetesCourrier()


def _jointes_msg(message: Any) -> list[tuple[str, bytes]]:
    jointes = []
    for jointe in message.attachments:
        nom = _texte(getattr(jointe, "longFilename", None) or getattr(jointe, "shortFilename", ""))
        donnees = getattr(jointe, "data", None)
        if isinstance(donnees, bytes):
            jointes.append((nom, donnees))
        elif donnees is not None and hasattr(donnees, "exportBytes"):
            # Un message joint au message : on le garde en .msg pour le relire plus bas.
            try:
                jointes.append((nom or "message.msg", donnees.exportBytes()))
            except Exception:
                jointes.append((nom or "message.msg", b""))
    return jointes


def _en_tete_lisible(entetes: EntetesCourrier) -> list[str]:
    return [
        ligne
        for ligne in (
            f"De : {entetes.expediteur}" if entetes.expediteur else "",
            f"À : {entetes.destinataires}" if entetes.destinataires else "",
            f"Date : {entetes.date:%d/%m/%Y %H:%M} UTC" if entetes.date else "",
            f"Objet : {entetes.objet}" if entetes.objet else "",
        )
        if ligne
    ]


def lire_msg(octets: bytes, limites: Limites, ocr: LecteurOCR, profondeur: int = 0) -> Lecture:
    """Un .msg joint (ou déposé comme document) : en-têtes, corps, puis ses pièces lues."""
    try:
        message = _ouvrir_msg(octets)
    except Exception as e:
        return illisible("Message Outlook .msg", e)
    try:
        entetes = _entetes_msg(message)
        corps = _corps_msg(message)
        jointes = _jointes_msg(message)
    except Exception as e:
        return illisible("Message Outlook .msg", e)
    finally:
        message.close()
    return _assembler(_en_tete_lisible(entetes), corps, jointes, limites, ocr, profondeur)


def _assembler(
    lignes: list[str],
    corps: str,
    jointes: list[tuple[str, bytes]],
    limites: Limites,
    ocr: LecteurOCR,
    profondeur: int,
) -> Lecture:
    """En-tête lisible, liste des pièces, corps, puis le texte lu de chaque pièce emballée."""
    if jointes:
        lignes = [
            *lignes,
            "Pièces jointes : "
            + ", ".join(nom_affichable(n, i + 1) for i, (n, _) in enumerate(jointes[:50])),
        ]
    lecture = Lecture(texte="\n".join(lignes) + "\n\n" + corps, methode="bureautique")
    _ajouter_jointes(lecture, jointes, limites, ocr, profondeur)
    lecture.texte = lecture.texte.strip()
    return lecture


def lire_tnef(octets: bytes, limites: Limites, ocr: LecteurOCR, profondeur: int = 0) -> Lecture:
    """Un winmail.dat : le corps (texte, HTML ou RTF) et les pièces qu'il emballe."""
    from tnefparse.tnef import TNEF

    try:
        tnef = TNEF(octets)
        jointes = [
            (_texte(a.long_filename() or a.name), bytes(a.data or b"")) for a in tnef.attachments
        ]
        corps = _texte(tnef.body).replace("\x00", "").strip()
        if not corps and tnef.htmlbody:
            corps = html_en_texte(_texte(tnef.htmlbody))
        rtf = tnef.rtfbody if not corps else None
    except Exception as e:
        return illisible("Pièce Outlook winmail.dat (TNEF)", e)
    if rtf:
        lu = lire_bureautique(bytes(rtf), "rtf", limites, ocr, profondeur + 1)
        corps = lu.texte
    lecture = _assembler([], corps, jointes, limites, ocr, profondeur)
    if not lecture.texte:
        lecture.erreurs.append("Le winmail.dat ne contient ni texte ni pièce.")
    return lecture


def _ajouter_jointes(
    lecture: Lecture,
    jointes: list[tuple[str, bytes]],
    limites: Limites,
    ocr: LecteurOCR,
    profondeur: int,
) -> None:
    """Le texte de chaque pièce emballée, à la suite, sous son nom ; ses raisons à la suite."""
    for rang, (nom, octets) in enumerate(jointes, start=1):
        affiche = nom_affichable(nom, rang)
        if rang > JOINTES_LUES_MAX:
            lecture.erreurs.append(
                f"Seules les {nombre(JOINTES_LUES_MAX)} premières pièces emballées sont lues."
            )
            break
        lu = lire_jointe(octets, nom, limites, ocr, profondeur + 1)
        if lu.texte.strip():
            lecture.texte += f"\n\n--- Pièce « {affiche} » ---\n{lu.texte}"
        for raison in lu.erreurs:
            lecture.erreurs.append(f"« {affiche} » : {raison}")


def lire_jointe(
    octets: bytes, nom: str, limites: Limites, ocr: LecteurOCR, profondeur: int
) -> Lecture:
    """Une pièce emballée dans un .msg ou un winmail.dat ; les images ne sont pas lues."""
    from courrier.extraction.pdf import lire_pdf

    if profondeur > limites.profondeur_max:
        return Lecture(
            erreurs=[
                f"pièce imbriquée sur plus de {limites.profondeur_max} niveaux : "
                "conservée dans l'original, non lue."
            ]
        )
    if not octets:
        return Lecture(erreurs=["pièce vide (0 octet)."])
    if len(octets) > limites.taille_max_piece:
        return Lecture(
            erreurs=[f"pièce trop volumineuse ({taille_lisible(len(octets))}) : non lue."]
        )
    ext = extension(nom)
    format_ = format_par_signature(octets)
    if format_ == "pdf":
        return lire_pdf(octets, limites, ocr)
    genre = genre_bureautique(octets, ext, "")
    if genre is not None:
        return lire_bureautique(octets, genre, limites, ocr, profondeur)
    if format_ is None and ext in ("txt", "csv", "htm", "html", "eml", "ics", "vcf", ""):
        texte = decoder_octets(octets[: limites.caracteres_max * 4])
        if ext in ("htm", "html"):
            texte = html_en_texte(texte)
        if b"\x00" not in octets[:8192]:
            return Lecture(texte=texte, methode="texte")
    # Images (logos, signatures) et autres formats : gardés dans l'original, sans lecture.
    return Lecture()


def extraire_msg(
    contenu: bytes, deposer: Callable[[bytes], str], limites: Limites, ocr: LecteurOCR
) -> ResultatExtraction:
    """Un .msg déposé comme courriel : en-têtes, corps, et ses pièces rangées dans l'archive."""
    try:
        message = _ouvrir_msg(contenu)
        try:
            entetes = _entetes_msg(message)
            corps = _corps_msg(message)
            jointes = _jointes_msg(message)
        finally:
            message.close()
    except Exception as e:
        lu = illisible("Fichier Outlook .msg", e)
        return assainir(
            ResultatExtraction(echec=True, erreurs=lu.erreurs, entetes=EntetesCourrier())
        )
    resultat = ResultatExtraction(entetes=entetes)
    texte, raison = tronquer(corps.strip(), limites)
    resultat.texte = texte
    resultat.methode = "bureautique" if texte else "aucune"
    if raison:
        resultat.erreurs.append(raison)
    for rang, (nom, octets) in enumerate(jointes[: limites.pieces_max], start=1):
        piece = PieceExtraite(
            rang=rang,
            nom=nom_affichable(nom, rang),
            type_mime="application/octet-stream",
            taille=len(octets),
            empreinte=deposer(octets),
        )
        lu = lire_jointe(octets, nom, limites, ocr, 1)
        piece.texte, coupe = tronquer(lu.texte, limites)
        piece.methode = lu.methode if piece.texte.strip() else "aucune"
        piece.pages = lu.pages
        piece.confiance_ocr = lu.confiance
        raisons = [*lu.erreurs, *([coupe] if coupe else [])]
        piece.erreur = " ".join(raisons) or None
        piece.en_ligne = format_par_signature(octets) in ("png", "jpeg", "gif", "bmp")
        resultat.pieces.append(piece)
    if len(jointes) > limites.pieces_max:
        resultat.erreurs.append(
            f"Le message compte {nombre(len(jointes))} pièces jointes : seules les "
            f"{nombre(limites.pieces_max)} premières sont rangées à part ; l'original est "
            "conservé en entier."
        )
    if not texte and not resultat.pieces:
        resultat.erreurs.append("Le message Outlook est vide : ni texte ni pièce jointe.")
    return assainir(resultat)
