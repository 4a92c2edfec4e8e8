"""Les catégories définies une seule fois, dans regles/categories.yaml (issue #16, point 5).

Un intégrateur ajoute une catégorie « piscine » (libellé, service, mots-clés) dans sa copie des
règles livrées, désignée par COURRIER_REGLES : la vraie relève (dossier .eml, lecture, règles)
classe une lettre sur la piscine « piscine » ; le vrai client `openai` envoie au serveur LLM de
test (preuves/serveur_llm.py) un schéma qui la contient et le LLM peut la choisir ; la page web
(client HTTP de Starlette) la propose et la secrétaire y corrige un autre courrier ; un
brouillon est rédigé sur le gabarit de repli, faute de gabarit « piscine » ; le digest du
maire et les indicateurs la nomment par son libellé. Une catégorie inconnue des règles reste
refusée en français ; des règles sans « autre » sont refusées au chargement. Courriers écrits
ici (aucun fichier du corpus partagé n'est lu).
"""

from __future__ import annotations

import html
import shutil
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml
from fastapi.testclient import TestClient

from courrier import config
from courrier.brouillons import rediger
from courrier.digest import rendre_texte
from courrier.etapes import releve_directe
from courrier.publication import preparer
from interfaces.web.app import creer_app
from noyau.erreurs import ConfigurationErreur, RegistreErreur
from preuves import serveur_llm
from preuves.serveur_llm import ServeurLLM
from registre.registre import Registre, details
from regles.chargement import charger_regles
from regles.crpa import charger_crpa
from tests import navigateur as nv
from tests.conftest import RACINE
from tests.test_analyse_releve import COMMUNE
from tests.test_web import connecter

PISCINE = {"libelle": "Piscine municipale", "service": "Service des sports"}
MOTS_PISCINE = {"piscine": 3, "bassin": 2, "maitre nageur": 2, "natation": 2}

LETTRE_PISCINE = """\
From: Mme Odile Lefort <odile.lefort@exemple.example>
To: mairie@saint-aubin.example
Subject: Horaires de la piscine municipale cet hiver
Message-ID: <piscine-1@exemple.example>
Date: Mon, 23 Nov 2026 09:12:00 +0100
Content-Type: text/plain; charset=utf-8

Madame, Monsieur,

Je nage chaque matin au grand bassin de la piscine municipale. Le maître-nageur m'a dit que
les horaires changeraient cet hiver et que les cours de natation du samedi seraient supprimés.
Pourriez-vous m'indiquer les nouveaux horaires de la piscine ?

Je vous prie d'agréer mes salutations distinguées.
Odile Lefort
"""

# Sans aucun mot-clé de la piscine : seul le LLM peut la choisir.
LETTRE_AQUAGYM = """\
From: M. Rémi Caron <remi.caron@exemple.example>
To: mairie@saint-aubin.example
Subject: Séances d'aquagym
Message-ID: <aquagym-1@exemple.example>
Date: Mon, 23 Nov 2026 10:40:00 +0100
Content-Type: text/plain; charset=utf-8

Bonjour,

Les séances d'aquagym du jeudi soir reprendront-elles en janvier ?

Cordialement,
Rémi Caron
"""


def regles_avec_piscine(dossier: Path) -> Path:
    """Une copie des règles livrées, plus la catégorie « piscine » et ses mots-clés."""
    shutil.copytree(RACINE / "regles", dossier, ignore=shutil.ignore_patterns("*.py", "__*"))
    for fichier, rubrique, ajout in (
        ("categories.yaml", "categories", PISCINE),
        ("mots_cles.yaml", "mots_cles", MOTS_PISCINE),
    ):
        chemin = dossier / fichier
        contenu = yaml.safe_load(chemin.read_text(encoding="utf-8"))
        contenu[rubrique]["piscine"] = ajout
        chemin.write_text(yaml.safe_dump(contenu, allow_unicode=True), encoding="utf-8")
    return dossier


@pytest.fixture
def regles(tmp_path: Path) -> Path:
    return regles_avec_piscine(tmp_path / "regles-integrateur")


