"""Le catalogue du courrier de démonstration : chaque fichier, ce qu'il contient et comment il
devrait être classé (pour les tests et la démonstration)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta, timezone
from pathlib import Path

ICI = Path(__file__).resolve().parent  # le dossier `courrier/demo`
MAIRIE = "mairie@saint-aubin-sur-loire.example"
COMMUNE = "Saint-Aubin-sur-Loire"
CP = "45570"
CET = timezone(timedelta(hours=1))  # novembre : heure d'hiver, UTC+1
CRLF = b"\r\n"


@dataclass(frozen=True)
class Attendu:
    """Ce qu'un fichier de démonstration contient et comment il devrait être classé."""

    fichier: str  # chemin relatif au dossier `courrier/demo`
    objet: str  # Subject du courriel, ou ligne « Objet : » du scan (sans le libellé)
    expediteur: str  # nom affiché
    adresse: str | None  # adresse électronique (None pour le papier)
    categorie: str  # identifiant de `regles/`
    urgence: str  # haute, normale, basse
    reponse_attendue: bool


CATALOGUE: tuple[Attendu, ...] = (
    Attendu(
        "courriels/01-etat-civil-acte-naissance.eml",
        "Demande de copie intégrale d'acte de naissance",
        "Camille Lefèvre",
        "camille.lefevre88@particulier.example",
        "etat_civil",
        "normale",
        True,
    ),
    Attendu(
        "courriels/02-voirie-fuite-nid-de-poule.eml",
        "URGENT : fuite d'eau et nid-de-poule dangereux rue des Vignes",
        "Gérard Moreau",
        "gerard.moreau45@particulier.example",
        "voirie",
        "haute",
        True,
    ),
    Attendu(
        "courriels/03-salle-des-fetes-loto.eml",
        "Demande de réservation de la salle des fêtes pour un loto le 12 décembre 2026",
        "Comité des fêtes de Saint-Aubin",
        "comite.fetes.saintaubin@particulier.example",
        "salles_associations",
        "normale",
        True,
    ),
    Attendu(
        "courriels/04-urbanisme-extension.eml",
        "Extension de ma maison : déclaration préalable ou permis de construire ?",
        "Jean-Luc Bézier",
        "jl.bezier@particulier.example",
        "urbanisme",
        "normale",
        True,
    ),
    Attendu(
        "courriels/05-prefecture-elections.eml",
        "Circulaire : élection présidentielle de 2027 – calendrier et organisation"
        " des bureaux de vote",
        "Préfecture du Loiret – Bureau des élections",
        "pref-elections@prefecture-loiret.example",
        "elections",
        "normale",
        True,
    ),
    Attendu(
        "courriels/06-ecole-cantine.eml",
        "Inscription de mes enfants à la cantine scolaire",
        "Sophie Martin",
        "sophie.martin.staubin@particulier.example",
        "ecole",
        "normale",
        True,
    ),
    Attendu(
        "courriels/07-publicite-illuminations.eml",
        "Offre spéciale communes : -30 % sur les illuminations de Noël 🎄",
        "Urbanéo Équipement des collectivités",
        "newsletter@urbaneo-collectivites.example",
        "publicite",
        "basse",
        False,
    ),
    Attendu(
        "scans/lettre-cimetiere.png",
        "Demande de concession au cimetière communal",
        "Odette Rousseau",
        None,
        "cimetiere",
        "normale",
        True,
    ),
    Attendu(
        "scans/lettre-bruit.jpg",
        "Nuisances sonores nocturnes dues aux aboiements de chiens",
        "Thierry Garnier",
        None,
        "tranquillite",
        "normale",
        True,
    ),
    Attendu(
        "scans/lettre-aide-sociale.pdf",
        "Demande d'aide financière exceptionnelle auprès du CCAS",
        "Nadia Benali",
        None,
        "social",
        "haute",
        True,
    ),
    Attendu(
        "scans/facture-entreprise.tif",
        "Remplacement de deux fenêtres de l'école communale",
        "Menuiserie Dubreuil",
        None,
        "finances",
        "normale",
        False,
    ),
)


def attendu_de(fichier: str) -> Attendu:
    return next(a for a in CATALOGUE if a.fichier == fichier)
