"""Le flow Prefect `releve` et la commande `courrier`, de bout en bout, avec de vrais serveurs."""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pandas as pd
import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

from courrier import config
from courrier.planification import LIMITE_LLM
from preuves import serveurs
from preuves.serveur_llm import ServeurLLM
from tests.conftest import RACINE, lancer
from tests.test_source_imap import compter, deposer

pytestmark = pytest.mark.lent


@pytest.fixture(scope="module")
def prefect_harness() -> Iterator[None]:
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


def test_le_flow_releve_enregistre_imap_scans_et_eml_puis_lit_et_analyse_tout(
    stack: ExitStack,
    prefect_harness: None,
    env_courrier: pytest.MonkeyPatch,
    serveur_imap: serveurs.Dovecot,
    tmp_path: Path,
    corpus: Path,
) -> None:
    from flows.releve import registre_courant, releve

    deposer(serveur_imap, 3)
    serveur_llm = stack.enter_context(ServeurLLM())
    scans, eml = tmp_path / "scans", tmp_path / "eml"
    scans.mkdir()
    eml.mkdir()
    (scans / "lettre.pdf").write_bytes((corpus / "scans" / "ocrmypdf__francais.pdf").read_bytes())
    (eml / "devis.eml").write_bytes(
        (corpus / "emails" / "40_mikel_attachment_pdf.eml").read_bytes()
    )
    for cle, valeur in {
        "COURRIER_IMAP_HOTE": "127.0.0.1",
        "COURRIER_IMAP_PORT": str(serveur_imap.port),
        "COURRIER_IMAP_UTILISATEUR": "mairie",
        "COURRIER_IMAP_MOT_DE_PASSE": serveur_imap.mot_de_passe,
        "COURRIER_IMAP_SECURITE": "aucune",
        "COURRIER_DEPOT_SCANS": str(scans),
        "COURRIER_DEPOT_EML": str(eml),
        "COURRIER_LLM_URL": serveur_llm.url,
        "COURRIER_LLM_MODELE": "modele-test",
        "COURRIER_LLM_PSEUDONYMISER": "oui",
        "COURRIER_LLM_PARALLELE": "4",
        "COURRIER_COMMUNE": "Saint-Aubin-sur-Loire",
    }.items():
        env_courrier.setenv(cle, valeur)
    config.reglages.cache_clear()
    serveur_llm.defaut = "lent:0.3"
    # La limite globale (partagée par tous les workers) l'emporte sur COURRIER_LLM_PARALLELE=4.
    with get_client(sync_client=True) as client:
        client.upsert_global_concurrency_limit_by_name(LIMITE_LLM, 1)

    bilan = releve()
    assert [(b.source, b.nouveaux, b.erreurs) for b in bilan.sources] == [
        ("imap", 3, []),
        ("depot_scans", 1, []),
        ("depot_eml", 1, []),
    ]
    assert bilan.extraction.extraits == 5
    registre = registre_courant()
    courriers = {c.canal: c for c in registre.courriers()}
    assert set(courriers) == {"email", "scan", "depot"}
    assert "whisky" in courriers["scan"].texte
    assert "copie intégrale" in courriers["email"].texte
    assert courriers["depot"].pieces and courriers["depot"].pieces[0].type_mime == "application/pdf"
    assert compter(serveur_imap, "Traité") == 3
    # analyse : un appel par courrier, sans les adresses des habitants
    assert bilan.analyse.analyses == 5 and bilan.analyse.par_llm == 5
    assert {c.moteur for c in registre.courriers()} == {"llm:modele-test"}
    assert courriers["email"].categorie == "etat_civil"
    corps = "\n".join(serveur_llm.corps)
    assert "habitant0@exemple.example" not in corps and "Habitant 0" not in corps
    analyses = [r for r in serveur_llm.requetes if r.get("response_format")]
    assert len(analyses) == 5
    assert serveur_llm.concurrence_max == 1
    # le bilan de la nuit est un artefact Markdown dans l'interface de Prefect
    with get_client(sync_client=True) as client:
        artefacts = client.read_artifacts(
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=["releve-de-la-nuit"]))
        )
    assert artefacts and "| Boîte IMAP | 3 | 0 | 0 | 0 |" in str(artefacts[-1].data)
    assert registre.verifier() == []

    # La nuit suivante n'a rien de nouveau.
    bilan = releve()
    assert sum(b.nouveaux for b in bilan.sources) == 0
    assert registre.nombre() == 5


