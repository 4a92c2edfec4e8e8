"""Une nuit de courrier reproductible pour le banc de performance (`preuves/bench.py`).

Sur 20 éléments : 16 courriels (dont 4 avec un PDF joint, l'un de ces PDF n'étant qu'une image
de page, sans couche texte) et 4 lettres numérisées (PNG A4 à 300 dpi). Pour 1 000 éléments :
800 courriels, 200 PDF joints dont 50 images seules, 200 scans. L'élément de rang i ne dépend
que de la graine et de i : une nuit de 250 éléments est le début d'une nuit de 1 000, et les
pages rendues se gardent dans un cache d'un appel à l'autre.

Les lettres sont tirées au sort dans un petit catalogue de sujets de mairie (état civil,
voirie, urbanisme, salles, bruit, école, cimetière…), avec expéditeurs, adresses et dates
variés, pour que l'analyse (règles ou LLM) ne voie pas vingt fois la même lettre.
"""

from __future__ import annotations

import io
import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from courrier.fabrique_pdf import pdf_d_images, pdf_de_texte

DPI = 300
A4_PIXELS = (2480, 3508)  # 210 × 297 mm à 300 dpi
A4_POINTS = (595.0, 842.0)
ARRIVEE = datetime(2026, 11, 19, 18, 0, tzinfo=UTC)
MAIRIE = "mairie@saint-aubin-sur-loire.example"

# Rangs (modulo 20) : lettres numérisées, courriels avec PDF, et parmi eux le PDF image seule.
RANGS_SCANS = frozenset({4, 9, 14, 19})
RANGS_PDF = frozenset({1, 6, 11, 16})
RANG_PDF_IMAGE = 6

PRENOMS = [
    "Claire", "Jean", "Sophie", "Paul", "Anne", "Luc", "Marie", "Pierre", "Isabelle", "Marc",
    "Nathalie", "Julien", "Céline", "François", "Hélène", "Thomas", "Élodie", "Nicolas",
    "Camille", "Antoine", "Aurélie", "Benoît", "Chantal", "Gérard", "Josiane", "Rémi",
]  # fmt: skip
NOMS = [
    "Martin", "Dupont", "Bernard", "Leroy", "Moreau", "Petit", "Garnier", "Lefèvre", "Roux",
    "Fournier", "Girard", "Bonnet", "Lambert", "Fontaine", "Chevalier", "Robin", "Masson",
    "Mercier", "Blanc", "Guérin", "Boyer", "Gauthier", "Perrin", "Morel", "Rousseau",
]  # fmt: skip
VOIES = [
    "rue des Tilleuls", "chemin des Vignes", "rue du Moulin", "place de l'Église",
    "allée des Peupliers", "route de Blois", "impasse des Lilas", "rue Victor-Hugo",
    "avenue de la Gare", "rue du Lavoir", "chemin de la Loire", "rue Jean-Jaurès",
]  # fmt: skip

