"""Les réglages : un mauvais réglage est une phrase française qui nomme la variable."""

from __future__ import annotations

from pathlib import Path

import pytest

from courrier import config
from noyau.erreurs import ConfigurationErreur


def test_sans_reglage_seul_le_registre_sqlite_est_utilise(
    env_courrier: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    r = config.charger()
    assert r.url_base == f"sqlite:///{tmp_path / 'donnees' / 'registre.sqlite3'}"
    assert not r.imap_configure and r.depot_scans is None and r.depot_eml is None


@pytest.mark.parametrize(
    ("variable", "valeur", "attendu"),
    [
        ("COURRIER_IMAP_PORT", "cent", "COURRIER_IMAP_PORT doit être un nombre entier"),
        ("COURRIER_IMAP_PORT", "70000", "COURRIER_IMAP_PORT est trop grand"),
        ("COURRIER_IMAP_SECURITE", "tls", "COURRIER_IMAP_SECURITE doit valoir"),
        ("COURRIER_DEPOT_DELAI_STABILITE_S", "-1", "COURRIER_DEPOT_DELAI_STABILITE_S est trop"),
    ],
)
def test_une_valeur_invalide_nomme_sa_variable(
    env_courrier: pytest.MonkeyPatch, variable: str, valeur: str, attendu: str
) -> None:
    env_courrier.setenv(variable, valeur)
    with pytest.raises(ConfigurationErreur) as erreur:
        config.charger()
    assert attendu in str(erreur.value)
    assert "\n" not in str(erreur.value)


def test_un_dossier_de_depot_absent_est_signale(env_courrier: pytest.MonkeyPatch) -> None:
    env_courrier.setenv("COURRIER_DEPOT_SCANS", "/nulle/part")
    with pytest.raises(ConfigurationErreur, match="COURRIER_DEPOT_SCANS désigne"):
        config.charger()


def test_une_boite_imap_sans_mot_de_passe_est_signalee(env_courrier: pytest.MonkeyPatch) -> None:
    env_courrier.setenv("COURRIER_IMAP_HOTE", "imap.exemple.example")
    env_courrier.setenv("COURRIER_IMAP_UTILISATEUR", "mairie")
    with pytest.raises(ConfigurationErreur, match="COURRIER_IMAP_MOT_DE_PASSE manque"):
        config.charger()


def test_le_fichier_env_est_lu_et_le_secret_reste_cache(
    env_courrier: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / ".env").write_text(
        "COURRIER_IMAP_HOTE=imap.exemple.example\nCOURRIER_IMAP_UTILISATEUR=mairie\n"
        "COURRIER_IMAP_MOT_DE_PASSE=tres-secret\nCOURRIER_IMAP_SECURITE=starttls\n",
        encoding="utf-8",
    )
    r = config.charger()
    assert r.imap_configure and r.port_imap == 143
    assert "tres-secret" not in repr(r) and "tres-secret" not in str(r.model_dump())


def test_un_llm_sans_modele_est_signale(env_courrier: pytest.MonkeyPatch) -> None:
    env_courrier.setenv("COURRIER_LLM_URL", "https://api.exemple.example/v1")
    with pytest.raises(ConfigurationErreur, match="COURRIER_LLM_MODELE manque"):
        config.charger()


def test_une_url_de_llm_sans_protocole_est_signalee(env_courrier: pytest.MonkeyPatch) -> None:
    env_courrier.setenv("COURRIER_LLM_URL", "api.exemple.example")
    env_courrier.setenv("COURRIER_LLM_MODELE", "m")
    with pytest.raises(ConfigurationErreur, match="COURRIER_LLM_URL doit commencer par http"):
        config.charger()


@pytest.mark.parametrize(
    ("url", "reglage", "attendu"),
    [
        ("https://api.fournisseur-llm.example/v1", None, True),
        ("http://127.0.0.1:11434/v1", None, False),
        ("http://localhost:8000/v1", "oui", True),
        ("https://albert.fournisseur.example/v1", "non", False),
    ],
)
def test_la_pseudonymisation_est_active_des_que_le_llm_est_ailleurs(
    env_courrier: pytest.MonkeyPatch, url: str, reglage: str | None, attendu: bool
) -> None:
    env_courrier.setenv("COURRIER_LLM_URL", url)
    env_courrier.setenv("COURRIER_LLM_MODELE", "m")
    if reglage is not None:
        env_courrier.setenv("COURRIER_LLM_PSEUDONYMISER", reglage)
    assert config.charger().pseudonymisation is attendu


def test_un_oui_non_invalide_nomme_sa_variable(env_courrier: pytest.MonkeyPatch) -> None:
    env_courrier.setenv("COURRIER_LLM_PSEUDONYMISER", "peut-être")
    with pytest.raises(ConfigurationErreur, match="COURRIER_LLM_PSEUDONYMISER doit valoir oui"):
        config.charger()


def test_chaque_reglage_est_documente_dans_l_exemple_de_configuration() -> None:
    exemple = (Path(__file__).resolve().parents[1] / "deploiement" / ".env.exemple").read_text(
        encoding="utf-8"
    )
    manquants = [n for n in config.Reglages.model_fields if f"COURRIER_{n.upper()}" not in exemple]
    assert manquants == []