def relever(env: pytest.MonkeyPatch, tmp_path: Path, regles: Path, *lettres: str) -> Registre:
    depot = tmp_path / "depot-eml"
    depot.mkdir()
    for rang, lettre in enumerate(lettres):
        (depot / f"lettre-{rang}.eml").write_text(lettre, encoding="utf-8")
    env.setenv("COURRIER_DEPOT_EML", str(depot))
    env.setenv("COURRIER_REGLES", str(regles))
    config.reglages.cache_clear()
    bilan = releve_directe(attentes_s=())
    assert bilan.analyse.erreurs == []
    r = config.reglages()
    return Registre.ouvrir(r.url_base, r.donnees)


def test_la_releve_classe_piscine_avec_les_regles_de_l_integrateur_et_redige_un_brouillon(
    env_courrier: pytest.MonkeyPatch, tmp_path: Path, regles: Path
) -> None:
    registre = relever(env_courrier, tmp_path, regles, LETTRE_PISCINE)
    try:
        (courrier,) = registre.courriers()
        assert courrier.categorie == "piscine"
        assert courrier.service == "Service des sports"  # la table d'aiguillage de l'intégrateur
        assert courrier.moteur == "regles"
        # Pas de gabarit « piscine » : la réponse prend celui de la catégorie de repli.
        reponses = [b for b in courrier.brouillons if b.type == "reponse"]
        assert [b.auteur for b in reponses] == ["modele:autre"]
        assert "transmis au service concerné (Service des sports)" in reponses[0].corps
        # Le digest du maire nomme la catégorie par le libellé des règles de l'intégrateur.
        digest = preparer(registre, config.reglages(), registre.aujourd_hui()).digest
        assert ("Piscine municipale", 1) in [(c.libelle, c.nombre) for c in digest.par_categorie]
        assert "Piscine municipale" in rendre_texte(digest)
        assert registre.verifier() == []
    finally:
        registre.fermer()


def test_le_llm_recoit_la_categorie_de_l_integrateur_et_peut_la_choisir(
    env_courrier: pytest.MonkeyPatch, tmp_path: Path, regles: Path
) -> None:
    analyse = dict(serveur_llm.ANALYSE_PAR_DEFAUT)
    analyse |= {"categorie": "piscine", "resume": "Question sur l'aquagym.", "confiance": 0.9}
    analyse |= {"reponse_attendue": True, "demande": "Connaître la reprise de l'aquagym."}
    env_courrier.setitem(serveur_llm.ANALYSES, "aquagym", analyse)
    with ServeurLLM() as serveur:
        env_courrier.setenv("COURRIER_LLM_URL", serveur.url)
        env_courrier.setenv("COURRIER_LLM_MODELE", "modele-test")
        env_courrier.setenv("COURRIER_LLM_CLE", "cle-de-test")
        registre = relever(env_courrier, tmp_path, regles, LETTRE_AQUAGYM)
        requetes = list(serveur.requetes)
    try:
        schemas = [
            r["response_format"]["json_schema"]["schema"]
            for r in requetes
            if (r.get("response_format") or {}).get("type") == "json_schema"
        ]
        assert schemas, requetes
        enum = schemas[0]["properties"]["categorie"]["enum"]
        assert "piscine" in enum and "autre" in enum
        assert enum == list(charger_regles(regles).categories)
        (courrier,) = registre.courriers()
        assert (courrier.categorie, courrier.moteur) == ("piscine", "llm:modele-test")
        assert courrier.service == "Service des sports"
        assert [b.type for b in courrier.brouillons] == ["reponse"]
        assert registre.verifier() == []
    finally:
        registre.fermer()


@pytest.fixture
def site(url_base: str, tmp_path: Path, regles: Path) -> Iterator[tuple[TestClient, Registre, Any]]:
    donnees = tmp_path / "donnees"
    registre = Registre.ouvrir(url_base, donnees)
    jeu = nv.garnir(registre, "http://127.0.0.1:9", registre.aujourd_hui())
    nv.creer_comptes(registre)
    app = creer_app(nv.reglages_web(donnees, url_base, regles=regles), registre)
    with TestClient(app, follow_redirects=False) as client:
        yield client, registre, jeu
    registre.fermer()


