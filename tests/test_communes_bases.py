"""Les communes sur PostgreSQL (un schéma chacune, sauvegardé seul) et la migration d'un registre
d'avant les communes (issue #12, points 1 et 5).

Les courriels viennent du corpus partagé (../shared/corpus/emails/MANIFEST.tsv).
"""

from __future__ import annotations

import shutil
import subprocess
import tarfile
from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import create_engine, inspect, text

from noyau.erreurs import RegistreErreur
from preuves.serveurs import creer_base
from registre.base import config_alembic, creer_engine
from registre.registre import Registre
from registre.sauvegarde import restaurer
from tests.conftest import lancer
from tests.horloge import HorlogeDeTest
from tests.test_communes import COURRIELS, _courrier, _deposer, _env, _ok, _registre


def _objets_du_dump(fichier: Path, tmp: Path) -> str:
    with tarfile.open(fichier) as tar:
        tar.extract("registre.pgdump", tmp, filter="data")
    fait = subprocess.run(
        ["pg_restore", "--list", str(tmp / "registre.pgdump")],
        capture_output=True,
        text=True,
        check=True,
    )
    return fait.stdout


def test_sur_postgresql_chaque_commune_a_son_schema_et_sa_sauvegarde(
    grappe_postgres: str, tmp_path: Path, corpus: Path
) -> None:
    url = creer_base(grappe_postgres, "intercommunalite_communes")
    env = _env(tmp_path, COURRIER_BASE_DE_DONNEES=url)
    _deposer(corpus, tmp_path / "eml-defaut", COURRIELS[:1])
    env["COURRIER_DEPOT_EML"] = str(tmp_path / "eml-defaut")
    for ident, nombre in (("a", 3), ("b", 5)):
        _deposer(corpus, tmp_path / f"eml-{ident}", COURRIELS[:nombre])
        _ok(
            _courrier(
                env,
                tmp_path,
                "commune",
                "ajouter",
                f"commune-{ident}",
                "--nom",
                ident.upper(),
                "--reglage",
                f"COURRIER_DEPOT_EML={tmp_path / f'eml-{ident}'}",
            )
        )
    for options in ([], ["--commune", "commune-a"], ["--commune", "commune-b"]):
        _ok(_courrier(env, tmp_path, *options, "releve"))

    moteur = create_engine(url)
    try:
        schemas = set(inspect(moteur).get_schema_names())
        assert {"commune_commune_a", "commune_commune_b", "public"} <= schemas
        with moteur.connect() as c:
            comptes = {
                schema: c.execute(text(f"SELECT count(*) FROM {schema}.courriers")).scalar_one()
                for schema in ("public", "commune_commune_a", "commune_commune_b")
            }
        assert comptes == {"public": 1, "commune_commune_a": 3, "commune_commune_b": 5}
    finally:
        moteur.dispose()
    for commune, nombre in (("defaut", 1), ("commune-a", 3), ("commune-b", 5)):
        registre = _registre(tmp_path / "donnees", commune, url)
        try:
            assert sorted(c.rang for c in registre.courriers()) == list(range(1, nombre + 1))
            assert registre.verifier() == []
        finally:
            registre.fermer()

    # La sauvegarde d'une commune n'emporte que son schéma ; celle de la commune par défaut
    # n'emporte aucune autre commune.
    _ok(_courrier(env, tmp_path, "--commune", "commune-a", "sauvegarde", "--sortie", "a.tar"))
    _ok(_courrier(env, tmp_path, "sauvegarde", "--sortie", "defaut.tar"))
    objets_a = _objets_du_dump(tmp_path / "a.tar", tmp_path / "dump-a")
    assert "commune_commune_a courriers" in objets_a
    assert "commune_commune_b" not in objets_a and "public courriers" not in objets_a
    objets_defaut = _objets_du_dump(tmp_path / "defaut.tar", tmp_path / "dump-defaut")
    assert "public courriers" in objets_defaut and "commune_commune" not in objets_defaut

    # Elle se restaure dans une base neuve, et le registre de a s'y vérifie.
    creer_base(grappe_postgres, "restauration_commune_a")
    registre_a = _registre(tmp_path / "donnees", "commune-a", url)
    url_a = registre_a.engine.url
    registre_a.fermer()
    cible_a = url_a.set(database="restauration_commune_a").render_as_string(hide_password=False)
    restaurer(tmp_path / "a.tar", tmp_path / "restaure-a", cible_a)
    restaure = Registre.ouvrir(cible_a, tmp_path / "restaure-a", commune="commune-a")
    try:
        assert len(restaure.courriers()) == 3
        assert restaure.verifier() == []
    finally:
        restaure.fermer()


