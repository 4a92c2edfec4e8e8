"""Les PDF de la démonstration, écrits par `courrier.fabrique_pdf` : le formulaire « né
numérique » joint au courriel de l'association (Helvetica, une vraie couche texte), la fiche de
cantine et la lettre d'aide sociale passées au scanner (image seule)."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from courrier.demo.catalogue import CET
from courrier.demo.documents_papier import fiche_cantine
from courrier.demo.lettres_papier import LETTRES, scan_lettre
from courrier.demo.papier import Feuille, numeriser
from courrier.fabrique_pdf import A4, Metadonnees, document, octets, pdf_d_images

if TYPE_CHECKING:
    from PIL import Image

HAUTEUR = A4[1]


def pdf_demande_reservation() -> bytes:
    """Un formulaire d'une page (A4) rempli par l'association, avec un texte extractible.

    Coordonnées comptées depuis le bas de la page, comme dans le PDF lui-même."""
    pdf = document(
        Metadonnees(
            cree_le=datetime(2026, 11, 4, 18, 15, tzinfo=CET),
            producteur="courrier.demo",
            titre="Demande de réservation de la salle des fêtes",
            auteur="Comité des fêtes de Saint-Aubin-sur-Loire",
        )
    )
    pdf.add_page()
    pdf.set_line_width(0.6)

    def ecrire(x: float, y: float, texte: str, gras: bool = False, taille: float = 10) -> None:
        pdf.set_font("Helvetica", "B" if gras else "", taille)
        pdf.text(x, HAUTEUR - y, texte)

    def trait(x1: float, y1: float, x2: float, y2: float) -> None:
        pdf.line(x1, HAUTEUR - y1, x2, HAUTEUR - y2)

    def cadre(x: float, y: float, largeur: float, hauteur: float) -> None:
        pdf.rect(x, HAUTEUR - y - hauteur, largeur, hauteur)

    ecrire(56, 790, "Mairie de Saint-Aubin-sur-Loire", True, 11)
    ecrire(56, 776, "1 place de l'Église - 45570 Saint-Aubin-sur-Loire", False, 9)
    ecrire(56, 740, "DEMANDE DE RÉSERVATION DE LA SALLE DES FÊTES", True, 15)
    ecrire(
        56, 722, "À retourner au secrétariat de mairie au moins un mois avant la date.", False, 9
    )

    champs = [
        ("Demandeur (association ou particulier) :", "Comité des fêtes de Saint-Aubin-sur-Loire"),
        ("Représenté par :", "Martine Chevalier, présidente"),
        ("Adresse :", "5 allée des Peupliers, 45570 Saint-Aubin-sur-Loire"),
        ("Téléphone :", "06 39 98 55 04"),
        ("Courriel :", "comite.fetes.saintaubin@particulier.example"),
        ("Nature de la manifestation :", "Loto annuel au profit du Téléthon"),
        ("Date souhaitée :", "samedi 12 décembre 2026"),
        ("Horaires :", "de 14 h à 23 h"),
        ("Installation la veille :", "vendredi 11 décembre 2026 à partir de 18 h"),
        ("Nombre de personnes attendues :", "150"),
        ("Matériel demandé :", "30 tables, 150 chaises, sonorisation"),
        ("Buvette :", "oui (autorisation de débit de boissons temporaire demandée)"),
    ]
    y = 690.0
    for libelle, valeur in champs:
        ecrire(56, y, libelle, True)
        ecrire(262, y, valeur)
        trait(262, y - 3, 540, y - 3)
        y -= 24

    y -= 8
    ecrire(56, y, "Tarif demandé :", True)
    cadre(160, y - 1, 8, 8)
    trait(161, y, 167, y + 6)
    trait(167, y, 161, y + 6)
    ecrire(174, y, "association de la commune (gratuité une fois par an)")
    cadre(160, y - 17, 8, 8)
    ecrire(174, y - 16, "particulier ou association extérieure : 250 € (caution 500 €)")

    y -= 52
    engagement = [
        "Je soussignée, Martine Chevalier, m'engage à respecter le règlement intérieur de la",
        "salle, à rendre les locaux propres et rangés, à respecter le voisinage après 22 h et à",
        "fournir une attestation d'assurance responsabilité civile avant la manifestation.",
    ]
    for ligne in engagement:
        ecrire(56, y, ligne)
        y -= 14
    y -= 10
    ecrire(56, y, "Fait à Saint-Aubin-sur-Loire, le 4 novembre 2026")
    ecrire(360, y, "Signature :")
    ecrire(360, y - 16, "Martine Chevalier", True)
    paraphe = ((430, y - 40), (445, y - 22), (460, y - 48), (480, y - 30))
    pdf.bezier([(x, HAUTEUR - yy) for x, yy in paraphe])

    cadre(56, 60, 484, 80)
    ecrire(64, 126, "Cadre réservé à la mairie", True, 9)
    ecrire(64, 108, "Reçue le : ..................    Décision :  accord  /  refus", False, 9)
    ecrire(
        64,
        90,
        "Clés remises le : ..................    État des lieux : ..................",
        False,
        9,
    )
    ecrire(64, 72, "Visa du maire :", False, 9)
    return octets(pdf)


def _jpeg(image: Image.Image, qualite: int) -> bytes:
    """Sans densité JFIF, comme Pillow l'écrivait dans le PDF : les mêmes octets d'image."""
    sortie = io.BytesIO()
    image.save(sortie, "JPEG", quality=qualite)
    return sortie.getvalue()


def pdf_fiche_cantine() -> bytes:
    """La fiche d'inscription passée au scanner de l'imprimante familiale : PDF d'image seule."""
    feuille = Feuille(dpi=200)
    fiche_cantine(feuille)
    image = numeriser(feuille.image, 61, -0.8, bords=False)
    meta = Metadonnees(
        cree_le=datetime(2026, 11, 9, 11, 40, 12, tzinfo=UTC),
        producteur="HP Smart",
        titre="Numérisation",
    )
    return pdf_d_images([_jpeg(image, 70)], 200, meta=meta)


def pdf_lettre_aide_sociale() -> bytes:
    """La lettre au CCAS passée au copieur de la mairie, envoyée en PDF vers le dossier des
    scans."""
    aide = LETTRES[2]
    image = scan_lettre(aide, 37, 0.45)
    meta = Metadonnees(
        cree_le=datetime(2026, 11, 10, 16, 5, tzinfo=UTC),
        producteur="Canon iR-ADV C3826",
        titre="SCAN_20261112_0912",
    )
    return pdf_d_images([_jpeg(image, 75)], 300, meta=meta)