# Sujets : (objet, paragraphes). Quelques mots-clés (« nid de poule », « acte de naissance »,
# « loto », « bruit ») orientent l'analyse du LLM de test (preuves/serveur_llm.py).
SUJETS: list[tuple[str, list[str]]] = [
    (
        "Demande de copie d'acte de naissance",
        [
            "Je sollicite une copie intégrale de mon acte de naissance, né le {date} dans "
            "votre commune, pour la constitution d'un dossier de passeport.",
            "Je vous remercie de bien vouloir me l'adresser à mon domicile.",
        ],
    ),
    (
        "Nid de poule {voie}",
        [
            "Un nid de poule dangereux s'est formé devant le {numero} {voie}. Deux cyclistes "
            "ont déjà failli tomber cette semaine.",
            "Pourriez-vous faire intervenir les services techniques rapidement ?",
        ],
    ),
    (
        "Réservation de la salle des fêtes pour un loto",
        [
            "Notre association souhaite réserver la salle des fêtes le samedi {date} pour "
            "son loto annuel, de 14 h à 23 h.",
            "Nous attendons environ cent vingt personnes et disposons d'une assurance.",
        ],
    ),
    (
        "Bruit la nuit {voie}",
        [
            "Depuis plusieurs semaines, le bruit nocturne provenant du {numero} {voie} nous "
            "empêche de dormir, souvent jusqu'à deux heures du matin.",
            "Nous vous demandons de bien vouloir intervenir auprès des occupants.",
        ],
    ),
    (
        "Demande de permis de construire",
        [
            "Je vous adresse ma demande de permis de construire pour une extension de "
            "trente mètres carrés de ma maison au {numero} {voie}.",
            "Vous trouverez ci-joint les plans et la notice descriptive du projet.",
        ],
    ),
    (
        "Renouvellement de concession au cimetière",
        [
            "La concession de ma famille au cimetière communal arrive à échéance le {date}.",
            "Je souhaite la renouveler pour trente ans et connaître le tarif applicable.",
        ],
    ),
    (
        "Éclairage public en panne",
        [
            "Le lampadaire situé face au {numero} {voie} ne fonctionne plus depuis une "
            "semaine ; le passage est très sombre le soir.",
            "Merci de faire le nécessaire auprès du service compétent.",
        ],
    ),
    (
        "Inscription scolaire",
        [
            "Je souhaite inscrire mon enfant à l'école communale pour la rentrée prochaine, "
            "en classe de petite section.",
            "Pouvez-vous m'indiquer les pièces à fournir et les dates d'inscription ?",
        ],
    ),
    (
        "Demande de subvention pour notre association",
        [
            "L'association sportive que je préside sollicite une subvention de fonctionnement "
            "pour la saison à venir.",
            "Le budget prévisionnel et le dernier bilan financier sont joints à ce courrier.",
        ],
    ),
    (
        "Élagage d'un arbre dangereux",
        [
            "Un grand chêne planté sur le domaine communal, {voie}, penche dangereusement "
            "au-dessus de notre toiture depuis la dernière tempête.",
            "Nous vous demandons de procéder à son élagage avant l'hiver.",
        ],
    ),
    (
        "Demande d'emploi saisonnier",
        [
            "Étudiant en deuxième année, je me permets de vous proposer ma candidature pour un "
            "emploi saisonnier aux espaces verts cet été.",
            "Mon curriculum vitae est joint ; je reste disponible pour un entretien.",
        ],
    ),
    (
        "Stationnement gênant {voie}",
        [
            "Des véhicules stationnent chaque jour sur le trottoir devant le {numero} {voie}, "
            "obligeant les poussettes à passer sur la chaussée.",
            "Serait-il possible d'installer des potelets ou de verbaliser ?",
        ],
    ),
    (
        "Offre de services : fournitures de bureau",
        [
            "Notre société propose aux collectivités des fournitures de bureau à prix "
            "négociés, livrées sous quarante-huit heures.",
            "Notre catalogue est joint ; une remise de quinze pour cent est offerte jusqu'au "
            "{date}.",
        ],
    ),
    (
        "Fuite d'eau sur la voie publique",
        [
            "Une fuite d'eau importante s'écoule depuis hier soir au niveau du {numero} "
            "{voie} ; la chaussée commence à se creuser.",
            "Il y a urgence : merci de prévenir le service des eaux.",
        ],
    ),
    (
        "Demande de rendez-vous avec Madame le Maire",
        [
            "Je souhaiterais obtenir un rendez-vous avec Madame le Maire au sujet du projet de "
            "lotissement prévu près de {voie}.",
            "Je suis disponible en fin de journée, du lundi au vendredi.",
        ],
    ),
    (
        "Déclaration de chien dangereux",
        [
            "Conformément à la réglementation, je déclare la détention d'un chien de deuxième "
            "catégorie à mon domicile, {numero} {voie}.",
            "Vous trouverez ci-joint l'attestation d'aptitude et le certificat de vaccination.",
        ],
    ),
]

APPELS = ["Madame, Monsieur,", "Madame le Maire,", "Monsieur le Maire,", "Bonjour,"]
POLITESSES = [
    "Veuillez agréer, Madame, Monsieur, l'expression de mes salutations distinguées.",
    "Je vous prie d'agréer mes sincères salutations.",
    "Avec mes remerciements anticipés, bien cordialement.",
    "Dans l'attente de votre réponse, recevez mes salutations respectueuses.",
]


