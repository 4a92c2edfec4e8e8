"""Les étages du code (ARCHITECTURE.md), gardés vrais par les contrats d'import-linter écrits dans
pyproject.toml : un import ne fait que descendre, le noyau ne fait aucune entrée-sortie, et le plan
décrit les mêmes étages que les contrats. Aucun module de code ne dépasse 500 lignes."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

RACINE = Path(__file__).resolve().parent.parent
PAQUETS = (
    "noyau",
    "connecteurs",
    "regles",
    "registre",
    "courrier",
    "flows",
    "interfaces",
    "preuves",
)
LIMITE_LIGNES = 500


def _contrats() -> list[dict[str, object]]:
    config = tomllib.loads((RACINE / "pyproject.toml").read_text(encoding="utf-8"))
    return list(config["tool"]["importlinter"]["contracts"])


def _lint_imports(racine: Path) -> subprocess.CompletedProcess[str]:
    # Un sous-processus dont le chemin commence par `racine` : les paquets y sont pris avant ceux
    # de l'installation en mode éditable (qui ne vient qu'après sur sys.meta_path).
    lint = Path(sys.executable).with_name("lint-imports")
    env = {**os.environ, "PYTHONPATH": str(racine)}
    return subprocess.run(
        [str(lint), "--no-cache"],
        cwd=racine,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_les_imports_ne_font_que_descendre_et_le_noyau_est_pur() -> None:
    resultat = _lint_imports(RACINE)
    sortie = resultat.stdout + resultat.stderr
    assert resultat.returncode == 0, sortie[-6000:]
    for contrat in _contrats():
        assert f"{contrat['name']} KEPT" in sortie, sortie[-3000:]


def _copie(tmp_path: Path) -> Path:
    copie = tmp_path / "depot"
    copie.mkdir()
    ignorer = shutil.ignore_patterns("__pycache__", "*.pyc", "*.yaml", "*.j2", "statique", "scans")
    for paquet in PAQUETS:
        shutil.copytree(RACINE / paquet, copie / paquet, ignore=ignorer)
    shutil.copy(RACINE / "pyproject.toml", copie / "pyproject.toml")
    return copie


@pytest.mark.parametrize(
    ("module", "ligne", "attendu"),
    [
        # le registre qui appellerait une étape
        ("registre/base.py", "from courrier import config", "registre.base -> courrier.config"),
        # une étape qui appellerait la page web
        ("courrier/envoi.py", "import interfaces.web.app", "courrier.envoi -> interfaces.web.app"),
        # le noyau qui lirait un fichier par le système
        ("noyau/domaine.py", "import subprocess", "noyau.domaine -> subprocess"),
    ],
)
def test_un_import_qui_remonte_casse_un_contrat(
    tmp_path: Path, module: str, ligne: str, attendu: str
) -> None:
    copie = _copie(tmp_path)
    fichier = copie / module
    fichier.write_text(fichier.read_text(encoding="utf-8") + f"\n{ligne}  # noqa\n")
    resultat = _lint_imports(copie)
    sortie = resultat.stdout + resultat.stderr
    assert resultat.returncode != 0, sortie[-3000:]
    assert "BROKEN" in sortie
    assert attendu in sortie, sortie[-3000:]


def test_le_plan_decrit_les_etages_des_contrats() -> None:
    plan = (RACINE / "ARCHITECTURE.md").read_text(encoding="utf-8")
    bloc = re.search(r"```text\n(.*?)```", plan, flags=re.S)
    assert bloc, "ARCHITECTURE.md doit dessiner les étages dans un bloc ```text"
    dessin = [ligne.split("#")[0].strip() for ligne in bloc.group(1).splitlines()]
    dessin = [ligne for ligne in dessin if ligne]
    etages = next(c for c in _contrats() if c["type"] == "layers")["layers"]
    assert dessin == etages


def test_aucun_module_de_code_ne_depasse_cinq_cents_lignes() -> None:
    trop_longs = {}
    for paquet in PAQUETS:
        for fichier in sorted((RACINE / paquet).rglob("*.py")):
            if "migrations" in fichier.parts:
                continue
            lignes = len(fichier.read_text(encoding="utf-8").splitlines())
            if lignes > LIMITE_LIGNES:
                trop_longs[str(fichier.relative_to(RACINE))] = lignes
    assert not trop_longs, trop_longs


def test_le_paquet_et_l_image_docker_emportent_chaque_etage() -> None:
    """Un étage ajouté doit être installé (pyproject) et copié dans l'image (Dockerfile) ;
    seules les preuves restent dans le dépôt."""
    config = tomllib.loads((RACINE / "pyproject.toml").read_text(encoding="utf-8"))
    inclus = {m.rstrip("*") for m in config["tool"]["setuptools"]["packages"]["find"]["include"]}
    dockerfile = (RACINE / "deploiement" / "Dockerfile").read_text(encoding="utf-8")
    copies = set(re.findall(r"^COPY (\w+) \./\1$", dockerfile, flags=re.M))
    livres = set(PAQUETS) - {"preuves"}
    assert inclus == livres
    assert copies == livres
