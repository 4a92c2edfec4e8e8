"""Les processus de lecture (OCR) d'une relève : ce qu'ils importent en naissant.

Sous un worker Prefect, le processus de la relève est `python -m prefect.engine` ; multiprocessing
rejouait ce module principal dans chaque processus de lecture (~1,8 s de calcul chacun, pris aux
cœurs de l'OCR), et chacun réimportait la lecture. Ici, un programme lancé par `python -m` dont le
module principal se signale à chaque exécution fait une vraie lecture (courriels du corpus,
SQLite) : son module n'est exécuté qu'une fois, et les processus de lecture naissent avec la
lecture déjà importée par le serveur de processus.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

RACINE = Path(__file__).resolve().parent.parent

PRINCIPAL = """
import os
import sys
from pathlib import Path

with Path(os.environ["MARQUE"]).open("a", encoding="utf-8") as f:
    f.write(f"{os.getpid()}\\n")

if __name__ == "__main__":
    from concurrent.futures import ProcessPoolExecutor

    from connecteurs.dossiers import SourceEml
    from courrier.extraction import lire_entetes
    from courrier.releve import (
        contexte_de_lecture, extraire_en_attente, relever_source, sans_module_principal,
    )
    from noyau.domaine import Limites
    from registre.registre import Registre

    print("pid", os.getpid())
    tmp = Path(sys.argv[1])
    registre = Registre.ouvrir(f"sqlite:///{tmp / 'registre.sqlite3'}", tmp / "donnees")
    relever_source(SourceEml(tmp / "depot", 0), registre, lire_entetes)
    bilan = extraire_en_attente(registre, Limites(), processus=2)
    print("extraits", bilan.extraits, "erreurs", len(bilan.en_erreur))
    print("statuts", sorted({c.statut for c in registre.courriers()}))
    with ProcessPoolExecutor(1, mp_context=contexte_de_lecture()) as pool:
        with sans_module_principal():
            modules = pool.submit(__import__("aide_modules").modules_charges).result()
    print("lecture_heritee", "courrier.extraction" in modules and "pdfplumber" in modules)
    registre.fermer()
"""

# Importé seul par le processus de lecture : il ne charge rien de Courrier lui-même.
AIDE = """
import sys


def modules_charges():
    return sorted(sys.modules)
"""


def test_un_processus_de_lecture_ne_rejoue_pas_le_module_principal_et_herite_de_la_lecture(
    tmp_path: Path, corpus: Path
) -> None:
    depot = tmp_path / "depot"
    depot.mkdir()
    courriels = sorted(p for p in (corpus / "emails").iterdir() if p.suffix == ".eml")[:4]
    for f in courriels:
        (depot / f.name).write_bytes(f.read_bytes())
    paquet = tmp_path / "programme"
    paquet.mkdir()
    (paquet / "principal_compte.py").write_text(PRINCIPAL, encoding="utf-8")
    (paquet / "aide_modules.py").write_text(AIDE, encoding="utf-8")
    marque = tmp_path / "executions.txt"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("COURRIER_", "PREFECT_"))}
    env |= {"PYTHONPATH": f"{paquet}{os.pathsep}{RACINE}", "MARQUE": str(marque)}

    fait = subprocess.run(
        [sys.executable, "-m", "principal_compte", str(tmp_path)],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )

    assert fait.returncode == 0, fait.stdout + fait.stderr
    assert f"extraits {len(courriels)} erreurs 0" in fait.stdout, fait.stdout
    assert "statuts ['extrait']" in fait.stdout, fait.stdout
    # Une seule exécution du module principal : la sienne, pas une par processus de lecture.
    pid = next(ligne.split()[1] for ligne in fait.stdout.splitlines() if ligne.startswith("pid "))
    assert marque.read_text(encoding="utf-8").split() == [pid]
    assert "lecture_heritee True" in fait.stdout, fait.stdout
