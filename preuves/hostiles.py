"""Des entrées hostiles, fabriquées ici en quelques secondes, et une relève qui les traverse.

`generer` écrit dans deux dossiers de dépôt (courriels .eml, scans) : une bombe ZIP jointe,
un PDF de 5 000 pages, une image annonçant 30 000 × 30 000 pixels, un PDF chiffré, un PDF
tronqué, une pièce jointe de plus de 50 Mio, 10 000 destinataires, un objet d'un million de
caractères sur une seule ligne, des octets NUL, des noms de fichier piégés (`..`, caractères
de contrôle) ; et deux courriels ordinaires.

`python -m preuves.hostiles` fait une relève de ce jeu dans un dossier temporaire et dit,
fichier par fichier, le numéro, le statut et la raison, puis la mémoire et la durée.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import random
import resource
import struct
import sys
import tempfile
import time
import zipfile
import zlib
from dataclasses import asdict, dataclass, field
from email.message import EmailMessage
from io import BytesIO
from pathlib import Path

from courrier.fabrique_pdf import LETTRE_US, pdf_de_texte
from preuves.pdf import chiffre, premiere_page_repetee, tronque

TAILLE_BOMBE = 200 * 1024 * 1024  # octets de zéros dans le seul fichier de la bombe ZIP
PAGES_PDF = 5_000
COTE_IMAGE = 30_000
TAILLE_PIECE_ENORME = 51 * 1024 * 1024  # au-delà de Limites.taille_max_piece (50 Mio)
DESTINATAIRES = 10_000
TAILLE_OBJET = 1024 * 1024

NOM_SCAN_PIEGE = "lettre..\x07\x1b[31m..\nurgente.png"
NOM_PIECE_PIEGE = "../../etc/passwd\x07"
NORMAUX = ("normal_demande_acte.eml", "normal_salle_des_fetes.eml")
CORPUS = "corpus partagé"

_MO = 1024 * 1024


# --- PDF : faits par fpdf2, puis multipliés, chiffrés ou coupés ----------------------------------


def pdf_pages(pages: int, texte: str = "Courrier de la mairie, page de test") -> bytes:
    """`pages` pages qui partagent un seul flux de contenu : un petit fichier, beaucoup de pages."""
    return premiere_page_repetee(pdf_de_texte([[texte]], taille=12, format_=LETTRE_US), pages)


def pdf_chiffre() -> bytes:
    """Chiffré par pikepdf (gestionnaire standard, RC4 40 bits) : mot de passe inconnu."""
    return chiffre(pdf_de_texte([["Texte confidentiel"]], taille=12, format_=LETTRE_US), r=2)


# --- Images -----------------------------------------------------------------------------------


def _bloc_png(genre: bytes, donnees: bytes) -> bytes:
    crc = zlib.crc32(genre + donnees) & 0xFFFFFFFF
    return struct.pack(">I", len(donnees)) + genre + donnees + struct.pack(">I", crc)


def png(largeur: int, hauteur: int, donnees: bytes) -> bytes:
    """PNG en niveaux de gris 8 bits ; `donnees` : lignes déjà filtrées, non compressées."""
    entete = struct.pack(">IIBBBBB", largeur, hauteur, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _bloc_png(b"IHDR", entete)
        + _bloc_png(b"IDAT", zlib.compress(donnees, 9))
        + _bloc_png(b"IEND", b"")
    )


def png_bombe() -> bytes:
    """30 000 × 30 000 annoncés, quelques lignes seulement dans un IDAT minuscule."""
    return png(COTE_IMAGE, COTE_IMAGE, b"\x00" * (COTE_IMAGE + 1) * 4)


def png_blanc(cote: int = 200) -> bytes:
    return png(cote, cote, (b"\x00" + b"\xff" * cote) * cote)


# --- Courriels --------------------------------------------------------------------------------


def _entetes(objet: str, rang: int) -> bytes:
    return (
        f"From: Usager {rang} <usager{rang}@exemple.example>\n"
        f"To: mairie@commune-exemple.example\n"
        f"Subject: {objet}\n"
        f"Date: Thu, 19 Nov 2026 22:{rang:02d}:00 +0100\n"
        f"Message-ID: <hostile-{rang}@exemple.example>\n"
        "MIME-Version: 1.0\n"
    ).encode()


def _multipart(objet: str, rang: int, texte: str, piece_entetes: str) -> tuple[bytes, bytes]:
    """(début jusqu'aux en-têtes de la pièce, fin) ; le corps de la pièce va entre les deux."""
    debut = (
        _entetes(objet, rang)
        + (
            'Content-Type: multipart/mixed; boundary="SEPARATEUR"\n\n'
            "--SEPARATEUR\n"
            "Content-Type: text/plain; charset=utf-8\n"
            "Content-Transfer-Encoding: 8bit\n\n"
            f"{texte}\n"
            "--SEPARATEUR\n"
            f"{piece_entetes}"
            "Content-Transfer-Encoding: base64\n\n"
        ).encode()
    )
    return debut, b"\n--SEPARATEUR--\n"


def _courriel_normal(objet: str, corps: str, rang: int) -> bytes:
    message = EmailMessage()
    message["From"] = f"Usager {rang} <usager{rang}@exemple.example>"
    message["To"] = "mairie@commune-exemple.example"
    message["Subject"] = objet
    message["Date"] = f"Thu, 19 Nov 2026 21:{rang:02d}:00 +0100"
    message["Message-ID"] = f"<normal-{rang}@exemple.example>"
    message.set_content(corps)
    return message.as_bytes()


def _ecrire_bombe_zip(chemin: Path) -> None:
    tampon = BytesIO()
    zeros = bytes(_MO)
    with (
        zipfile.ZipFile(tampon, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive,
        archive.open("rapport_annuel.txt", "w") as membre,
    ):
        for _ in range(TAILLE_BOMBE // _MO):
            membre.write(zeros)
    debut, fin = _multipart(
        "Rapport annuel (archive jointe)",
        1,
        "Bonjour,\nveuillez trouver le rapport annuel en pièce jointe.\n",
        'Content-Type: application/zip; name="rapport.zip"\n'
        'Content-Disposition: attachment; filename="rapport.zip"\n',
    )
    chemin.write_bytes(debut + base64.encodebytes(tampon.getvalue()) + fin)


def _ecrire_piece_enorme(chemin: Path) -> None:
    """La pièce est encodée en base64 par blocs : jamais plus d'un Mio en mémoire."""
    debut, fin = _multipart(
        "Plans du projet",
        2,
        "Bonjour,\nvoici les plans du projet.\n",
        'Content-Type: application/pdf; name="plans.pdf"\n'
        'Content-Disposition: attachment; filename="plans.pdf"\n',
    )
    bloc = 57 * 18_396  # multiple de 57 : chaque bloc donne des lignes entières de 76 signes
    alea = random.Random(3).randbytes(bloc)
    with chemin.open("wb") as f:
        f.write(debut)
        reste = TAILLE_PIECE_ENORME
        premier = True
        while reste > 0:
            morceau = alea[: min(bloc, reste)]
            if premier:
                morceau = b"%PDF-1.4\n" + morceau[9:]
                premier = False
            f.write(base64.encodebytes(morceau))
            reste -= len(morceau)
        f.write(fin)


def _courriels(dossier: Path) -> dict[str, str]:
    hostiles: dict[str, str] = {}

    nom = "bombe_zip.eml"
    _ecrire_bombe_zip(dossier / nom)
    hostiles[nom] = "bombe ZIP jointe (200 Mio de zéros dans un seul fichier)"

    nom = "piece_jointe_51_Mio.eml"
    _ecrire_piece_enorme(dossier / nom)
    hostiles[nom] = "pièce jointe de 51 Mio (limite 50 Mio), encodée en base64"

    nom = "dix_mille_destinataires.eml"
    destinataires = ",\n ".join(
        f"Agent {i} <agent{i}@commune-exemple.example>" for i in range(DESTINATAIRES)
    )
    (dossier / nom).write_bytes(
        _entetes("Invitation au conseil", 3).replace(
            b"To: mairie@commune-exemple.example", b"To: " + destinataires.encode()
        )
        + "Content-Type: text/plain; charset=utf-8\n\nBonjour à tous.\n".encode()
    )
    hostiles[nom] = "10 000 destinataires dans To"

    nom = "objet_un_mio.eml"
    objet = ("reclamation urgente " * (TAILLE_OBJET // 20 + 1))[:TAILLE_OBJET]
    (dossier / nom).write_bytes(
        _entetes(objet, 4) + b"Content-Type: text/plain; charset=utf-8\n\nVoir l'objet.\n"
    )
    hostiles[nom] = "en-tête Subject d'un Mio sur une seule ligne"

    nom = "octets_nul.eml"
    (dossier / nom).write_bytes(
        b"From: Usager\x00 5 <usager5@exemple.example>\n"
        b"To: mairie@commune-exemple.example\x00\n"
        b"Subject: Demande\x00 de rendez-vous\x00\x00\n"
        b"Date: Thu, 19 Nov 2026 22:05:00 +0100\n"
        b"Message-ID: <hostile-5\x00@exemple.example>\n"
        b"MIME-Version: 1.0\n"
        b"Content-Type: text/plain; charset=utf-8\n\n"
        b"Bonjour,\x00\x00 je souhaite\x00 un rendez-vous.\n" + b"\x00" * 4096 + b"\nMerci.\n"
    )
    hostiles[nom] = "octets NUL dans les en-têtes et le corps"

    nom = "piece_nom_piege.eml"
    debut, fin = _multipart(
        "Pièce au nom piégé",
        6,
        "Bonjour,\nci-joint le document demandé.\n",
        f'Content-Type: text/plain; name="{NOM_PIECE_PIEGE}"\n'
        f'Content-Disposition: attachment; filename="{NOM_PIECE_PIEGE}"\n',
    )
    (dossier / nom).write_bytes(
        debut + base64.encodebytes(b"root:x:0:0:root:/root:/bin/bash\n") + fin
    )
    hostiles[nom] = "pièce jointe nommée « ../../etc/passwd\\x07 »"

    (dossier / NORMAUX[0]).write_bytes(
        _courriel_normal(
            "Demande de copie d'acte de naissance",
            "Madame, Monsieur,\nje sollicite une copie intégrale de mon acte de naissance.\n",
            7,
        )
    )
    (dossier / NORMAUX[1]).write_bytes(
        _courriel_normal(
            "Réservation de la salle des fêtes",
            "Bonjour,\nnous souhaitons réserver la salle des fêtes pour le loto de mars.\n",
            8,
        )
    )
    return hostiles


def _scans(dossier: Path) -> dict[str, str]:
    hostiles: dict[str, str] = {}
    nom = "cinq_mille_pages.pdf"
    (dossier / nom).write_bytes(pdf_pages(PAGES_PDF))
    hostiles[nom] = "PDF de 5 000 pages"

    nom = "image_30000x30000.png"
    (dossier / nom).write_bytes(png_bombe())
    hostiles[nom] = "PNG annonçant 30 000 × 30 000 pixels (bombe de décompression)"

    nom = "chiffre.pdf"
    (dossier / nom).write_bytes(pdf_chiffre())
    hostiles[nom] = "PDF chiffré, mot de passe inconnu"

    nom = "tronque.pdf"
    (dossier / nom).write_bytes(tronque(pdf_pages(3, "Lettre de réclamation")))
    hostiles[nom] = "PDF coupé en deux"

    (dossier / NOM_SCAN_PIEGE).write_bytes(png_blanc())
    hostiles[NOM_SCAN_PIEGE] = "nom de fichier avec « .. » et caractères de contrôle"
    return hostiles


def generer(dossier_eml: Path, dossier_scans: Path) -> dict[str, str]:
    """Écrit le jeu hostile ; rend nom de fichier → ce qui est hostile (vide : ordinaire)."""
    dossier_eml.mkdir(parents=True, exist_ok=True)
    dossier_scans.mkdir(parents=True, exist_ok=True)
    jeu = _courriels(dossier_eml)
    jeu.update(_scans(dossier_scans))
    jeu.update(dict.fromkeys(NORMAUX, ""))
    return jeu


# --- La relève --------------------------------------------------------------------------------


@dataclass
class Ligne:
    fichier: str
    hostile: str
    lignes: int  # lignes du registre portant les octets de ce fichier
    numero: str = ""
    statut: str = ""
    erreur: str = ""
    nom_affiche: str = ""
    octets_gardes: bool = False

    @property
    def reussie(self) -> bool:
        if self.lignes != 1 or not self.octets_gardes:
            return False
        if not self.hostile:
            return self.statut == "extrait"
        if self.hostile == CORPUS:  # lu, ou illisible avec sa raison
            return self.statut == "extrait" or bool(self.erreur.strip())
        return self.statut in {"erreur", "extrait"} and bool(self.erreur.strip())


@dataclass
class Bilan:
    lignes: list[Ligne] = field(default_factory=list)
    erreurs_releve: list[str] = field(default_factory=list)
    verification: list[str] = field(default_factory=list)
    rss_principal_mo: float = 0.0
    rss_enfants_mo: float = 0.0
    duree_s: float = 0.0
    generation_s: float = 0.0


def _arreter_forkserver() -> None:
    """Le forkserver attend ses processus d'extraction ; l'arrêter (et l'attendre) fait
    compter leur pic de mémoire dans RUSAGE_CHILDREN du processus principal."""
    from multiprocessing import forkserver

    serveur = getattr(forkserver, "_forkserver", None)
    arret = getattr(serveur, "_stop", None)
    if arret is not None:
        arret()


def copier_corpus(corpus: Path, dossier_eml: Path, dossier_scans: Path) -> dict[str, str]:
    """Chaque fichier du corpus partagé (courriels, scans), à côté du jeu hostile."""
    jeu: dict[str, str] = {}
    for sous, cible in (("emails", dossier_eml), ("scans", dossier_scans)):
        for fichier in sorted((corpus / sous).iterdir()):
            if not fichier.is_file() or fichier.name in ("MANIFEST.tsv", "README.md"):
                continue
            nom = f"corpus-{fichier.name}"
            (cible / nom).write_bytes(fichier.read_bytes())
            jeu[nom] = CORPUS
    return jeu


def lancer(racine: Path, processus: int = 2, corpus: Path | None = None) -> Bilan:
    """Génère le jeu sous `racine` (plus le corpus partagé, s'il est donné) et en fait une
    relève ; tout reste sous `racine`."""
    from connecteurs.dossiers import SourceEml, SourceScans
    from courrier.extraction import lire_entetes
    from courrier.releve import extraire_en_attente, relever_source
    from noyau.domaine import Limites
    from registre.registre import Registre

    bilan = Bilan()
    depart = time.monotonic()
    eml, scans = racine / "eml", racine / "scans"
    jeu = generer(eml, scans)
    if corpus is not None:
        jeu.update(copier_corpus(corpus, eml, scans))
    bilan.generation_s = time.monotonic() - depart
    empreintes = {}
    for nom in jeu:
        chemin = eml / nom if (eml / nom).exists() else scans / nom
        empreintes[nom] = hashlib.sha256(chemin.read_bytes()).hexdigest()

    depart = time.monotonic()
    registre = Registre.ouvrir(f"sqlite:///{racine / 'registre.sqlite3'}", racine / "donnees")
    try:
        for source in (SourceEml(eml, 0), SourceScans(scans, 0)):
            bilan.erreurs_releve += relever_source(source, registre, lire_entetes).erreurs
        extraire_en_attente(registre, Limites(), processus=processus)
        bilan.duree_s = time.monotonic() - depart
        _arreter_forkserver()
        courriers = registre.courriers()
        for nom, hostile in jeu.items():
            les_siens = [c for c in courriers if c.empreinte == empreintes[nom]]
            ligne = Ligne(fichier=nom, hostile=hostile, lignes=len(les_siens))
            if les_siens:
                c = les_siens[0]
                ligne.numero, ligne.statut = c.numero, c.statut
                # Une pièce jointe piégée dit sa raison sur sa propre ligne (table des pièces).
                raisons = [c.erreur, *(f"Pièce « {p.nom} » : {p.erreur}" for p in c.pieces)]
                ligne.erreur = " ".join(r for r in raisons if r.strip() and not r.endswith(": "))
                ligne.nom_affiche = c.nom_fichier
                contenu = registre.archive.lire(c.empreinte)
                ligne.octets_gardes = hashlib.sha256(contenu).hexdigest() == empreintes[nom]
            bilan.lignes.append(ligne)
        bilan.verification = registre.verifier()
    finally:
        registre.fermer()
    bilan.rss_principal_mo = _pic_memoire_mo()
    bilan.rss_enfants_mo = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return bilan


def main(arguments: list[str] | None = None) -> int:
    analyse = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    analyse.add_argument("--dossier", type=Path, help="dossier de travail (sinon temporaire)")
    analyse.add_argument("--json", action="store_true", help="bilan en JSON sur une ligne")
    analyse.add_argument(
        "--corpus", type=Path, help="ajouter chaque fichier de ce corpus (../shared/corpus)"
    )
    options = analyse.parse_args(arguments)
    if options.dossier is not None:
        bilan = lancer(options.dossier, corpus=options.corpus)
    else:
        with tempfile.TemporaryDirectory(prefix="hostiles-") as dossier:
            bilan = lancer(Path(dossier), corpus=options.corpus)
    reussis = sum(ligne.reussie for ligne in bilan.lignes)
    echecs = len(bilan.lignes) - reussis
    if options.json:
        donnees = asdict(bilan)
        for ligne, brute in zip(bilan.lignes, donnees["lignes"], strict=True):
            brute["reussie"] = ligne.reussie
        print(json.dumps(donnees, ensure_ascii=True))
        return 0
    for ligne in bilan.lignes:
        raison = " ".join(ligne.erreur.split())
        raison = raison if len(raison) <= 160 else raison[:159] + "…"
        marque = "ok  " if ligne.reussie else "ÉCHEC"
        print(
            f"{marque} {ascii(ligne.fichier)[:40]:42} {ligne.numero:12} {ligne.statut:8} {raison}"
        )
    for erreur in bilan.erreurs_releve:
        print(f"erreur de relève : {erreur}")
    for probleme in bilan.verification:
        print(f"registre : {probleme}")
    print(
        f"génération {bilan.generation_s:.1f} s ; relève {bilan.duree_s:.1f} s ; "
        f"pic mémoire : principal {bilan.rss_principal_mo:.0f} Mo, "
        f"extraction (enfants) {bilan.rss_enfants_mo:.0f} Mo"
    )
    print(f"{reussis} passed, {echecs} failed")
    return 1 if echecs or bilan.erreurs_releve or bilan.verification else 0


def _pic_memoire_mo() -> float:
    """Pic de mémoire résidente de ce processus-ci (VmHWM).

    Pas `getrusage(RUSAGE_SELF)` : sous Linux, son maximum survit à l'exec et compte donc la
    taille du processus parent au moment du fork (pytest, après des centaines de tests).
    """
    for ligne in Path("/proc/self/status").read_text(encoding="ascii").splitlines():
        if ligne.startswith("VmHWM:"):
            return int(ligne.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


if __name__ == "__main__":
    sys.exit(main())