def test_une_source_en_panne_n_empeche_pas_les_autres(
    prefect_harness: None, env_courrier: pytest.MonkeyPatch, tmp_path: Path, corpus: Path
) -> None:
    import flows.releve as module

    eml = tmp_path / "eml"
    eml.mkdir()
    (eml / "a.eml").write_bytes(
        (corpus / "emails" / "57_mikel_encoded_stack_level_too_deep.eml").read_bytes()
    )
    for cle, valeur in {
        "COURRIER_IMAP_HOTE": "127.0.0.1",
        "COURRIER_IMAP_PORT": str(serveurs.port_libre()),
        "COURRIER_IMAP_UTILISATEUR": "mairie",
        "COURRIER_IMAP_MOT_DE_PASSE": "x",
        "COURRIER_IMAP_SECURITE": "aucune",
        "COURRIER_DEPOT_EML": str(eml),
    }.items():
        env_courrier.setenv(cle, valeur)
    config.reglages.cache_clear()
    env_courrier.setattr(module, "relever", module.relever.with_options(retry_delay_seconds=0))

    bilan = module.releve()
    imap, depot = bilan.sources
    assert imap.source == "imap" and "ne répond pas" in imap.erreurs[0]
    assert depot.nouveaux == 1 and bilan.extraction.extraits == 1
    erreurs = [e for e in module.registre_courant().evenements() if e.type == "erreur"]
    assert len(erreurs) == 1 and erreurs[0].numero == ""


@pytest.fixture
def stack() -> Iterator[ExitStack]:
    with ExitStack() as pile:
        yield pile


def test_la_demo_enregistre_le_courrier_d_exemple_sans_trace(
    demo: tuple[Path, dict[str, str], str],
) -> None:
    tmp, _, sortie = demo
    assert sortie.endswith("code 0"), sortie
    assert "Registre du courrier arrivé" in sortie
    assert "Traceback" not in sortie and "CancelledError" not in sortie
    exemples = RACINE / "courrier" / "demo"
    attendus = len(list((exemples / "courriels").glob("*.eml"))) + len(
        [f for f in (exemples / "scans").iterdir() if f.is_file()]
    )
    base = sqlite3.connect(tmp / "demo" / "donnees" / "registre.sqlite3")
    lignes = base.execute("SELECT statut, COUNT(*) FROM courriers GROUP BY statut").fetchall()
    assert dict(lignes) == {"analyse": attendus}
    categories = dict(base.execute("SELECT nom_fichier, categorie FROM courriers").fetchall())
    assert categories["lettre-cimetiere.png"] == "cimetiere"
    assert categories["07-publicite-illuminations.eml"] == "publicite"


def test_montrer_en_json_donne_le_texte_complet(demo: tuple[Path, dict[str, str], str]) -> None:
    tmp, env, _ = demo
    base = sqlite3.connect(tmp / "demo" / "donnees" / "registre.sqlite3")
    requete = "SELECT numero FROM courriers WHERE nom_fichier = 'lettre-cimetiere.png'"
    (numero,) = base.execute(requete).fetchone()
    resultat = lancer("montrer", numero, "--json", env=env, cwd=tmp)
    assert resultat.returncode == 0, resultat.stderr
    fiche = json.loads(resultat.stdout)
    assert {"numero", "canal", "objet", "expediteur", "texte", "pieces"} <= set(fiche)
    assert fiche["numero"] == numero and fiche["canal"] == "scan"
    assert "Monsieur le Maire" in fiche["texte"]
    assert "concession au cimetière communal" in fiche["texte"]
    assert [e["type"] for e in fiche["journal"]][:4] == ["recu", "enregistre", "extrait", "analyse"]
    assert fiche["analyse"]["categorie"] == "cimetiere"
    assert fiche["analyse"]["moteur"] == "regles"
    accuse = next(b for b in fiche["brouillons"] if b["type"] == "accuse_reception")
    assert accuse["statut"] == "a_valider" and not accuse["prepare_par_ia"]
    assert set(accuse["dates"]) >= {"reception", "decision_implicite"}
    assert "Saint-Aubin-sur-Loire" in accuse["corps"] and numero in accuse["corps"]
    assert "recours gracieux" in accuse["corps"]


def test_la_file_d_attente_montre_les_brouillons_urgents_d_abord(
    demo: tuple[Path, dict[str, str], str],
) -> None:
    tmp, env, _ = demo
    resultat = lancer("file", env={**env, "COLUMNS": "160"}, cwd=tmp)
    assert resultat.returncode == 0, resultat.stderr
    lignes = [ligne for ligne in resultat.stdout.splitlines() if "-000" in ligne]
    assert lignes and "haute" in lignes[0]
    assert "accusé de réception" in resultat.stdout
    assert "Urbanéo" not in resultat.stdout  # la publicité n'appelle aucun brouillon


