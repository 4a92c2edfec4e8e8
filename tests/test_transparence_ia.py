"""Transparence de l'IA (issue #13, point 4) : chaque sortie de l'IA garde son modèle, la version
de la consigne (empreinte du gabarit réellement envoyé) et sa date ; la page web, `courrier
montrer` et l'export les montrent. Le vrai client `openai` contre preuves/serveur_llm.py."""

from __future__ import annotations

import csv
import hashlib
import html
import io
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from courrier.analyser import analyser_en_attente
from interfaces.cli import app
from interfaces.web.app import creer_app
from preuves.serveur_llm import ServeurLLM
from registre.registre import Registre
from tests import navigateur as nv
from tests.horloge import HorlogeDeTest
from tests.test_analyse_releve import analyseur, client, deposer, etiquete
from tests.test_web import connecter

# Une heure d'hiver fixe : la page l'affiche à l'heure de Paris (UTC+1).
ANALYSE_LE = datetime(2027, 1, 15, 1, 30, tzinfo=UTC)


@pytest.fixture
def serveur() -> Iterator[ServeurLLM]:
    with ServeurLLM() as s:
        yield s


def _empreinte_du_systeme(requete: dict[str, object]) -> str:
    messages = requete["messages"]
    assert isinstance(messages, list)
    (systeme,) = [m["content"] for m in messages if m["role"] == "system"]
    return hashlib.sha256(systeme.encode("utf-8")).hexdigest()[:12]


def _analyse_par_l_ia(registre: Registre, serveur: ServeurLLM) -> None:
    deposer(registre, etiquete("etat-civil-passeport"))
    registre.horloge = HorlogeDeTest(ANALYSE_LE)
    bilan = analyser_en_attente(registre, analyseur(client(serveur)), parallele=1)
    assert bilan.par_llm == 1


def test_l_analyse_et_le_brouillon_gardent_le_modele_et_la_consigne_vraiment_envoyee(
    registre: Registre, serveur: ServeurLLM
) -> None:
    _analyse_par_l_ia(registre, serveur)
    (c,) = registre.courriers()
    # Les consignes que le serveur a reçues : une pour l'analyse, une pour la rédaction.
    analyses = [r for r in serveur.requetes if r.get("response_format")]
    redactions = [r for r in serveur.requetes if not r.get("response_format")]
    assert analyses and redactions
    assert c.moteur == "llm:modele-test"
    assert c.consigne_ia == _empreinte_du_systeme(analyses[0])
    assert len(c.consigne_ia) == 12
    assert c.analyse_le is not None and abs(c.analyse_le - ANALYSE_LE) < timedelta(seconds=1)
    (ia,) = [b for b in c.brouillons if b.prepare_par_ia]
    assert ia.auteur == "llm:modele-test"
    assert ia.consigne_ia == _empreinte_du_systeme(redactions[0])
    assert ia.consigne_ia != c.consigne_ia
    assert abs(ia.cree_le - ANALYSE_LE) < timedelta(seconds=1)
    # Ce qui n'est pas de l'IA n'en porte aucune trace.
    assert all(b.consigne_ia == "" for b in c.brouillons if not b.prepare_par_ia)
    # Les sceaux couvrent la consigne : changer l'empreinte après coup se voit.
    assert registre.verifier() == []


def test_sans_ia_rien_n_est_attribue_a_une_consigne(registre: Registre) -> None:
    deposer(registre, etiquete("etat-civil-passeport"))
    analyser_en_attente(registre, analyseur(), parallele=1)
    (c,) = registre.courriers()
    assert c.moteur == "regles" and c.consigne_ia == ""
    assert all(b.consigne_ia == "" for b in c.brouillons)


def test_la_page_le_cli_et_l_export_disent_modele_consigne_et_date(
    tmp_path: Path, serveur: ServeurLLM, env_courrier: pytest.MonkeyPatch
) -> None:
    donnees = tmp_path / "donnees"
    url = f"sqlite:///{donnees / 'registre.sqlite3'}"
    registre = Registre.ouvrir(url, donnees)
    try:
        _analyse_par_l_ia(registre, serveur)
        (c,) = registre.courriers()
        (ia,) = [b for b in c.brouillons if b.prepare_par_ia]
        attendu_analyse = f"IA, modèle modele-test, consigne {c.consigne_ia}, le 15/01/2027 à 02:30"
        attendu_brouillon = f"IA, modèle modele-test, consigne {ia.consigne_ia}"

        nv.creer_comptes(registre)
        page_web = creer_app(nv.reglages_web(donnees, url), registre)
        with TestClient(page_web, follow_redirects=False) as web:
            connecter(web, "secretaire")
            page = html.unescape(web.get(f"/courrier/{c.numero}").text)
            assert attendu_analyse in page
            assert attendu_brouillon in page
            page_b = html.unescape(web.get(f"/brouillon/{ia.id}").text)
            assert f"Préparé par : {attendu_brouillon}" in page_b
            export = web.get("/registre/export?format=csv")
            assert export.status_code == 200, export.text
        texte_csv = io.StringIO(export.content.decode("utf-8-sig"))
        (ligne,) = list(csv.DictReader(texte_csv, delimiter=";"))
        assert ligne["analyse_ia"] == attendu_analyse
        assert ligne["analyse_le"].startswith("2027-01-15T02:30")
        assert attendu_brouillon in ligne["brouillons"]
    finally:
        registre.fermer()

    sortie = CliRunner().invoke(app, ["montrer", c.numero])
    assert sortie.exit_code == 0, sortie.output
    texte = " ".join(sortie.output.split())
    assert f"Analysé par : {attendu_analyse}" in texte
    assert attendu_brouillon in texte
    brut = CliRunner().invoke(app, ["montrer", c.numero, "--json"])
    donnees_json = json.loads(brut.output)
    assert donnees_json["consigne_ia"] == c.consigne_ia
    assert {b["consigne_ia"] for b in donnees_json["brouillons"]} == {"", ia.consigne_ia}
