"""Courriels MIME : le point d'entrée, qui assemble les étapes.

Chaque étape a son module : en-têtes (`entetes`, `mots_encodes`), parties MIME (`parties`),
corps et messages transférés (`corps`), pièces jointes (`pieces`, `archives`), messages
automatiques (`automatiques`). Les noms publics d'avant le découpage restent importables d'ici.
"""

from __future__ import annotations

from collections.abc import Callable

from connecteurs.ocr import LecteurOCR
from courrier.extraction.archives import lister_zip
from courrier.extraction.automatiques import reconnaitre
from courrier.extraction.bureautique import OLE2
from courrier.extraction.commun import (
    NOMS_FORMATS,
    assainir,
    format_par_signature,
    nombre,
    tronquer,
)
from courrier.extraction.corps import lire_message
from courrier.extraction.entetes import (
    LONGUEURS,
    a_des_entetes,
    analyser_message,
    commence_par_un_entete,
    entetes_depuis,
    lire_entetes,
    separer,
)
from courrier.extraction.mots_encodes import decoder_entete, decoder_mots_encodes
from courrier.extraction.outlook import est_un_msg, extraire_msg
from courrier.extraction.pieces import Contexte
from noyau.domaine import EntetesCourrier, Limites, ResultatExtraction

__all__ = [
    "decoder_entete",
    "decoder_mots_encodes",
    "extraire_courriel",
    "lire_entetes",
    "lister_zip",
]


def extraire_courriel(
    contenu: bytes,
    deposer: Callable[[bytes], str],
    limites: Limites,
    ocr: LecteurOCR,
) -> ResultatExtraction:
    """Texte, pièces jointes et en-têtes d'un courriel.

    Jamais d'exception pour un mauvais fichier : chaque problème devient une raison écrite.
    """
    if est_un_msg(contenu):
        return extraire_msg(contenu, deposer, limites, ocr)
    refus = _refus_non_mime(contenu)
    if refus is not None:
        return assainir(ResultatExtraction(echec=True, erreurs=[refus], entetes=EntetesCourrier()))
    message, remarques = analyser_message(contenu)
    if message is None:
        return assainir(
            ResultatExtraction(echec=True, erreurs=remarques, entetes=EntetesCourrier())
        )
    if not a_des_entetes(message):
        return assainir(
            ResultatExtraction(
                echec=True,
                erreurs=[
                    "Le fichier ne ressemble pas à un courriel (aucun en-tête de message "
                    "reconnu) : conservé tel quel, texte non lu."
                ],
                entetes=EntetesCourrier(),
            )
        )
    contexte = Contexte(deposer=deposer, limites=limites, ocr=ocr, erreurs=list(remarques))
    if b"\x00" in separer(contenu)[0]:
        contexte.signaler(
            "Les en-têtes du courriel contiennent des octets nuls (NUL) : ils sont retirés des "
            "valeurs lues ; l'original est conservé tel quel."
        )
    resultat = ResultatExtraction(entetes=entetes_depuis(message), automatique=reconnaitre(message))
    destinataires = resultat.entetes.destinataires if resultat.entetes else ""
    if destinataires.endswith("…") and len(destinataires) >= LONGUEURS["destinataires"] - 50:
        contexte.signaler(
            "La liste des destinataires est anormalement longue : seul son début est gardé "
            "dans le registre ; l'original complet est conservé."
        )
    texte, methode = lire_message(message, contexte, 0)
    texte, raison = tronquer(texte, limites)
    resultat.texte = texte
    resultat.methode = methode if texte.strip() else "aucune"
    if raison:
        contexte.signaler(raison)
    _signaler_le_contenu(contexte, texte, limites)
    resultat.pieces = contexte.pieces
    resultat.erreurs = contexte.erreurs
    return assainir(resultat)


def _signaler_le_contenu(contexte: Contexte, texte: str, limites: Limites) -> None:
    """Un courriel sans texte propre, ou aux pièces trop nombreuses : la secrétaire le sait."""
    if not texte.strip():
        if contexte.pieces:
            contexte.signaler(
                "Le courriel n'a pas de texte propre : son contenu est dans les pièces jointes."
            )
        else:
            contexte.signaler("Le courriel est vide : ni texte ni pièce jointe.")
    if contexte.non_analysees:
        contexte.signaler(
            f"Le courriel compte {nombre(contexte.analysees + contexte.non_analysees)} pièces "
            f"jointes : seules les {nombre(limites.pieces_max)} premières ont été analysées, "
            "les autres sont conservées sans être lues."
        )


def _refus_non_mime(contenu: bytes) -> str | None:
    if not contenu or not contenu.strip():
        return "Le fichier est vide : rien à lire."
    if contenu.startswith(OLE2):
        # Un .msg Outlook (OLE2 lui aussi) a été lu plus haut par `extraire_msg`.
        return (
            "Document Microsoft Office de l'ancien format (OLE2), pas un courriel : "
            "conservé tel quel, texte non lu."
        )
    if commence_par_un_entete(contenu):
        return None
    format_ = format_par_signature(contenu[:1024])
    if format_ is not None:
        return (
            "Ce fichier n'est pas un courriel mais un fichier "
            f"{NOMS_FORMATS.get(format_, format_)} : conservé tel quel, texte non lu."
        )
    return None
