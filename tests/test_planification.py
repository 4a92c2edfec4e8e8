"""Les horaires : déclarés une fois, lisibles en français, relus tels quels depuis l'API Prefect."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from courrier.planification import (
    FUSEAU,
    HORAIRES,
    flows_disponibles,
    lignes_horaires,
)
from courrier.service_horaires import fichier_api_url
from interfaces.cli import app
from preuves.serveur_llm import ServeurLLM
from tests.prefect_essai import env_servir, executions_ensemble

CRONS_ATTENDUS = {"releve": "0 2 * * *", "digest": "30 7 * * 1-5", "envoi": "*/15 8-18 * * 1-5"}


def test_la_declaration_donne_chaque_flow_son_cron_a_paris() -> None:
    assert {h.flow: h.cron for h in HORAIRES} == CRONS_ATTENDUS
    assert {h.fuseau for h in HORAIRES} == {"Europe/Paris"} == {FUSEAU}
    assert all(h.description for h in HORAIRES)


def test_planifier_liste_affiche_les_horaires_en_francais(env_courrier: pytest.MonkeyPatch) -> None:
    resultat = CliRunner().invoke(app, ["planifier", "--liste"])
    assert resultat.exit_code == 0, resultat.output
    assert "releve : chaque jour à 02:00 (Europe/Paris)" in resultat.output
    assert "digest : du lundi au vendredi à 07:30 (Europe/Paris)" in resultat.output
    assert resultat.output.count("\n") == len(HORAIRES) == len(lignes_horaires())


def test_planifier_sans_serveur_dit_quoi_faire_en_une_phrase(
    env_courrier: pytest.MonkeyPatch,
) -> None:
    env_courrier.delenv("PREFECT_API_URL", raising=False)
    resultat = CliRunner().invoke(app, ["planifier"])
    assert resultat.exit_code == 1
    assert "--servir" in resultat.output and "PREFECT_API_URL" in resultat.output
    assert "Traceback" not in resultat.output


def _processus_ecoutant(port: int) -> list[int]:
    """Les processus dont la ligne de commande est celle du serveur Prefect sur ce port."""
    trouves = []
    for entree in Path("/proc").iterdir():
        if not entree.name.isdigit():
            continue
        try:
            ligne = (entree / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"server" in ligne and str(port).encode() in ligne:
            trouves.append(int(entree.name))
    return trouves


def _port_ouvert(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


async def _lire_deploiements(url: str) -> list[Any]:
    from prefect.client.orchestration import get_client
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with temporary_settings(updates={PREFECT_API_URL: url}):
        async with get_client() as client:
            return list(await client.read_deployments())


@pytest.fixture
def serveur_llm() -> Iterator[ServeurLLM]:
    with ServeurLLM() as serveur:
        yield serveur


@pytest.mark.lent
@pytest.mark.timeout(120)
def test_servir_installe_les_horaires_a_paris_sans_chevauchement_puis_s_arrete_proprement(
    tmp_path: Path, corpus: Path, serveur_llm: ServeurLLM
) -> None:
    donnees = tmp_path / "donnees"
    # Un courriel déposé, dont l'analyse est retenue par le LLM jusqu'à ce que la seconde
    # relève ait fini : les deux se chevauchent quelle que soit la charge de la machine.
    depot = tmp_path / "eml"
    depot.mkdir()
    (depot / "demande.eml").write_bytes(
        (corpus / "emails" / "40_mikel_attachment_pdf.eml").read_bytes()
    )
    serveur_llm.defaut = "retenu"
    env = env_servir(tmp_path, donnees) | {
        "COURRIER_DEPOT_EML": str(depot),
        "COURRIER_DEPOT_DELAI_STABILITE_S": "0",
        "COURRIER_LLM_URL": serveur_llm.url,
        "COURRIER_LLM_MODELE": "modele-test",
    }
    debut = time.monotonic()
    processus = subprocess.Popen(
        [sys.executable, "-m", "courrier", "planifier", "--servir"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        chemin = fichier_api_url(donnees)
        deploiements: list[Any] = []
        while time.monotonic() - debut < 90:
            assert processus.poll() is None, processus.communicate()
            if chemin.is_file():
                url = chemin.read_text(encoding="utf-8").strip()
                deploiements = asyncio.run(_lire_deploiements(url))
                if len(deploiements) >= len(flows_disponibles()):
                    break
            time.sleep(0.5)
        pret = time.monotonic() - debut
        # `envoi` n'existe pas encore : seuls les flows présents ont un déploiement.
        attendus = {h.flow: h.cron for h, _ in flows_disponibles()}
        assert {"releve", "digest"} <= set(attendus)
        lus = {d.name: d for d in deploiements}
        assert set(lus) == set(attendus)
        for nom, cron in attendus.items():
            d = lus[nom]
            assert [(s.schedule.cron, s.schedule.timezone, s.active) for s in d.schedules] == [
                (cron, "Europe/Paris", True)
            ]
            assert d.global_concurrency_limit is not None
            assert d.global_concurrency_limit.limit == 1
            assert d.concurrency_options.collision_strategy.value == "CANCEL_NEW"
        port = int(url.rsplit(":", 1)[1].split("/", 1)[0])
        assert _processus_ecoutant(port)

        # Le processus sert vraiment : une relève demandée tourne (le flow est retrouvé par son
        # module) ; une seconde demandée en même temps est annulée, pas superposée.
        runs = asyncio.run(
            executions_ensemble(url, ["releve/releve"] * 2, 60, quand_une_finit=serveur_llm.liberer)
        )
        etats = sorted((r.state_name or "", (r.state and r.state.message) or "") for r in runs)
        assert [nom for nom, _ in etats] == ["Cancelled", "Completed"], etats
        assert "concurrency limit" in etats[0][1]
        # La relève admise a bien attendu l'analyse retenue : c'est elle qui l'a demandée.
        assert serveur_llm.nombre >= 1
    finally:
        processus.send_signal(signal.SIGTERM)
        sortie, erreur = processus.communicate(timeout=30)
    assert processus.returncode == 0, erreur
    texte = sortie.decode()
    assert "Planification en service (releve, digest" in texte
    assert "Planification arrêtée." in texte
    assert "Traceback" not in erreur.decode()
    assert not _port_ouvert(port)
    assert _processus_ecoutant(port) == []
    assert not chemin.exists()
    print(f"prêt en {pret:.1f} s, arrêté en {time.monotonic() - debut - pret:.1f} s")


@pytest.mark.lent
@pytest.mark.timeout(120)
def test_installer_inscrit_les_horaires_dans_une_file_sur_un_serveur_existant(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from courrier.planification import installer
    from courrier.service_horaires import serveur_prefect

    monkeypatch.setenv("PREFECT_HOME", str(tmp_path / "prefect"))
    with serveur_prefect(tmp_path / "donnees") as url:
        noms = installer(url, "courrier-essai")
        assert noms == [f"{h.flow}/{h.flow}" for h, _ in flows_disponibles()]
        installer(url, "courrier-essai")  # une deuxième fois : mis à jour, pas doublé
        lus = {d.name: d for d in asyncio.run(_lire_deploiements(url))}
    assert set(lus) == {h.flow for h, _ in flows_disponibles()}
    for nom, d in lus.items():
        assert d.work_pool_name == "courrier-essai"
        assert d.entrypoint == f"flows.{nom}.{nom}"
        assert [(s.schedule.cron, s.schedule.timezone) for s in d.schedules] == [
            (CRONS_ATTENDUS[nom], "Europe/Paris")
        ]


async def _commandes_des_files(url: str, files: list[str]) -> dict[str, Any]:
    from prefect.client.orchestration import get_client
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with temporary_settings(updates={PREFECT_API_URL: url}):
        async with get_client() as client:
            return {
                f: (await client.read_work_pool(f)).base_job_template["variables"]["properties"][
                    "command"
                ]["default"]
                for f in files
            }


@pytest.mark.lent
@pytest.mark.timeout(180)
def test_la_file_lance_le_moteur_avec_le_python_de_courrier_sans_ecraser_une_commande_posee(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Sans commande, Prefect 3.9 intercale un processus de supervision par exécution ; la file
    de Courrier donne au worker le moteur prêt (flows/moteur.py) avec le Python de
    l'installation, y compris à une file qui a la commande d'une version d'avant
    (`prefect.engine`)."""
    import subprocess

    from courrier.planification import commande_du_moteur, installer
    from courrier.service_horaires import serveur_prefect

    monkeypatch.setenv("PREFECT_HOME", str(tmp_path / "prefect"))
    with serveur_prefect(tmp_path / "donnees") as url:
        env = {**os.environ, "PREFECT_API_URL": url, "PREFECT_HOME": str(tmp_path / "prefect")}
        prefect = [sys.executable, "-m", "prefect", "work-pool", "create", "--type", "process"]
        # Deux files créées à la main, comme avant cette version : l'une reste sans commande,
        # l'autre reçoit une commande de l'intégrateur.
        for nom in ("ancienne", "reglee", "version-d-avant"):
            subprocess.run([*prefect, nom], env=env, check=True, capture_output=True, timeout=120)
        from prefect.client.orchestration import get_client
        from prefect.client.schemas.actions import WorkPoolUpdate
        from prefect.settings import PREFECT_API_URL, temporary_settings

        with (
            temporary_settings(updates={PREFECT_API_URL: url}),
            get_client(sync_client=True) as client,
        ):
            modele = client.read_work_pool("reglee").base_job_template
            modele["variables"]["properties"]["command"]["default"] = "/ailleurs/python -m x"
            client.update_work_pool("reglee", WorkPoolUpdate(base_job_template=modele))
            modele["variables"]["properties"]["command"]["default"] = (
                f"{sys.executable} -m prefect.engine"
            )
            client.update_work_pool("version-d-avant", WorkPoolUpdate(base_job_template=modele))
        files = ["neuve", "ancienne", "reglee", "version-d-avant"]
        for file in files:
            installer(url, file, communes=())
        commandes = asyncio.run(_commandes_des_files(url, files))
    assert commande_du_moteur() == f"{sys.executable} -m flows.moteur"
    assert commandes == {
        "neuve": commande_du_moteur(),
        "ancienne": commande_du_moteur(),
        "reglee": "/ailleurs/python -m x",
        "version-d-avant": commande_du_moteur(),
    }