@pytest.mark.parametrize("format_", ["csv", "xlsx"])
def test_l_export_du_registre_a_les_colonnes_attendues(
    demo: tuple[Path, dict[str, str], str], format_: str
) -> None:
    tmp, env, _ = demo
    sortie = tmp / f"registre.{format_}"
    resultat = lancer(
        "registre", "export", "--format", format_, "--sortie", str(sortie), env=env, cwd=tmp
    )
    assert resultat.returncode == 0, resultat.stderr
    lu = (
        pd.read_csv(sortie, sep=";", encoding="utf-8-sig")
        if format_ == "csv"
        else pd.read_excel(sortie)
    )
    colonnes = {
        "categorie",
        "service",
        "urgence",
        "resume",
        "reponse_attendue",
        "echeance",
        "moteur",
        "alertes",
        "numero",
        "canal",
        "recu_le",
        "enregistre_le",
        "expediteur",
        "objet",
        "statut",
        "empreinte",
        "message_id",
        "erreur",
    }
    assert colonnes <= set(lu.columns)
    assert len(lu) > 5 and lu["numero"].is_unique
    assert set(lu["canal"]) == {"depot", "scan"}


def test_verifier_passe_puis_echoue_apres_une_retouche_sql(
    demo: tuple[Path, dict[str, str], str], tmp_path: Path
) -> None:
    tmp, env, _ = demo
    copie = tmp_path / "donnees"
    import shutil

    shutil.copytree(Path(env["COURRIER_DONNEES"]), copie)
    env = {**env, "COURRIER_DONNEES": str(copie)}
    ok = lancer("registre", "verifier", env=env, cwd=tmp)
    assert ok.returncode == 0 and "Registre intact" in ok.stdout
    base = sqlite3.connect(copie / "registre.sqlite3")
    base.execute("UPDATE courriers SET expediteur = 'quelqu''un d''autre' WHERE rang = 2")
    base.commit()
    ko = lancer("registre", "verifier", env=env, cwd=tmp)
    assert ko.returncode == 1
    assert "Registre altéré" in ko.stderr and "-00002 a été modifié" in ko.stderr


@pytest.mark.parametrize(
    ("args", "variables", "message"),
    [
        (["montrer", "1999-99999"], {}, "Aucun courrier n'a le numéro"),
        (["releve"], {}, "Aucune source n'est configurée"),
        (["releve"], {"COURRIER_IMAP_PORT": "abc"}, "COURRIER_IMAP_PORT doit être un nombre"),
        (
            ["registre", "export", "--format", "csv", "--sortie", "/nulle/part/r.csv"],
            {},
            "Impossible d'écrire le fichier « /nulle/part/r.csv » : le dossier « /nulle/part » "
            "n'existe pas.",
        ),
        (
            ["indicateurs", "--sortie", "/nulle/part/i.xlsx"],
            {},
            "Impossible d'écrire le fichier « /nulle/part/i.xlsx » : le dossier « /nulle/part » "
            "n'existe pas.",
        ),
    ],
)
def test_une_erreur_est_une_phrase_francaise_et_un_code_non_nul(
    tmp_path: Path, args: list[str], variables: dict[str, str], message: str
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("COURRIER_")}
    env.update({"PYTHONPATH": str(RACINE), "COURRIER_DONNEES": str(tmp_path / "d"), **variables})
    resultat = lancer(*args, env=env, cwd=tmp_path)
    assert resultat.returncode != 0
    assert message in resultat.stderr
    assert "Traceback" not in resultat.stderr + resultat.stdout


def test_l_aide_est_en_francais(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(RACINE)}
    for args in ([], ["registre"]):
        resultat = lancer(*args, "--help", env=env, cwd=tmp_path)
        assert resultat.returncode == 0
        assert "registre" in resultat.stdout.lower()
    aide = lancer("--help", env=env, cwd=tmp_path).stdout
    for commande in ("demo", "releve", "montrer", "registre"):
        assert commande in aide


def test_seules_les_pannes_d_entree_sortie_sont_retentees() -> None:
    from prefect.states import Failed

    from connecteurs.imap import ErreurImap, ErreurImapPassagere
    from flows.releve import _reessayer, relever
    from noyau.erreurs import RegistreErreur

    assert relever.retries == 2
    assert _reessayer(None, None, Failed(data=ErreurImapPassagere("coupure")))
    assert not _reessayer(None, None, Failed(data=ErreurImap("mot de passe refusé")))
    assert not _reessayer(None, None, Failed(data=RegistreErreur("base verrouillée")))
    assert not _reessayer(None, None, Failed(data=ValueError("bogue")))
