"""Le courrier d'une nuit d'essai : quelques courriels (certains avec un PDF joint) et quelques
lettres numérisées, fabriqués ici, petits, pour que chaque essai reste rapide.

Les mêmes octets à chaque essai : un courriel se reconnaît à son Message-ID, un scan à
l'empreinte sha256 de son fichier.
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from functools import cache

from PIL import Image, ImageDraw, ImageFont

from courrier.fabrique_pdf import pdf_de_texte

ARRIVEE = datetime(2026, 11, 19, 22, 15, tzinfo=UTC)
DPI = 150  # assez pour Tesseract, et l'OCR d'une lettre reste sous la seconde


@dataclass(frozen=True)
class Courriel:
    message_id: str
    contenu: bytes
    recu_le: datetime


@dataclass(frozen=True)
class Scan:
    nom: str
    contenu: bytes

    @property
    def empreinte(self) -> str:
        return hashlib.sha256(self.contenu).hexdigest()


# (expéditeur, objet, corps, titre du PDF joint ou "")
_COURRIELS = [
    (
        "Claire Martin <claire.martin@exemple.example>",
        "Demande de copie d'acte de naissance",
        "Madame, Monsieur,\nje sollicite une copie intégrale de mon acte de naissance.\n",
        "",
    ),
    (
        "Jean Dupont <jean.dupont@exemple.example>",
        "Nid de poule rue des Tilleuls",
        "Bonjour,\nun nid de poule dangereux s'est formé devant le 12 rue des Tilleuls.\n",
        "Photo et plan du nid de poule, rue des Tilleuls",
    ),
    (
        "Comité des fêtes <comite@fetes-exemple.example>",
        "Réservation de la salle pour un loto",
        "Bonjour,\nnous souhaitons réserver la salle des fêtes pour notre loto de mars.\n",
        "",
    ),
    (
        "Paul Bernard <paul.bernard@exemple.example>",
        "Bruit la nuit place de l'Église",
        "Madame le Maire,\nle bruit nocturne du bar de la place nous empêche de dormir.\n",
        "Pétition des riverains contre le bruit",
    ),
    (
        "Préfecture <pref@prefecture-loiret.example>",
        "Circulaire élections municipales",
        "Mesdames et Messieurs les maires,\nveuillez trouver la circulaire électorale.\n",
        "",
    ),
    (
        "Sophie Leroy <sophie.leroy@exemple.example>",
        "Inscription scolaire de ma fille",
        "Bonjour,\nje souhaite inscrire ma fille à l'école communale à la rentrée.\n",
        "",
    ),
]

_SCANS = [
    (
        "lettre-urbanisme.png",
        [
            "Monsieur le Maire,",
            "Objet : demande de permis de construire",
            "Je vous adresse ma demande pour une extension",
            "de ma maison au 4 chemin des Vignes.",
            "Veuillez agréer mes salutations. Marc Petit",
        ],
    ),
    (
        "lettre-cimetiere.png",
        [
            "Madame, Monsieur,",
            "Objet : renouvellement de concession",
            "La concession de ma famille au cimetière",
            "arrive à échéance. Je souhaite la renouveler.",
            "Cordialement, Anne Moreau",
        ],
    ),
    (
        "lettre-voirie.png",
        [
            "Monsieur le Maire,",
            "Objet : éclairage public en panne",
            "Le lampadaire de la rue du Moulin ne fonctionne",
            "plus depuis une semaine. Merci d'intervenir.",
            "Bien à vous, Luc Garnier",
        ],
    ),
]


@cache
def courriels() -> tuple[Courriel, ...]:
    resultat = []
    for i, (expediteur, objet, corps, piece) in enumerate(_COURRIELS):
        m = EmailMessage()
        m["From"] = expediteur
        m["To"] = "mairie@saint-aubin-sur-loire.example"
        m["Subject"] = objet
        m["Message-ID"] = f"<preuve-{i}@exemple.example>"
        m["Date"] = (ARRIVEE + timedelta(minutes=i)).strftime("%a, %d %b %Y %H:%M:%S +0000")
        m.set_content(corps)
        if piece:
            m.add_attachment(
                pdf_de_texte([[piece]], taille=16, premiere_ligne=122),
                maintype="application",
                subtype="pdf",
                filename=f"piece-{i}.pdf",
            )
        resultat.append(
            Courriel(m["Message-ID"], m.as_bytes(), ARRIVEE + timedelta(minutes=i, seconds=30))
        )
    return tuple(resultat)


@cache
def scans() -> tuple[Scan, ...]:
    return tuple(Scan(nom, image_de_lettre(lignes)) for nom, lignes in _SCANS)


def image_de_lettre(lignes: list[str]) -> bytes:
    """Une lettre en PNG à 150 dpi : largeur d'une page A4, hauteur du seul texte."""
    police = ImageFont.truetype("DejaVuSans.ttf", 24)
    image = Image.new("L", (1240, 80 + 44 * len(lignes)), 255)
    dessin = ImageDraw.Draw(image)
    for i, ligne in enumerate(lignes):
        dessin.text((90, 40 + 44 * i), ligne, font=police, fill=0)
    tampon = io.BytesIO()
    image.save(tampon, format="PNG", dpi=(DPI, DPI))
    return tampon.getvalue()
