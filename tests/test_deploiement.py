"""L'installation à plusieurs machines, en vrai sur 127.0.0.1 : PostgreSQL (pour Prefect et pour
le registre), `prefect server start`, deux `prefect worker start --type process`, Dovecot.

Une relève demandée par l'API est faite par un worker et écrit le registre dans PostgreSQL ;
deux relèves à la fois, prises par les deux workers, ne font ni trou ni doublon.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shutil
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any, cast
from uuid import UUID, uuid4

import pytest

from preuves import serveurs
from registre.registre import Registre
from tests.conftest import RACINE, client_imap
from tests.test_source_imap import compter

# Un nom propre à ce test : rien à confondre avec une autre exécution sur la même machine.
FILE = f"courrier-essai-{uuid4().hex[:8]}"
ARRIVEE = datetime(2025, 11, 20, 21, 0, tzinfo=UTC)


def _courriel(i: int) -> bytes:
    m = EmailMessage()
    m["From"] = f"Habitant {i} <habitant{i}@exemple.example>"
    m["To"] = "mairie@saint-aubin-sur-loire.example"
    m["Subject"] = f"Demande de stationnement n°{i}"
    m["Message-ID"] = f"<stationnement-{i}@exemple.example>"
    m["Date"] = "Fri, 20 Nov 2026 22:00:00 +0100"
    m.set_content(f"Madame, Monsieur,\nje demande une autorisation de stationnement ({i}).\n")
    return m.as_bytes()


def _deposer(d: serveurs.Dovecot, numeros: range) -> None:
    client = client_imap(d)
    for i in numeros:
        client.append("INBOX", _courriel(i), msg_time=ARRIVEE + timedelta(minutes=i))
    client.logout()


def _avec_api(url: str) -> Any:
    from prefect.settings import PREFECT_API_URL, temporary_settings

    return temporary_settings(updates={PREFECT_API_URL: url})


def _deploiement_sans_limite(url: str) -> str:
    """Le même flow `releve`, sans la limite « une à la fois » : pour voir deux workers
    travailler ensemble sur le même registre."""
    from prefect.deployments.runner import RunnerDeployment
    from prefect.types.entrypoint import EntrypointType

    from flows.releve import releve

    with _avec_api(url):
        d = cast(
            RunnerDeployment,
            releve.to_deployment(
                name="releve-concurrence", entrypoint_type=EntrypointType.MODULE_PATH
            ),
        )
        d.apply(work_pool_name=FILE)
    return "releve/releve-concurrence"


async def _creer_files(url: str, files: tuple[str, ...]) -> None:
    from prefect.client.orchestration import get_client

    with _avec_api(url):
        async with get_client() as client:
            for nom in files:
                await client.create_work_queue(nom, work_pool_name=FILE)


async def _executer(url: str, nom: str, files: list[str], delai: float) -> list[Any]:
    """Une exécution du déploiement par file nommée, demandées ensemble ; rendues une fois
    finies."""
    from prefect.client.orchestration import get_client

    with _avec_api(url):
        async with get_client() as client:
            d = await client.read_deployment_by_name(nom)
            ids = await asyncio.gather(
                *(client.create_flow_run_from_deployment(d.id, work_queue_name=f) for f in files)
            )
            fin = time.monotonic() + delai
            while True:
                runs = [await client.read_flow_run(r.id) for r in ids]
                if all(r.state and r.state.is_final() for r in runs):
                    return runs
                if time.monotonic() > fin:
                    etats = [(str(r.id), r.state_name) for r in runs]
                    raise AssertionError(f"exécutions non terminées après {delai:.0f} s : {etats}")
                await asyncio.sleep(0.5)


def _preneurs(journaux: dict[str, Path]) -> dict[UUID, str]:
    """Quel worker a pris quelle exécution, d'après leurs journaux."""
    motif = re.compile(r"Worker '([^']+)' submitting flow run '([0-9a-f-]{36})'")
    pris: dict[UUID, str] = {}
    for journal in journaux.values():
        for nom, ident in motif.findall(journal.read_text(errors="replace")):
            pris[UUID(ident)] = nom
    return pris


