"""Sauvegarde et restauration : la vraie commande sur le registre de la démo (SQLite), l'API sur
un vrai PostgreSQL (pg_dump, pg_restore), et des sauvegardes abîmées ou piégées.

La panne simulée : le dossier de données est effacé après la sauvegarde ; la restauration se
fait dans un dossier neuf (la « machine vide »), puis `verifier` doit passer.
"""

from __future__ import annotations

import io
import itertools
import os
import shutil
import tarfile
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from noyau.domaine import Canal, ElementRecu
from registre.registre import Registre
from registre.sauvegarde import SauvegardeErreur, restaurer, sauvegarder
from tests.conftest import lancer


def _element(i: int) -> ElementRecu:
    return ElementRecu(
        source="depot_eml",
        canal=Canal.DEPOT,
        reference=f"{i}.eml",
        recu_le=datetime(2026, 11, 20, 9, 30, tzinfo=UTC),
        contenu=f"Monsieur le Maire, lettre n°{i}".encode(),
    )


def test_la_demo_sauvegardee_puis_perdue_se_restaure_sur_une_machine_vide(
    demo_copie: tuple[Path, dict[str, str], Path], tmp_path: Path
) -> None:
    tmp, env, copie = demo_copie
    avant = lancer("registre", "lister", env={**env, "COLUMNS": "200"}, cwd=tmp)
    assert avant.returncode == 0, avant.stderr

    fichier = tmp_path / "hors-machine" / "sauvegarde.tar"
    fait = lancer("sauvegarde", "--sortie", str(fichier), env=env, cwd=tmp)
    assert fait.returncode == 0, fait.stderr
    assert "Sauvegarde écrite" in fait.stdout and fichier.is_file()
    # Une seconde sauvegarde au même nom n'écrase pas la première.
    encore = lancer("sauvegarde", "--sortie", str(fichier), env=env, cwd=tmp)
    assert encore.returncode == 1 and "existe déjà" in encore.stderr

    shutil.rmtree(copie)  # la panne : le disque de la machine est perdu
    neuf = tmp_path / "machine-vide" / "donnees"
    env_neuf = {**env, "COURRIER_DONNEES": str(neuf)}
    restaure = lancer("restaurer", str(fichier), env=env_neuf, cwd=tmp)
    assert restaure.returncode == 0, restaure.stderr
    sortie = " ".join(restaure.stdout.split())
    assert "restaurée" in sortie and "Registre intact" in sortie
    apres = lancer("registre", "lister", env={**env_neuf, "COLUMNS": "200"}, cwd=tmp)
    assert apres.stdout == avant.stdout

    # Restaurer par-dessus un registre qui existe : refusé, rien n'est écrasé.
    deux_fois = lancer("restaurer", str(fichier), env=env_neuf, cwd=tmp)
    assert deux_fois.returncode == 1 and "rien n'a été écrasé" in deux_fois.stderr
    assert lancer("registre", "verifier", env=env_neuf, cwd=tmp).returncode == 0


_bases = itertools.count(1)


def _base_neuve(grappe: str) -> str:
    nom = f"restauration_{os.getpid()}_{next(_bases)}"
    moteur = create_engine(grappe, isolation_level="AUTOCOMMIT")
    with moteur.connect() as connexion:
        connexion.execute(text(f'CREATE DATABASE "{nom}"'))
    moteur.dispose()
    return grappe.rsplit("/", 1)[0] + f"/{nom}"


def test_un_registre_postgresql_se_sauvegarde_par_pg_dump_et_se_restaure(
    grappe_postgres: str, tmp_path: Path
) -> None:
    url = _base_neuve(grappe_postgres)
    registre = Registre.ouvrir(url, tmp_path / "donnees")
    try:
        numeros = [registre.enregistrer(_element(i), None).numero for i in range(5)]
        bilan = sauvegarder(registre, url, tmp_path / "s.tar", "Saint-Aubin")
        tete = registre.tete()
    finally:
        registre.fermer()
    assert (bilan.courriers, bilan.originaux) == (5, 5)
    with tarfile.open(tmp_path / "s.tar") as tar:
        assert "registre.pgdump" in tar.getnames()

    cible = _base_neuve(grappe_postgres)
    restaurer(tmp_path / "s.tar", tmp_path / "neuf", cible)
    restaure = Registre.ouvrir(cible, tmp_path / "neuf")
    try:
        assert restaure.verifier() == []
        assert [c.numero for c in restaure.courriers()] == numeros
        assert restaure.tete() == tete
        # Le chrono continue sans trou après la restauration.
        suivant = restaure.enregistrer(_element(99), None).numero
        assert suivant.endswith("-00006")
    finally:
        restaure.fermer()