def test_la_page_web_propose_piscine_et_la_secretaire_y_corrige_un_courrier(
    site: tuple[TestClient, Registre, Any],
) -> None:
    client, registre, jeu = site
    csrf = connecter(client, "secretaire")
    page = html.unescape(client.get(f"/courrier/{jeu.demande}").text)
    assert '<option value="piscine">Piscine municipale</option>' in page
    reponse = client.post(
        f"/courrier/{jeu.demande}/classement",
        data={"csrf": csrf, "categorie": "piscine", "service": "", "urgence": ""},
    )
    assert reponse.status_code == 303, reponse.text
    courrier = registre.courrier(jeu.demande)
    assert courrier is not None and courrier.categorie == "piscine"
    (correction,) = [e for e in registre.evenements(jeu.demande) if e.type == "correction"]
    assert details(correction)["categorie"] == {"avant": "voirie", "apres": "piscine"}
    page = html.unescape(client.get(f"/courrier/{jeu.demande}").text)
    assert '<option value="piscine" selected>Piscine municipale</option>' in page
    # Les indicateurs nomment la catégorie par le libellé des règles.
    assert "Piscine municipale" in html.unescape(client.get("/indicateurs").text)

    # Une catégorie qu'aucune règle ne connaît reste refusée, en français, sans rien changer.
    avant = len(registre.evenements())
    reponse = client.post(
        f"/courrier/{jeu.demande}/classement",
        data={"csrf": csrf, "categorie": "plongeoir<script>", "service": "", "urgence": ""},
    )
    assert reponse.status_code == 400
    assert "Catégorie inconnue" in html.unescape(reponse.text)
    assert "<script>" not in reponse.text
    assert len(registre.evenements()) == avant
    assert registre.verifier() == []


def test_le_registre_refuse_une_categorie_hors_des_regles_en_francais(
    site: tuple[TestClient, Registre, Any], regles: Path
) -> None:
    _, registre, jeu = site
    connues = charger_regles(regles).categories
    assert registre.corriger_analyse(jeu.demande, "claire", categorie="piscine", categories=connues)
    with pytest.raises(RegistreErreur, match="Catégorie inconnue : « patinoire »"):
        registre.corriger_analyse(jeu.demande, "claire", categorie="patinoire", categories=connues)
    # L'appelant qui oublie les règles ne peut rien écrire : il n'y a pas de liste par défaut.
    with pytest.raises(RegistreErreur, match="Catégorie inconnue"):
        registre.corriger_analyse(jeu.demande, "claire", categorie="voirie")
    # Les règles livrées ne connaissent pas « piscine ».
    with pytest.raises(RegistreErreur, match=r"categories\.yaml"):
        registre.corriger_analyse(
            jeu.demande, "claire", categorie="piscine", categories=charger_regles().categories
        )
    courrier = registre.courrier(jeu.demande)
    assert courrier is not None and courrier.categorie == "piscine"
    assert registre.verifier() == []


def test_un_brouillon_d_une_categorie_sans_gabarit_prend_celui_de_repli(regles: Path) -> None:
    from tests.test_brouillons import un_courrier, une_analyse

    crpa = charger_crpa(regles)
    analyse = une_analyse("piscine", reponse_attendue=True, est_demande_usager=True)
    brouillons = rediger(un_courrier(), analyse, COMMUNE, crpa, le=date(2026, 11, 23))
    assert [(b.type, b.auteur) for b in brouillons] == [
        ("accuse_reception", "modele:accuse_reception"),
        ("reponse", "modele:autre"),
    ]
    # Le service vient du categories.yaml de l'intégrateur.
    assert "transmis au service concerné (Service des sports)" in brouillons[1].corps


