"""Les trois lettres de particuliers de la démonstration, mises en page à la française."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from courrier.demo.catalogue import COMMUNE, CP, attendu_de
from courrier.demo.papier import Feuille, numeriser

if TYPE_CHECKING:
    from PIL import Image


@dataclass(frozen=True)
class Lettre:
    """Une lettre de particulier, mise en page à la française."""

    fichier: str
    expediteur: tuple[str, ...]
    destinataire: tuple[str, ...]
    date: str
    objet: str
    paragraphes: tuple[str, ...]
    politesse: str
    signataire: str
    famille: str = "sans"
    pj: str | None = None


DESTINATAIRE = (
    "Monsieur le Maire",
    "Mairie de Saint-Aubin-sur-Loire",
    "1 place de l'Église",
    f"{CP} {COMMUNE}",
)

LETTRES = (
    Lettre(
        "scans/lettre-cimetiere.png",
        ("Odette Rousseau", "7 rue des Tilleuls", f"{CP} {COMMUNE}", "Tél. : 02 61 91 48 02"),
        DESTINATAIRE,
        f"{COMMUNE}, le 4 novembre 2026",
        attendu_de("scans/lettre-cimetiere.png").objet,
        (
            "Mon époux, Henri Rousseau, est décédé le 28 octobre dernier et a été inhumé "
            "provisoirement dans le caveau de ma belle-famille. Je souhaiterais aujourd'hui "
            "acquérir une concession au cimetière communal afin que nous puissions y reposer "
            "tous les deux.",
            "Je sollicite donc l'attribution d'une concession trentenaire de deux places, si "
            "possible dans l'allée des Cyprès, près de la tombe de mes parents. Je vous serais "
            "reconnaissante de bien vouloir m'indiquer les emplacements disponibles, le tarif en "
            "vigueur ainsi que les démarches à accomplir pour le transfert du cercueil.",
            "Je me tiens à la disposition du secrétariat de mairie pour tout rendez-vous, de "
            "préférence le matin.",
        ),
        "Je vous prie d'agréer, Monsieur le Maire, l'expression de mes salutations respectueuses.",
        "Odette Rousseau",
        famille="serif",
    ),
    Lettre(
        "scans/lettre-bruit.jpg",
        ("Thierry Garnier", "15 chemin des Prés", f"{CP} {COMMUNE}"),
        DESTINATAIRE,
        f"{COMMUNE}, le 9 novembre 2026",
        attendu_de("scans/lettre-bruit.jpg").objet,
        (
            "Je me permets de vous solliciter au sujet des aboiements incessants des deux chiens "
            "de mon voisin, domicilié au 17 chemin des Prés. Depuis le début du mois de "
            "septembre, ces animaux, laissés dehors toute la nuit, aboient presque sans "
            "interruption entre 22 heures et 3 heures du matin.",
            "J'ai tenté à plusieurs reprises de régler ce problème à l'amiable, de vive voix puis "
            "par un courrier remis en main propre le 12 octobre, sans aucun résultat. Mon épouse "
            "et moi ne parvenons plus à dormir, et notre fille, qui passe son baccalauréat cette "
            "année, en souffre également.",
            "Ces bruits de voisinage portent atteinte à la tranquillité publique. Je vous demande "
            "donc de bien vouloir intervenir auprès de ce voisin, dans le cadre de vos pouvoirs "
            "de police, afin que cette situation cesse. À défaut, je me verrai contraint de "
            "saisir le conciliateur de justice.",
        ),
        "Dans l'attente de votre intervention, je vous prie de croire, Monsieur le Maire, à "
        "l'assurance de ma considération distinguée.",
        "Thierry Garnier",
    ),
    Lettre(
        "scans/lettre-aide-sociale.pdf",
        ("Nadia Benali", "3 impasse du Moulin", f"{CP} {COMMUNE}", "Tél. : 06 39 98 77 10"),
        (
            "Monsieur le Maire",
            "Président du Centre communal d'action sociale",
            "Mairie de Saint-Aubin-sur-Loire",
            f"{CP} {COMMUNE}",
        ),
        f"{COMMUNE}, le 10 novembre 2026",
        attendu_de("scans/lettre-aide-sociale.pdf").objet,
        (
            "Je suis mère de deux enfants de 6 et 9 ans, que j'élève seule. J'ai perdu mon emploi "
            "d'aide à domicile au mois d'août et le premier versement de mon allocation de "
            "retour à l'emploi a pris du retard.",
            "Je n'arrive plus à faire face à mes charges. Ma facture de fioul de 640 euros reste "
            "impayée et mon fournisseur refuse de me livrer avant son règlement, alors que "
            "l'hiver arrive. J'ai également du mal à assurer les courses de la fin du mois.",
            "Je sollicite donc une aide financière exceptionnelle du CCAS pour le chauffage, "
            "ainsi que des bons alimentaires si cela est possible. Je peux vous fournir tous les "
            "justificatifs nécessaires (avis d'imposition, attestation de France Travail, "
            "factures) et je suis disponible pour un rendez-vous avec l'assistante sociale.",
        ),
        "En vous remerciant par avance de l'attention que vous porterez à ma demande, je vous "
        "prie d'agréer, Monsieur le Maire, l'expression de mes salutations respectueuses.",
        "Nadia Benali",
        famille="serif",
        pj="P.J. : attestation de France Travail, facture de fioul",
    ),
)


def mettre_en_page(lettre: Lettre, feuille: Feuille, graine: int) -> None:
    f, pt = lettre.famille, 12
    gras = f"{f}-gras"
    y = feuille.lignes(25, 20, lettre.expediteur, f, pt, 1.3)
    y = feuille.lignes(112, max(y + 14, 58), lettre.destinataire, f, pt, 1.3)
    feuille.texte(112, y + 10, lettre.date, f, pt)
    y += 30
    etiquette = "Objet : "
    feuille.trace.append(etiquette + lettre.objet)
    feuille.texte(25, y, etiquette, gras, pt, noter=False)
    dx = feuille.largeur(etiquette, gras, pt) if feuille.dessiner else 0
    feuille.texte(25 + dx, y, lettre.objet, f, pt, noter=False)
    y += 16
    feuille.texte(25, y, "Monsieur le Maire,", f, pt)
    y += 11
    for paragraphe in lettre.paragraphes:
        y = feuille.paragraphe(25, y, 160, paragraphe, f, pt, retrait=10) + 3.5
    y = feuille.paragraphe(25, y, 160, lettre.politesse, f, pt, retrait=10) + 6
    feuille.signature(118, y, graine)
    feuille.texte(118, y + 20, lettre.signataire, f, pt)
    if lettre.pj:
        feuille.texte(25, y + 36, lettre.pj, f, 10)


def scan_lettre(lettre: Lettre, graine: int, angle: float) -> Image.Image:
    feuille = Feuille()
    mettre_en_page(lettre, feuille, graine)
    return numeriser(feuille.image, graine, angle)