@pytest.fixture
def sauvegarde_sqlite(tmp_path: Path) -> Path:
    donnees = tmp_path / "origine"
    url = f"sqlite:///{donnees / 'registre.sqlite3'}"
    registre = Registre.ouvrir(url, donnees)
    try:
        for i in range(3):
            registre.enregistrer(_element(i), None)
        sauvegarder(registre, url, tmp_path / "s.tar", "Saint-Aubin")
    finally:
        registre.fermer()
    return tmp_path / "s.tar"


def _cible(tmp_path: Path) -> tuple[Path, str]:
    neuf = tmp_path / "neuf"
    return neuf, f"sqlite:///{neuf / 'registre.sqlite3'}"


def _retarer(source: Path, cible: Path, changer: dict[str, bytes]) -> None:
    """Recopie une sauvegarde en remplaçant (ou ajoutant) des membres."""
    with tarfile.open(source) as entree, tarfile.open(cible, "w") as sortie:
        for membre in entree.getmembers():
            if membre.name in changer:
                continue
            sortie.addfile(membre, entree.extractfile(membre))
        for nom, octets in changer.items():
            info = tarfile.TarInfo(nom)
            info.size = len(octets)
            sortie.addfile(info, io.BytesIO(octets))


def test_une_sauvegarde_tronquee_ou_qui_n_en_est_pas_une_est_refusee_en_francais(
    sauvegarde_sqlite: Path, tmp_path: Path
) -> None:
    neuf, url = _cible(tmp_path)
    tronquee = tmp_path / "tronquee.tar"
    tronquee.write_bytes(sauvegarde_sqlite.read_bytes()[:3000])
    with pytest.raises(SauvegardeErreur, match=r"illisible ou tronquée|ne s'extrait pas"):
        restaurer(tronquee, neuf, url)
    autre = tmp_path / "photo.tar"
    autre.write_bytes(b"\x89PNG\r\n\x1a\n" + os.urandom(2000))
    with pytest.raises(SauvegardeErreur, match="illisible ou tronquée"):
        restaurer(autre, neuf, url)
    assert not (neuf / "registre.sqlite3").exists()


def test_une_base_modifiee_dans_la_sauvegarde_est_refusee(
    sauvegarde_sqlite: Path, tmp_path: Path
) -> None:
    neuf, url = _cible(tmp_path)
    abimee = tmp_path / "abimee.tar"
    with tarfile.open(sauvegarde_sqlite) as tar:
        membre = tar.extractfile("registre.sqlite3")
        assert membre is not None
        base = bytearray(membre.read())
    base[-100] ^= 0xFF
    _retarer(sauvegarde_sqlite, abimee, {"registre.sqlite3": bytes(base)})
    with pytest.raises(SauvegardeErreur, match="ne correspond pas à son manifeste"):
        restaurer(abimee, neuf, url)
    assert not (neuf / "registre.sqlite3").exists()


def test_un_chemin_piege_dans_la_sauvegarde_ne_sort_jamais_du_dossier(
    sauvegarde_sqlite: Path, tmp_path: Path
) -> None:
    neuf, url = _cible(tmp_path)
    piegee = tmp_path / "piegee.tar"
    _retarer(sauvegarde_sqlite, piegee, {"../../evasion.txt": b"dehors"})
    with pytest.raises(SauvegardeErreur, match="ne s'extrait pas"):
        restaurer(piegee, neuf, url)
    assert not (tmp_path / "evasion.txt").exists() and not Path("/evasion.txt").exists()
    assert not (neuf / "registre.sqlite3").exists()
