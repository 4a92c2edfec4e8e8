from __future__ import annotations

import itertools
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from imapclient import IMAPClient
from sqlalchemy import create_engine, text

from courrier import config
from preuves import serveurs
from registre.registre import Registre

RACINE = Path(__file__).resolve().parents[1]
COURRIER = [sys.executable, "-m", "courrier"]
# Les entrées réelles écrites par d'autres (voir ../shared/corpus/*/MANIFEST.tsv), à côté du
# dépôt ; COURRIER_CORPUS désigne un autre emplacement. Sans corpus, la suite échoue à la
# collecte plutôt que de sauter en silence les tests qui en dépendent.
CORPUS = Path(os.environ.get("COURRIER_CORPUS") or RACINE.parent / "shared" / "corpus")
if not (CORPUS / "emails" / "MANIFEST.tsv").is_file():
    raise pytest.UsageError(
        f"Corpus partagé introuvable : {CORPUS}. Placez shared/corpus à côté du dépôt "
        "ou indiquez son chemin dans COURRIER_CORPUS."
    )

os.environ.setdefault("OMP_THREAD_LIMIT", "1")
os.environ.setdefault("DO_NOT_TRACK", "1")


@pytest.fixture(scope="session")
def corpus() -> Path:
    assert CORPUS.is_dir(), f"le corpus partagé est introuvable : {CORPUS}"
    return CORPUS


@pytest.fixture(scope="session")
def grappe_postgres() -> Iterator[str]:
    with serveurs.postgres() as url:
        yield url


_numeros = itertools.count(1)


@pytest.fixture(params=["sqlite", "postgresql"])
def url_base(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Chaque test du registre tourne sur SQLite et sur un vrai PostgreSQL, base neuve."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'registre.sqlite3'}"
    grappe: str = request.getfixturevalue("grappe_postgres")
    nom = f"test_{os.getpid()}_{next(_numeros)}"
    moteur = create_engine(grappe, isolation_level="AUTOCOMMIT")
    with moteur.connect() as connexion:
        connexion.execute(text(f'CREATE DATABASE "{nom}"'))
    moteur.dispose()
    return grappe.rsplit("/", 1)[0] + f"/{nom}"


@pytest.fixture
def registre(url_base: str, tmp_path: Path) -> Iterator[Registre]:
    r = Registre.ouvrir(url_base, tmp_path / "donnees")
    yield r
    r.fermer()


@pytest.fixture
def env_courrier(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> pytest.MonkeyPatch:
    """Un environnement COURRIER_… propre, données dans tmp_path ; réglages relus."""
    for cle in list(os.environ):
        if cle.startswith("COURRIER_"):
            monkeypatch.delenv(cle)
    monkeypatch.chdir(tmp_path)  # aucun .env du développeur ne s'invite
    monkeypatch.setenv("COURRIER_DONNEES", str(tmp_path / "donnees"))
    monkeypatch.setenv("COURRIER_DEPOT_DELAI_STABILITE_S", "0")
    config.reglages.cache_clear()
    yield monkeypatch
    config.reglages.cache_clear()


@pytest.fixture
def serveur_imap() -> Iterator[serveurs.Dovecot]:
    with serveurs.dovecot(["mairie"]) as d:
        yield d


def client_imap(d: serveurs.Dovecot, utilisateur: str = "mairie") -> IMAPClient:
    client = IMAPClient("127.0.0.1", port=d.port, ssl=False, timeout=10)
    client.login(utilisateur, d.mot_de_passe)
    return client


# --- La démo, jouée une fois pour toute la suite (les tests qui la modifient en font une copie) --


def lancer(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*COURRIER, *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=300
    )


@pytest.fixture(scope="session")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str], str]:
    tmp = tmp_path_factory.mktemp("demo")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("COURRIER_", "PREFECT_"))}
    env["PYTHONPATH"] = str(RACINE)
    resultat = lancer("demo", "--dossier", str(tmp / "demo"), env=env, cwd=tmp)
    return (
        tmp,
        {**env, "COURRIER_DONNEES": str(tmp / "demo" / "donnees")},
        (
            resultat.stdout
            + "\n=== stderr ===\n"
            + resultat.stderr
            + f"\ncode {resultat.returncode}"
        ),
    )


@pytest.fixture
def demo_copie(
    demo: tuple[Path, dict[str, str], str], tmp_path: Path
) -> tuple[Path, dict[str, str], Path]:
    """Une copie des données de la démo, à modifier sans gêner les autres tests : (dossier où
    lancer la commande, environnement qui pointe sur la copie, dossier de la copie)."""
    import shutil

    tmp, env, _ = demo
    copie = tmp_path / "donnees"
    shutil.copytree(Path(env["COURRIER_DONNEES"]), copie)
    return tmp, {**env, "COURRIER_DONNEES": str(copie)}, copie