def _processus_restants(marques: list[str], environnement: str) -> list[str]:
    """Les processus encore vivants dont la ligne de commande contient l'une des marques (le
    serveur, les workers) ou dont l'environnement contient `environnement` (les workers et les
    exécutions qu'ils ont lancées)."""
    restants = []
    for entree in Path("/proc").iterdir():
        if not entree.name.isdigit() or int(entree.name) == os.getpid():
            continue
        try:
            ligne = (entree / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            env = (entree / "environ").read_bytes().split(b"\0")
        except OSError:
            continue
        if any(m in ligne for m in marques) or environnement.encode() in env:
            restants.append(f"{entree.name}: {ligne}")
    return restants


def _sans_restants(marques: list[str], environnement: str, delai: float = 15.0) -> list[str]:
    """Les processus restants, attendus jusqu'à `delai` : le moteur prêt (flows/moteur.py) et
    les processus d'une exécution finissent juste après les workers, pas avec eux."""
    fin = time.monotonic() + delai
    while (restants := _processus_restants(marques, environnement)) and time.monotonic() < fin:
        time.sleep(0.2)
    return restants


def _servies_par_le_moteur_pret(dossier: Path) -> set[UUID]:
    """Les exécutions que le moteur prêt a faites (son journal, flows/moteur.py)."""
    motif = re.compile(r"exécution ([0-9a-f-]{36}) : processus")
    return {
        UUID(i)
        for journal in dossier.glob("courrier-moteur-*/*.log")
        for i in motif.findall(journal.read_text(errors="replace"))
    }


def _verifier_registre(url_registre: str, donnees: Path, attendus: int) -> None:
    registre = Registre.ouvrir(url_registre, donnees)
    try:
        courriers = registre.courriers()
        assert len(courriers) == attendus
        assert sorted(c.rang for c in courriers) == list(range(1, attendus + 1))
        assert len({c.numero for c in courriers}) == attendus
        assert sorted(c.message_id for c in courriers) == sorted(
            f"<stationnement-{i}@exemple.example>" for i in range(attendus)
        )
        assert {c.canal for c in courriers} == {"email"}
        assert registre.verifier() == []
    finally:
        registre.fermer()


@pytest.mark.lent
@pytest.mark.timeout(240)
def test_un_serveur_prefect_et_deux_workers_relevent_dans_postgresql(tmp_path: Path) -> None:
    from courrier.planification import installer

    debut = time.monotonic()
    donnees = tmp_path / "donnees"  # le dossier de données partagé par les workers
    journaux = {nom: tmp_path / f"worker-{nom}.log" for nom in ("a", "b")}
    journal_serveur = tmp_path / "prefect-serveur.log"
    marques: list[str] = []
    mesures: dict[str, float] = {}
    # Le moteur prêt de ces workers, dans un dossier à ce test (chemin court : une prise Unix).
    moteur = Path(tempfile.mkdtemp(prefix="cm-"))
    try:
        with serveurs.postgres() as grappe, serveurs.dovecot(["mairie"]) as imap:
            url_registre = serveurs.creer_base(grappe, "courrier")
            url_prefect = serveurs.creer_base(grappe, "prefect").replace("+psycopg", "+asyncpg")
            _deposer(imap, range(12))
            base = {
                k: v for k, v in os.environ.items() if not k.startswith(("COURRIER_", "PREFECT_"))
            }
            base |= {
                "PREFECT_HOME": str(tmp_path / "prefect"),
                "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
                "DO_NOT_TRACK": "1",
                "OMP_THREAD_LIMIT": "1",
                "PYTHONPATH": str(RACINE),
            }
            env_serveur = base | {"PREFECT_API_DATABASE_CONNECTION_URL": url_prefect}
            with serveurs.prefect_serveur(env_serveur, journal_serveur) as url:
                port = url.rsplit(":", 1)[1].split("/", 1)[0]
                marques += [f"--port {port}", f"--pool {FILE}"]
                mesures["serveur prêt"] = time.monotonic() - debut
                noms = installer(url, FILE)
                assert "releve/releve" in noms
                env_worker = base | {
                    "PREFECT_API_URL": url,
                    "PREFECT_WORKER_QUERY_SECONDS": "1",
                    "COURRIER_BASE_DE_DONNEES": url_registre,
                    "COURRIER_DONNEES": str(donnees),
                    "COURRIER_IMAP_HOTE": "127.0.0.1",
                    "COURRIER_IMAP_PORT": str(imap.port),
                    "COURRIER_IMAP_UTILISATEUR": "mairie",
                    "COURRIER_IMAP_MOT_DE_PASSE": imap.mot_de_passe,
                    "COURRIER_IMAP_SECURITE": "aucune",
                    "COURRIER_MOTEUR_DOSSIER": str(moteur),
                }
                # Chaque worker écoute sa file du pool : deux exécutions demandées ensemble, une
                # par file, vont à deux workers (avec une seule file, le plus prompt des deux
                # pouvait finir la première et prendre aussi la seconde sur une machine chargée).
                asyncio.run(_creer_files(url, ("a", "b")))
                with (
                    serveurs.prefect_worker(FILE, "a", env_worker, journaux["a"], file="a"),
                    serveurs.prefect_worker(FILE, "b", env_worker, journaux["b"], file="b"),
                ):
                    # 1. Une relève demandée par l'API : faite par un worker, contre Dovecot,
                    # écrite dans PostgreSQL (le worker passe son environnement COURRIER_… à
                    # l'exécution : rien d'autre ne lui donne l'adresse du registre).
                    t0 = time.monotonic()
                    (run,) = asyncio.run(_executer(url, "releve/releve", ["a"], 90))
                    mesures["une relève"] = time.monotonic() - t0
                    assert run.state_name == "Completed", (run.state, _journaux(journaux))
                    assert _preneurs(journaux).get(run.id) == "a"
                    _verifier_registre(url_registre, donnees, 12)
                    assert compter(imap, "INBOX") == 0
                    assert compter(imap, "Traité") == 12

                    # 2. Deux relèves à la fois sur le même registre et la même boîte.
                    nom = _deploiement_sans_limite(url)
                    _deposer(imap, range(12, 32))
                    t0 = time.monotonic()
                    runs = asyncio.run(_executer(url, nom, ["a", "b"], 90))
                    mesures["deux relèves"] = time.monotonic() - t0
                    assert [r.state_name for r in runs] == ["Completed"] * 2, (
                        [r.state for r in runs],
                        _journaux(journaux),
                    )
                    preneurs = _preneurs(journaux)
                    assert [preneurs.get(r.id) for r in runs] == ["a", "b"], preneurs
                    # La première relève a démarré le moteur prêt : les deux suivantes, d'un
                    # worker ou de l'autre, sont nées de lui (sans réimporter Prefect).
                    servies = _servies_par_le_moteur_pret(moteur)
                    assert {r.id for r in runs} <= servies, (servies, _journaux(journaux))
                    # Elles se sont chevauchées : chacune a commencé avant la fin de l'autre.
                    a, b = runs
                    assert a.start_time and b.start_time and a.end_time and b.end_time
                    assert a.start_time < b.end_time and b.start_time < a.end_time
                    _verifier_registre(url_registre, donnees, 32)
                    assert compter(imap, "INBOX") == 0
                    assert compter(imap, "Traité") == 32
    finally:
        restants = _sans_restants(marques, f"COURRIER_DONNEES={donnees}")
        shutil.rmtree(moteur, ignore_errors=True)
    assert restants == []
    if marques:
        with serveurs.socket.socket() as s:
            assert s.connect_ex(("127.0.0.1", int(marques[0].split()[1]))) != 0
    mesures["total"] = time.monotonic() - debut
    print(", ".join(f"{k} : {v:.1f} s" for k, v in mesures.items()), file=sys.stderr)


def _journaux(journaux: dict[str, Path]) -> str:
    return "\n".join(p.read_text(errors="replace")[-3000:] for p in journaux.values())


# --- La recette de l'intercommunalité (deploiement/README.md, 2c), jouée telle qu'écrite -----

DEPLOIEMENT = RACINE / "deploiement"
README = DEPLOIEMENT / "README.md"


def commandes_de_la_recette() -> list[str]:
    """Les commandes des blocs marqués « joué » de la section 2c du README, dans l'ordre,
    lignes de suite (`\\`) recollées."""
    texte = README.read_text(encoding="utf-8")
    section = texte.split("### 2c.", 1)[1].split("\n## ", 1)[0]
    commandes: list[str] = []
    for bloc in re.findall(r"<!-- joué -->\s*```sh\n(.*?)```", section, flags=re.S):
        for ligne in bloc.replace("\\\n", " ").splitlines():
            ligne = ligne.strip()
            if ligne and not ligne.startswith("#"):
                commandes.append(ligne)
    return commandes


def test_la_recette_se_lit_dans_l_ordre_d_une_installation() -> None:
    commandes = commandes_de_la_recette()
    debuts = [
        c.split("=", 1)[0] if c.startswith("export") else " ".join(c.split()[:3]) for c in commandes
    ]
    assert debuts == [
        "export PREFECT_API_DATABASE_CONNECTION_URL",
        "export PREFECT_SERVER_CONCURRENCY_MAXIMUM_CONCURRENCY_SLOT_WAIT_SECONDS",
        "prefect server start",
        "export PREFECT_API_URL",
        "export COURRIER_BASE_DE_DONNEES",
        "export COURRIER_DONNEES",
        "courrier planifier --installer",
        "courrier commune ajouter",
        "courrier commune ajouter",
        "courrier commune lister",
        "export PREFECT_WORKER_QUERY_SECONDS",
        "prefect worker start",
        "prefect worker start",
        "prefect deployment run",
        "courrier --commune saint-jean",
    ]


def test_les_reglages_de_prefect_de_la_recette_sont_les_memes_partout() -> None:
    """Le serveur et les workers de la recette, de systemd et de Docker Compose ont les
    réglages de Prefect que joue le banc des communes (preuves/banc_communes.py)."""
    from preuves.banc_communes import REGLAGES_SERVEUR, REGLAGES_WORKER

    recette = commandes_de_la_recette()
    systemd = DEPLOIEMENT / "systemd"
    serveur = (systemd / "courrier-prefect.service").read_text(encoding="utf-8")
    worker = (systemd / "courrier-worker@.service").read_text(encoding="utf-8")
    compose = (DEPLOIEMENT / "docker-compose.yml").read_text(encoding="utf-8")
    assert REGLAGES_SERVEUR and REGLAGES_WORKER
    for reglages, unite in ((REGLAGES_SERVEUR, serveur), (REGLAGES_WORKER, worker)):
        for nom, valeur in reglages.items():
            assert f"export {nom}={valeur}" in recette
            assert f"{nom}={valeur}" in unite
            assert f'{nom}: "{valeur}"' in compose


def test_le_serveur_prefect_de_compose_a_la_version_de_prefect_des_workers() -> None:
    """Le serveur tourne dans l'image construite pour les workers (même Prefect), pas dans une
    image officielle figée ; chaque service de Courrier a la sienne, construite ici."""
    import yaml

    compose = yaml.safe_load((DEPLOIEMENT / "docker-compose.yml").read_text(encoding="utf-8"))
    services = compose["services"]
    image = services["courrier-worker"]["image"]
    assert services["prefect-server"]["image"] == image
    assert services["prefect-server"]["build"]["dockerfile"] == "deploiement/Dockerfile"
    assert services["prefect-server"]["command"][:3] == ["prefect", "server", "start"]
    images = {nom: s.get("image", "") for nom, s in services.items()}
    assert not [nom for nom, i in images.items() if i.startswith("prefecthq/")], images
    systemd = (DEPLOIEMENT / "systemd" / "courrier-prefect.service").read_text(encoding="utf-8")
    assert "ExecStart=/opt/courrier/.venv/bin/prefect server start" in systemd


def _courriel_de(commune: str, i: int) -> bytes:
    m = EmailMessage()
    m["From"] = f"Habitant {i} <habitant{i}@{commune}.example>"
    m["To"] = f"mairie@{commune}.example"
    m["Subject"] = f"Demande n°{i} à {commune}"
    m["Message-ID"] = f"<{commune}-{i}@exemple.example>"
    m["Date"] = "Fri, 20 Nov 2026 22:00:00 +0100"
    m.set_content(f"Madame, Monsieur,\nje demande un rendez-vous ({i}).\n")
    return m.as_bytes()


@pytest.mark.lent
@pytest.mark.timeout(420)
def test_la_recette_de_l_intercommunalite_jouee_telle_qu_ecrite(tmp_path: Path) -> None:
    """Les commandes du README, adresses remplacées : PostgreSQL, serveur Prefect, file et
    déploiements, deux communes ajoutées (leurs déploiements inscrits sans redémarrer), deux
    workers, une relève suivie jusqu'au bout, le registre de la commune vérifié."""
    import shlex
    import subprocess

    donnees, communes = tmp_path / "donnees", tmp_path / "communes"
    communes.mkdir()
    bin_ = Path(sys.executable).parent
    base = {k: v for k, v in os.environ.items() if not k.startswith(("COURRIER_", "PREFECT_"))}
    base |= {
        "PATH": f"{bin_}:{base.get('PATH', '')}",
        "PREFECT_HOME": str(tmp_path / "prefect"),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "DO_NOT_TRACK": "1",
        "OMP_THREAD_LIMIT": "1",
        "PYTHONPATH": str(RACINE),
        "COURRIER_DEPOT_DELAI_STABILITE_S": "0",
        # Le moteur prêt des workers (flows/moteur.py), retiré à la fin (une prise : court).
        "COURRIER_MOTEUR_DOSSIER": tempfile.mkdtemp(prefix="cm-"),
    }
    with contextlib.ExitStack() as nettoyage, serveurs.postgres() as grappe:
        nettoyage.callback(shutil.rmtree, base["COURRIER_MOTEUR_DOSSIER"], True)
        url_prefect = serveurs.creer_base(grappe, "prefect").replace("+psycopg", "+asyncpg")
        url_registre = serveurs.creer_base(grappe, "courrier")
        port = serveurs.port_libre()
        remplacements = {
            "postgresql+asyncpg://courrier:MOTDEPASSE@serveur:5432/prefect": url_prefect,
            "postgresql+psycopg://courrier:MOTDEPASSE@serveur:5432/courrier": url_registre,
            "http://serveur:4200/api": f"http://127.0.0.1:{port}/api",
            "--host 0.0.0.0 --port 4200": f"--host 127.0.0.1 --port {port}",
            "/srv/courrier/donnees": str(donnees),
            "/etc/courrier/communes/": f"{communes}/",
        }
        for nom in ("saint-jean", "moulins"):
            depot = tmp_path / "depots" / nom
            depot.mkdir(parents=True)
            for i in range(3):
                (depot / f"{i}.eml").write_bytes(_courriel_de(nom, i))
            (communes / f"{nom}.env").write_text(
                f"COURRIER_DEPOT_EML={depot}\nCOURRIER_DESTINATAIRES_DIGEST=maire@{nom}.example\n",
                encoding="utf-8",
            )
        env = dict(base)
        sorties: list[str] = []
        with contextlib.ExitStack() as pile:
            for n, ligne in enumerate(commandes_de_la_recette()):
                for avant, apres in remplacements.items():
                    ligne = ligne.replace(avant, apres)
                if ligne.startswith("export "):
                    nom, _, valeur = ligne.removeprefix("export ").partition("=")
                    env[nom] = valeur
                    continue
                mots = shlex.split(ligne)
                if mots[:3] == ["prefect", "server", "start"] or mots[:3] == [
                    "prefect",
                    "worker",
                    "start",
                ]:
                    serveur = mots[1] == "server"
                    pile.enter_context(
                        serveurs.processus_journalise(
                            mots, tmp_path / f"{n}.log", dict(env), signaux=1 if serveur else 2
                        )
                    )
                    if serveur:
                        _attendre_api(f"http://127.0.0.1:{port}/api")
                    continue
                fait = subprocess.run(
                    mots, env=env, capture_output=True, text=True, timeout=240, cwd=tmp_path
                )
                sorties.append(fait.stdout)
                assert fait.returncode == 0, (ligne, fait.stdout, fait.stderr[-3000:])
        texte = "\n".join(sorties)
        assert "Horaires de la commune inscrits" in texte and "releve/releve-moulins" in texte
        assert "Completed" in texte  # `prefect deployment run --watch` : la relève est finie
        assert "Registre intact : 3 courrier(s)" in texte
        # Le registre de saint-jean, dans son schéma : ses trois courriers, numérotés 1..3.
        from sqlalchemy import create_engine
        from sqlalchemy import text as sql

        moteur = create_engine(url_registre)
        try:
            with moteur.connect() as connexion:
                rangs = connexion.execute(
                    sql("SELECT rang FROM commune_saint_jean.courriers")
                ).all()
                moulins = connexion.execute(sql("SELECT count(*) FROM commune_moulins.courriers"))
                assert sorted(r[0] for r in rangs) == [1, 2, 3]
                assert moulins.scalar_one() == 0  # relevée seulement par son propre déploiement
        finally:
            moteur.dispose()


def _attendre_api(url: str, delai: float = 90.0) -> None:
    from courrier.service_horaires import api_saine

    fin = time.monotonic() + delai
    while not api_saine(url):
        assert time.monotonic() < fin, "le serveur Prefect de la recette ne répond pas"
        time.sleep(0.5)