def _descendre(url: str, revision: str) -> None:
    moteur = creer_engine(url)
    try:
        with moteur.begin() as connexion:
            config = config_alembic(moteur)
            config.attributes["connection"] = connexion
            command.downgrade(config, revision)
    finally:
        moteur.dispose()


def _empreintes(url: str) -> list[tuple[int, str]]:
    moteur = create_engine(url)
    try:
        with moteur.connect() as c:
            return [(i, e) for i, e in c.execute(text("SELECT id, empreinte FROM evenements"))]
    finally:
        moteur.dispose()


def test_la_demo_ramenee_au_schema_d_avant_les_communes_migre_sceaux_intacts(
    demo_copie: tuple[Path, dict[str, str], Path], tmp_path: Path
) -> None:
    """Point 5 : un registre réel (la démo : courriers lus, brouillons décidés, envois,
    commentaires) au schéma 20261205_0017, d'avant les communes, puis migré."""
    cwd, env, donnees = demo_copie
    env = {**env, "COURRIER_MOT_DE_PASSE": "mot-de-passe-solide"}
    _ok(lancer("utilisateur", "ajouter", "secretaire", "--role", "secretaire", env=env, cwd=cwd))
    url = f"sqlite:///{donnees / 'registre.sqlite3'}"
    avant = _empreintes(url)
    assert len(avant) > 20
    _descendre(url, "20261205_0017")
    moteur = create_engine(url)
    try:
        vue = inspect(moteur)
        assert "commune" not in vue.get_table_names()
        assert "communes" not in {c["name"] for c in vue.get_columns("utilisateurs")}
    finally:
        moteur.dispose()

    # La commande d'avant (vérifier) migre en ouvrant : tout se vérifie, rien n'a bougé.
    _ok(lancer("registre", "verifier", env=env, cwd=cwd))
    assert _empreintes(url) == avant
    moteur = create_engine(url)
    try:
        with moteur.connect() as c:
            assert c.execute(text("SELECT identifiant FROM commune")).scalars().all() == ["defaut"]
            assert c.execute(text("SELECT nom, communes FROM utilisateurs")).all() == [
                ("secretaire", "defaut")
            ]
    finally:
        moteur.dispose()
    liste = _ok(lancer("registre", "lister", env=env, cwd=cwd))
    assert "-00001" in liste


def test_le_plus_ancien_registre_migre_appartient_a_la_commune_par_defaut(tmp_path: Path) -> None:
    # Le fichier du schéma 20261122_0001 (3 courriers lus) gardé par tests/test_registre.py.
    copie = tmp_path / "v1.sqlite3"
    shutil.copy(Path(__file__).with_name("donnees") / "registre_v1.sqlite3", copie)
    horloge = HorlogeDeTest(datetime(2026, 11, 25, 9, 0, tzinfo=UTC))
    registre = Registre.ouvrir(f"sqlite:///{copie}", tmp_path / "donnees", horloge)
    try:
        assert registre.commune == "defaut"
        # La chaîne, les sceaux et les numéros (l'archive de ce fichier n'a pas été gardée).
        assert registre.verifier_journal()[0] == []
    finally:
        registre.fermer()
    # Et personne d'autre ne peut le prendre pour le sien.
    with pytest.raises(RegistreErreur, match="celui de la commune « defaut », pas de « ars »"):
        Registre.ouvrir(f"sqlite:///{copie}", tmp_path / "donnees", horloge, commune="ars")
