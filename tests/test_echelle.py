"""L'intercommunalité à petite échelle, en vrai (preuves/banc_communes.py) : PostgreSQL, un
serveur Prefect, deux workers `prefect worker start --pool courrier`, le LLM local ; trois
communes saines et deux en panne (boîte IMAP sur un port fermé, et qui ne répond pas), ajoutées
par `courrier commune ajouter`. Deux courriels par commune viennent du corpus réel
(../shared/corpus/emails/MANIFEST.tsv : SpamScope/mail-parser, mail_test_2 et mail_test_3).

Aucune durée n'est vérifiée ici : le banc (`python -m preuves.bench_communes`) les mesure.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from typer.testing import CliRunner

from courrier.planification import construire_deploiements, flows_disponibles, nom_deploiement
from flows.communes import reglages_de
from interfaces.cli import app
from noyau.erreurs import ConfigurationErreur
from preuves import serveurs
from preuves.banc_communes import Options, jouer
from preuves.calcul import difference, releve_du_calcul
from preuves.serveurs import port_libre


@pytest.mark.lent
@pytest.mark.timeout(900)
def test_chaque_commune_releve_dans_son_registre_et_une_commune_en_panne_echoue_seule(
    tmp_path: Path,
) -> None:
    options = Options(communes=3, courriers=4, workers=2, en_panne=2, temoin=False, borne=False)
    r = jouer(options, tmp_path)

    saines = [c for c in r.communes if not c.en_panne]
    pannes = [c for c in r.communes if c.en_panne]
    assert [c.identifiant for c in saines] == ["c01", "c02", "c03"]
    assert {c.en_panne for c in pannes} == {"port fermé", "serveur muet"}
    # Chaque registre : ses courriers (par empreinte), numérotés 1..4 sans trou, vérifié propre ;
    # la commune en panne a relevé ses autres sources.
    assert r.problemes == {c.identifiant: [] for c in r.communes}
    assert all(len(c.empreintes) == 4 for c in r.communes)
    for c in saines:
        assert r.etats[c.identifiant][0] == "Completed"
    for c in pannes:
        etat, message = r.etats[c.identifiant]
        assert etat == "Failed"
        assert f"Commune « {c.identifiant} » : relève incomplète, source en panne (Boîte IMAP" in (
            message
        )
        assert "ne répond pas" in message
    # Le nom de chaque exécution dit sa commune.
    assert r.noms == {c.identifiant: f"releve-{c.identifiant}" for c in r.communes}
    assert r.appels_llm > 0
    assert 1 <= r.llm_simultanes_max <= options.llm_parallele  # la limite globale a tenu
    # L'occupation du LLM couvre toute la nuit, sans dépasser la limite ni commencer avant elle.
    assert abs(sum(r.llm_en_vol.values()) - r.nuit_s) < 0.01
    assert max(r.llm_en_vol) <= options.llm_parallele and r.llm_en_vol.get(0, 0) > 0
    assert 0 < r.llm_premier_s < r.llm_dernier_s
    # Le calcul de la nuit, par rôle : les exécutions (sous les workers), le serveur, la base.
    assert r.calcul_s["workers et exécutions (hors OCR)"] > 1.0
    assert r.calcul_s["serveur Prefect"] > 0 and r.calcul_s["PostgreSQL"] > 0


def test_le_calcul_de_postgresql_est_celui_de_la_grappe_du_banc_seule() -> None:
    """Une autre grappe qui calcule puis s'arrête pendant la nuit mesurée (une suite de tests à
    côté) : son calcul n'entre ni ne sort du compte du banc, qui ne devient pas négatif."""
    from sqlalchemy import create_engine, text

    with serveurs.postgres() as banc:
        with serveurs.postgres() as autre:
            moteur = create_engine(autre)
            with moteur.connect() as connexion:
                connexion.execute(text("SELECT count(*) FROM generate_series(1, 3000000)"))
            moteur.dispose()
            avant = releve_du_calcul(banc)
            de_l_autre = releve_du_calcul(autre)["PostgreSQL"]
        apres = releve_du_calcul(banc)
    assert de_l_autre > avant["PostgreSQL"]  # l'autre a bien calculé plus que le banc
    assert 0 <= difference(avant, apres)["PostgreSQL"] < de_l_autre


def test_un_deploiement_par_commune_et_par_flow_la_commune_par_defaut_garde_ses_noms() -> None:
    deploiements = construire_deploiements(("defaut", "saint-jean"))
    flows = [h.flow for h, _ in flows_disponibles()]
    assert [d.name for d in deploiements] == [*flows, *(f"{f}-saint-jean" for f in flows)]
    for d in deploiements:
        defaut = "saint-jean" not in d.name
        assert d.parameters == ({} if defaut else {"commune": "saint-jean"})
        assert d.concurrency_limit == 1  # une même commune ne tourne jamais deux fois à la fois
        assert ("commune:saint-jean" in d.tags) is not defaut
    assert nom_deploiement("releve") == "releve"
    assert nom_deploiement("digest", "saint-jean") == "digest-saint-jean"