@dataclass(frozen=True)
class Lettre:
    rang: int
    expediteur: str  # « Prénom Nom »
    adresse_postale: str
    email: str
    objet: str
    lignes: list[str]  # le corps, ligne à ligne (appel, paragraphes, politesse, signature)


@dataclass
class Nuit:
    """Ce qui a été déposé, et les pages que l'OCR devra lire (pour la borne Tesseract)."""

    courriels: int = 0
    avec_pdf: int = 0
    pdf_image: int = 0
    scans: int = 0
    pages_ocr: list[Path] | None = None

    @property
    def elements(self) -> int:
        return self.courriels + self.scans


def genre(rang: int) -> str:
    """« scan », « pdf_image », « pdf_texte » ou « courriel » selon le rang."""
    k = rang % 20
    if k in RANGS_SCANS:
        return "scan"
    if k == RANG_PDF_IMAGE:
        return "pdf_image"
    if k in RANGS_PDF:
        return "pdf_texte"
    return "courriel"


def lettre(graine: int, rang: int) -> Lettre:
    hasard = random.Random(f"{graine}:{rang}")
    prenom, nom = hasard.choice(PRENOMS), hasard.choice(NOMS)
    voie = hasard.choice(VOIES)
    numero = hasard.randint(1, 120)
    jour = ARRIVEE.date() + timedelta(days=hasard.randint(-9000, 120))
    valeurs = {"voie": voie, "numero": numero, "date": jour.strftime("%d/%m/%Y")}
    objet_modele, paragraphes = hasard.choice(SUJETS)
    objet = objet_modele.format(**valeurs)
    corps = [p.format(**valeurs) for p in paragraphes]
    if hasard.random() < 0.5:
        corps.append(
            f"Je reste joignable au 06 {hasard.randint(10, 99)} {hasard.randint(10, 99)} "
            f"{hasard.randint(10, 99)} {hasard.randint(10, 99)} pour tout renseignement."
        )
    lignes = [hasard.choice(APPELS), "", *_replier(corps), "", hasard.choice(POLITESSES)]
    lignes += ["", f"{prenom} {nom}"]
    email = f"{_ascii(prenom)}.{_ascii(nom)}{hasard.randint(1, 99)}@exemple.example".lower()
    return Lettre(
        rang=rang,
        expediteur=f"{prenom} {nom}",
        adresse_postale=f"{numero} {voie}, 41000 Saint-Aubin-sur-Loire",
        email=email,
        objet=objet,
        lignes=lignes,
    )


def _ascii(texte: str) -> str:
    import unicodedata

    return unicodedata.normalize("NFKD", texte).encode("ascii", "ignore").decode()


def _replier(paragraphes: list[str], largeur: int = 72) -> list[str]:
    lignes: list[str] = []
    for paragraphe in paragraphes:
        ligne = ""
        for mot in paragraphe.split():
            if ligne and len(ligne) + 1 + len(mot) > largeur:
                lignes.append(ligne)
                ligne = mot
            else:
                ligne = f"{ligne} {mot}" if ligne else mot
        lignes.append(ligne)
        lignes.append("")
    return lignes[:-1]


# -- rendus --------------------------------------------------------------------------------------


def page_a4(let: Lettre) -> Image.Image:
    """La lettre rendue sur une page A4 à 300 dpi, en niveaux de gris (texte en 11 points)."""
    police = ImageFont.truetype("DejaVuSans.ttf", 46)
    image = Image.new("L", A4_PIXELS, 255)
    dessin = ImageDraw.Draw(image)
    y = 240
    en_tete = [let.expediteur, let.adresse_postale, let.email]
    for ligne in en_tete:
        dessin.text((240, y), ligne, font=police, fill=0)
        y += 66
    y += 120
    dessin.text((1400, y), f"Saint-Aubin-sur-Loire, le {ARRIVEE:%d/%m/%Y}", font=police, fill=0)
    y += 200
    dessin.text((240, y), f"Objet : {let.objet}", font=police, fill=0)
    y += 160
    for ligne in let.lignes:
        dessin.text((240, y), ligne, font=police, fill=0)
        y += 70
    return image


def png_300dpi(image: Image.Image) -> bytes:
    tampon = io.BytesIO()
    image.save(tampon, format="PNG", dpi=(DPI, DPI), compress_level=1)
    return tampon.getvalue()


