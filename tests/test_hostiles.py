"""Le jeu hostile de preuves/hostiles.py traverse une vraie relève (deux processus d'OCR).

La relève tourne dans un processus à part (`python -m preuves.hostiles --json`) : ses pics de
mémoire (RUSAGE_SELF, RUSAGE_CHILDREN) sont les siens, pas ceux de pytest ni d'autres essais.
Chaque fichier a sa ligne au registre, ses octets bruts archivés et, s'il est hostile, une
raison en français ; rien n'est écrit hors du dossier de données.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest

from preuves.hostiles import NOM_PIECE_PIEGE, NOM_SCAN_PIEGE
from registre.registre import Registre

pytestmark = pytest.mark.lent

RACINE = Path(__file__).resolve().parent.parent

# Mesuré (machine de développement, 16 cœurs, Limites() par défaut, 2 processus) :
# principal 342 Mo (la relève lit en entier le courriel de 70 Mo), extraction 876 Mo (le même
# courriel analysé par le parseur MIME de Python) ; génération 0,5 s, relève 3,4 s.
# Bornes : environ 1,5 fois la mesure, bien sous MEMOIRE_MAX_PROCESSUS (3 Gio).
PIC_PRINCIPAL_MO = 550
PIC_EXTRACTION_MO = 1300

MOTS_FRANCAIS = re.compile(
    r"\b(le|la|les|de|des|du|une?|est|pas|non|lue?s?|conservée?|seules?|fichier|pièce|"
    r"document|texte|pages?|image|courriel)\b",
    re.IGNORECASE,
)
NOMS_ANGLAIS = re.compile(r"Traceback|Error\b|Exception\b|\w+Error|\w+Warning")

# Dans /tmp, partagé, les noms que seule cette relève y laisserait (ceux de son jeu hostile).
SUSPECTS_TMP = re.compile(r"passwd|urgente|plans|bombe|cinq_mille|30000x30000|octets_nul|\x1b")

# artefacts/ : les captures que d'autres tests y écrivent (en même temps, sous pytest-xdist).
IGNORES = {
    ".git",
    ".venv",
    "__pycache__",
    ".pytest_cache",
    ".mypy_cache",
    ".ruff_cache",
    "artefacts",
}


def _arbre(racine: Path) -> set[str]:
    vus: set[str] = set()
    for dossier, sous, fichiers in os.walk(racine):
        sous[:] = [s for s in sous if s not in IGNORES]
        vus.update(os.path.join(dossier, f) for f in fichiers)
    return vus


def _hors_pytest(dossier: Path) -> set[str]:
    try:
        return {e.name for e in dossier.iterdir() if not e.name.startswith("pytest-of-")}
    except OSError:
        return set()


@pytest.fixture(scope="module")
def releve_hostile(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[dict[str, Any], Path, set[str], set[str]]:
    travail = tmp_path_factory.mktemp("hostiles")
    # La relève a un dossier temporaire à elle (TMPDIR) : tout ce qui y apparaît est d'elle,
    # même quand d'autres tests écrivent dans /tmp au même moment (pytest-xdist).
    tmp_prive = tmp_path_factory.mktemp("tmp-releve")
    tmp_systeme = Path(tempfile.gettempdir())
    avant_tmp, avant_depot = _hors_pytest(tmp_systeme), _arbre(RACINE)
    fini = subprocess.run(
        [sys.executable, "-m", "preuves.hostiles", "--dossier", str(travail), "--json"],
        cwd=RACINE,
        env=os.environ | {"TMPDIR": str(tmp_prive)},
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert fini.returncode == 0, fini.stderr[-4000:]
    bilan = json.loads(fini.stdout.strip().splitlines()[-1])
    nouveaux_depot = _arbre(RACINE) - avant_depot
    # Ce que la relève a mis dans son TMPDIR, plus, dans /tmp, ce qu'elle seule y aurait mis
    # sans passer par TMPDIR (un chemin « /tmp » écrit en dur).
    nouveaux_tmp = {e.name for e in tmp_prive.iterdir()} | {
        n for n in _hors_pytest(tmp_systeme) - avant_tmp if SUSPECTS_TMP.search(n)
    }
    return bilan, travail, nouveaux_tmp, nouveaux_depot


def test_la_releve_se_termine_et_le_registre_est_intact(
    releve_hostile: tuple[dict[str, Any], Path, set[str], set[str]],
) -> None:
    bilan, travail, _, _ = releve_hostile
    assert bilan["erreurs_releve"] == []
    assert bilan["verification"] == []
    registre = Registre.ouvrir(f"sqlite:///{travail / 'registre.sqlite3'}", travail / "donnees")
    try:
        assert registre.verifier() == []
        assert registre.a_extraire() == []
        assert registre.nombre() == len(bilan["lignes"])
        # les fichiers provisoires de l'extraction restent dans les données, et sont nettoyés
        assert list((registre.archive.racine.parent / "tmp").iterdir()) == []
    finally:
        registre.fermer()
    # les dépôts sont vides : tout est rangé dans traites/, rien n'est resté en route
    for depot in ("eml", "scans"):
        assert [p.name for p in (travail / depot).iterdir()] == ["traites"]


def test_chaque_fichier_a_une_ligne_et_ses_octets_bruts(
    releve_hostile: tuple[dict[str, Any], Path, set[str], set[str]],
) -> None:
    bilan, _, _, _ = releve_hostile
    assert len(bilan["lignes"]) == 13
    for ligne in bilan["lignes"]:
        assert ligne["lignes"] == 1, ligne["fichier"]
        assert ligne["octets_gardes"], ligne["fichier"]
        assert ligne["statut"] in {"extrait", "erreur"}, ligne["fichier"]
    ordinaires = [ligne for ligne in bilan["lignes"] if not ligne["hostile"]]
    assert len(ordinaires) == 2
    assert all(ligne["statut"] == "extrait" and ligne["reussie"] for ligne in ordinaires)


def test_chaque_entree_hostile_dit_pourquoi_en_francais(
    releve_hostile: tuple[dict[str, Any], Path, set[str], set[str]],
) -> None:
    bilan, _, _, _ = releve_hostile
    hostiles = [ligne for ligne in bilan["lignes"] if ligne["hostile"]]
    assert len(hostiles) == 11
    for ligne in hostiles:
        raison = ligne["erreur"]
        assert raison.strip(), ligne["fichier"]
        assert MOTS_FRANCAIS.search(raison), (ligne["fichier"], raison)
        assert not NOMS_ANGLAIS.search(raison), (ligne["fichier"], raison)
        assert ligne["reussie"], ligne["fichier"]
    par_fichier = {ligne["fichier"]: ligne for ligne in bilan["lignes"]}
    assert "bombe de décompression" in par_fichier["bombe_zip.eml"]["erreur"]
    assert "bombe de décompression" in par_fichier["image_30000x30000.png"]["erreur"]
    assert "mot de passe" in par_fichier["chiffre.pdf"]["erreur"]
    assert "tronqué" in par_fichier["tronque.pdf"]["erreur"]
    assert "500 premières pages" in par_fichier["cinq_mille_pages.pdf"]["erreur"]
    assert "trop volumineuse" in par_fichier["piece_jointe_51_Mio.eml"]["erreur"]
    assert "anormalement long" in par_fichier["objet_un_mio.eml"]["erreur"]
    assert "destinataires" in par_fichier["dix_mille_destinataires.eml"]["erreur"]
    assert "« passwd »" in par_fichier["piece_nom_piege.eml"]["erreur"]


def test_les_octets_nul_sont_signales(
    releve_hostile: tuple[dict[str, Any], Path, set[str], set[str]],
) -> None:
    bilan, _, _, _ = releve_hostile
    ligne = next(ligne for ligne in bilan["lignes"] if ligne["fichier"] == "octets_nul.eml")
    assert ligne["reussie"] and "NUL" in ligne["erreur"]


def test_les_noms_pieges_sont_neutralises(
    releve_hostile: tuple[dict[str, Any], Path, set[str], set[str]],
) -> None:
    bilan, travail, _, _ = releve_hostile
    scan = next(ligne for ligne in bilan["lignes"] if ligne["fichier"] == NOM_SCAN_PIEGE)
    assert scan["nom_affiche"] and scan["nom_affiche"].isprintable()
    assert "/" not in scan["nom_affiche"]
    # l'original est rangé sous son nom exact, dans le dossier de dépôt
    assert (travail / "scans" / "traites" / NOM_SCAN_PIEGE).is_file()
    registre = Registre.ouvrir(f"sqlite:///{travail / 'registre.sqlite3'}", travail / "donnees")
    try:
        pieces = [p for c in registre.courriers() for p in c.pieces]
    finally:
        registre.fermer()
    noms = {p.nom for p in pieces}
    assert "passwd" in noms and NOM_PIECE_PIEGE not in noms
    assert all(n.isprintable() and "/" not in n and ".." not in n for n in noms)


def test_rien_n_est_ecrit_hors_du_dossier_de_donnees(
    releve_hostile: tuple[dict[str, Any], Path, set[str], set[str]],
) -> None:
    _, travail, nouveaux_tmp, nouveaux_depot = releve_hostile
    assert nouveaux_depot == set()
    assert nouveaux_tmp == set()
    for nom in ("passwd", "passwd\x07", "etc"):
        assert not (travail.parent / nom).exists()
        assert not (travail / "donnees").parent.parent.joinpath(nom).exists()
    for chemin in _arbre(RACINE):
        assert "passwd" not in Path(chemin).name and "\x1b" not in chemin, chemin


def test_la_memoire_reste_bornee(
    releve_hostile: tuple[dict[str, Any], Path, set[str], set[str]],
) -> None:
    bilan, _, _, _ = releve_hostile
    assert bilan["rss_enfants_mo"] > 50, "les processus d'extraction n'ont pas été mesurés"
    assert bilan["rss_principal_mo"] < PIC_PRINCIPAL_MO, bilan["rss_principal_mo"]
    assert bilan["rss_enfants_mo"] < PIC_EXTRACTION_MO, bilan["rss_enfants_mo"]
    assert bilan["generation_s"] < 10