@pytest.mark.parametrize("hostile", ["../etc", "Saint Jean", "", "x" * 200, "defaut;rm"])
def test_un_deploiement_pour_une_commune_au_nom_hostile_est_refuse(hostile: str) -> None:
    with pytest.raises(ConfigurationErreur):
        construire_deploiements((hostile,))


def test_un_flow_pour_une_commune_inconnue_ou_hostile_refuse_en_francais(
    env_courrier: pytest.MonkeyPatch,
) -> None:
    with pytest.raises(ConfigurationErreur, match="n'existe pas dans cette installation"):
        reglages_de("inconnue")
    with pytest.raises(ConfigurationErreur):
        reglages_de("../../etc")


def test_ajouter_une_commune_quand_le_serveur_prefect_ne_repond_pas_le_dit_sans_la_perdre(
    env_courrier: pytest.MonkeyPatch,
) -> None:
    env_courrier.setenv("PREFECT_API_URL", f"http://127.0.0.1:{port_libre()}/api")
    resultat = CliRunner().invoke(app, ["commune", "ajouter", "saint-jean", "--nom", "Saint-Jean"])
    assert resultat.exit_code == 1, resultat.output
    assert "Commune « Saint-Jean » ajoutée (saint-jean)" in resultat.output
    assert "ses horaires ne sont pas inscrits" in resultat.output
    assert "courrier planifier --installer" in resultat.output
    assert "Traceback" not in resultat.output
    # La commune existe bien : elle se liste, et l'inscription se rejoue plus tard.
    assert "saint-jean" in CliRunner().invoke(app, ["commune", "lister"]).output


def test_planifier_refuse_servir_et_installer_ensemble(env_courrier: pytest.MonkeyPatch) -> None:
    resultat = CliRunner().invoke(app, ["planifier", "--servir", "--installer"])
    assert resultat.exit_code == 1
    assert "Choisissez --servir" in resultat.output


@pytest.mark.lent
@pytest.mark.timeout(300)
def test_digest_et_envoi_d_une_commune_nommee_partent_de_son_registre_a_son_maire(
    env_courrier: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from prefect.testing.utilities import prefect_test_harness

    from courrier import config
    from flows.digest import digest
    from flows.envoi import envoi
    from preuves.serveurs import serveur_smtp

    jour = date(2026, 11, 23)
    env_courrier.delenv("PREFECT_API_URL", raising=False)
    with serveur_smtp() as smtp:
        for cle, valeur in {
            "COURRIER_SMTP_HOTE": "127.0.0.1",
            "COURRIER_SMTP_PORT": str(smtp.port),
            "COURRIER_SMTP_SECURITE": "aucune",
            "COURRIER_ADRESSE_MAIRIE": "mairie@defaut.example",
            "COURRIER_DESTINATAIRES_DIGEST": "maire@defaut.example",
        }.items():
            env_courrier.setenv(cle, valeur)
        config.reglages.cache_clear()
        ajout = CliRunner().invoke(
            app,
            [
                "commune", "ajouter", "saint-jean", "--nom", "Saint-Jean",
                "--reglage", "COURRIER_ADRESSE_MAIRIE=mairie@saint-jean.example",
                "--reglage", "COURRIER_DESTINATAIRES_DIGEST=maire@saint-jean.example",
            ],
        )  # fmt: skip
        assert ajout.exit_code == 0, ajout.output
        with prefect_test_harness(server_startup_timeout=120):
            resultat = digest(jour=jour, commune="saint-jean")
            assert envoi(commune="saint-jean").rien
            with pytest.raises(ConfigurationErreur, match="n'existe pas"):
                digest(jour=jour, commune="inconnue")
        assert resultat.destinataires == ("maire@saint-jean.example",)
        (message,) = smtp.lus()
        assert message["To"] == "maire@saint-jean.example"
        assert message["From"].endswith("mairie@saint-jean.example>") or (
            message["From"] == "mairie@saint-jean.example"
        )
    # Le digest est noté dans le registre de saint-jean, pas dans celui de l'installation.
    r_defaut = reglages_de(None)
    from registre.registre import Registre

    for commune, attendu in (("saint-jean", True), (None, False)):
        r = reglages_de(commune) if commune else r_defaut
        registre = Registre.ouvrir(r.url_base, r.donnees, commune=r.commune_id)
        try:
            assert (registre.envoi_digest(jour) is not None) is attendu
        finally:
            registre.fermer()