def pdf_image_seule(image: Image.Image) -> bytes:
    """Un PDF d'une page A4 qui ne contient que l'image de la page (pas de couche texte)."""
    return pdf_d_images([image], DPI, format_=A4_POINTS)


def pdf_texte(let: Lettre) -> bytes:
    """Un PDF d'une page avec couche texte (Helvetica, WinAnsi), lu sans OCR."""
    lignes = [let.expediteur, let.adresse_postale, "", f"Objet : {let.objet}", "", *let.lignes]
    return pdf_de_texte([lignes], taille=11, interligne=14, premiere_ligne=72)


def courriel(graine: int, let: Lettre, piece: tuple[str, bytes] | None) -> bytes:
    m = EmailMessage()
    m["From"] = f"{let.expediteur} <{let.email}>"
    m["To"] = MAIRIE
    m["Subject"] = let.objet
    m["Message-ID"] = f"<banc-{graine}-{let.rang}@exemple.example>"
    m["Date"] = (ARRIVEE + timedelta(seconds=37 * let.rang)).strftime("%a, %d %b %Y %H:%M:%S +0000")
    m.set_content("\n".join(let.lignes) + "\n")
    if piece is not None:
        nom, octets = piece
        m.add_attachment(octets, maintype="application", subtype="pdf", filename=nom)
        m.set_boundary(f"=====banc-{graine}-{let.rang}=====")  # sinon tirée au hasard
    return m.as_bytes()


# -- la nuit -------------------------------------------------------------------------------------


def _fichier_en_cache(cache: Path, nom: str, fabriquer: object) -> Path:
    chemin = cache / nom
    if not chemin.exists():
        assert callable(fabriquer)
        provisoire = chemin.with_suffix(chemin.suffix + ".part")
        provisoire.write_bytes(fabriquer())
        provisoire.replace(chemin)
    return chemin


def element(graine: int, rang: int, cache: Path) -> tuple[str, Path, Path | None]:
    """(genre, fichier à déposer, page à lire par OCR ou None), fabriqués une seule fois."""
    cache.mkdir(parents=True, exist_ok=True)
    sorte = genre(rang)
    let = lettre(graine, rang)
    if sorte == "scan":
        page = _fichier_en_cache(cache, f"scan-{rang:05d}.png", lambda: png_300dpi(page_a4(let)))
        return sorte, page, page
    if sorte == "pdf_image":
        page = _fichier_en_cache(cache, f"page-{rang:05d}.png", lambda: png_300dpi(page_a4(let)))

        def avec_image() -> bytes:
            with Image.open(page) as image:
                return courriel(graine, let, (f"scan-{rang}.pdf", pdf_image_seule(image)))

        return sorte, _fichier_en_cache(cache, f"courriel-{rang:05d}.eml", avec_image), page
    piece = (f"piece-{rang}.pdf", pdf_texte(let)) if sorte == "pdf_texte" else None
    eml = _fichier_en_cache(cache, f"courriel-{rang:05d}.eml", lambda: courriel(graine, let, piece))
    return sorte, eml, None


def deposer(graine: int, elements: int, cache: Path, depot_eml: Path, depot_scans: Path) -> Nuit:
    """Dépose les `elements` premiers éléments de la nuit (liens durs vers le cache)."""
    depot_eml.mkdir(parents=True, exist_ok=True)
    depot_scans.mkdir(parents=True, exist_ok=True)
    nuit = Nuit(pages_ocr=[])
    assert nuit.pages_ocr is not None
    for rang in range(elements):
        sorte, fichier, page = element(graine, rang, cache)
        dossier = depot_scans if sorte == "scan" else depot_eml
        cible = dossier / fichier.name
        try:
            cible.hardlink_to(fichier)
        except OSError:
            cible.write_bytes(fichier.read_bytes())
        if page is not None:
            nuit.pages_ocr.append(page)
        if sorte == "scan":
            nuit.scans += 1
        else:
            nuit.courriels += 1
            nuit.avec_pdf += sorte in ("pdf_image", "pdf_texte")
            nuit.pdf_image += sorte == "pdf_image"
    return nuit