def test_sans_aucun_gabarit_de_reponse_l_accuse_reste_et_le_journal_dit_pourquoi(
    regles: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from tests.test_brouillons import un_courrier, une_analyse

    gabarits = tmp_path / "gabarits"
    gabarits.mkdir()
    for nom in ("_lettre.txt.j2", "accuse_reception.txt.j2"):  # ni piscine ni autre
        shutil.copy(RACINE / "regles" / "gabarits" / nom, gabarits / nom)
    analyse = une_analyse("piscine", reponse_attendue=True, est_demande_usager=True)
    with caplog.at_level("WARNING", logger="courrier.brouillons"):
        brouillons = rediger(
            un_courrier(),
            analyse,
            COMMUNE,
            charger_crpa(regles),
            gabarits=gabarits,
            le=date(2026, 11, 23),
        )
    assert [b.type for b in brouillons] == ["accuse_reception"]
    assert "ni gabarit « piscine » ni « autre »" in caplog.text


def test_des_regles_sans_la_categorie_autre_sont_refusees_au_chargement(regles: Path) -> None:
    chemin = regles / "categories.yaml"
    contenu = yaml.safe_load(chemin.read_text(encoding="utf-8"))
    del contenu["categories"]["autre"]
    chemin.write_text(yaml.safe_dump(contenu, allow_unicode=True), encoding="utf-8")
    with pytest.raises(ConfigurationErreur) as erreur:
        charger_regles(regles)
    message = str(erreur.value)
    assert str(chemin) in message
    assert "la catégorie « autre » manque : c'est la catégorie de repli" in message


def test_une_categorie_livree_peut_etre_retiree_par_l_integrateur(regles: Path) -> None:
    # Plus de liste en dur : seule « autre » est exigée. Retirer « cimetiere » demande de
    # retirer aussi ses mots-clés et ses règles d'expéditeur (sinon : erreur qui les nomme).
    chemin = regles / "categories.yaml"
    contenu = yaml.safe_load(chemin.read_text(encoding="utf-8"))
    del contenu["categories"]["cimetiere"]
    chemin.write_text(yaml.safe_dump(contenu, allow_unicode=True), encoding="utf-8")
    with pytest.raises(ConfigurationErreur, match=r"mots_cles\.yaml.*« cimetiere »"):
        charger_regles(regles)
    mots = regles / "mots_cles.yaml"
    contenu = yaml.safe_load(mots.read_text(encoding="utf-8"))
    del contenu["mots_cles"]["cimetiere"]
    mots.write_text(yaml.safe_dump(contenu, allow_unicode=True), encoding="utf-8")
    assert "cimetiere" not in charger_regles(regles).categories


def test_avec_des_regles_illisibles_la_page_s_ouvre_et_la_correction_dit_pourquoi(
    url_base: str, tmp_path: Path, regles: Path
) -> None:
    (regles / "categories.yaml").write_text("categories: [\n", encoding="utf-8")
    donnees = tmp_path / "donnees"
    registre = Registre.ouvrir(url_base, donnees)
    try:
        jeu = nv.garnir(registre, "http://127.0.0.1:9", registre.aujourd_hui())
        nv.creer_comptes(registre)
        app = creer_app(nv.reglages_web(donnees, url_base, regles=regles), registre)
        with TestClient(app, follow_redirects=False) as client:
            csrf = connecter(client, "secretaire")
            # Sans règles lisibles, seule la catégorie de repli est connue du code.
            page = html.unescape(client.get(f"/courrier/{jeu.demande}").text)
            assert '<option value="autre">Autre</option>' in page
            assert 'value="piscine"' not in page and 'value="urbanisme"' not in page
            avant = len(registre.evenements())
            for categorie in ("urbanisme", "autre"):
                reponse = client.post(
                    f"/courrier/{jeu.demande}/classement",
                    data={"csrf": csrf, "categorie": categorie, "service": "", "urgence": ""},
                )
                assert reponse.status_code == 500
                texte = html.unescape(reponse.text)
                assert "categories.yaml n'est pas un YAML valide" in texte
                assert "Traceback" not in texte
            assert len(registre.evenements()) == avant
        courrier = registre.courrier(jeu.demande)
        assert courrier is not None and courrier.categorie == "voirie"
        assert registre.verifier() == []
    finally:
        registre.fermer()
