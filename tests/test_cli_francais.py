"""L'aide et les erreurs de la ligne de commande sont entièrement en français (issue #13, point 5).

Chaque commande et chaque groupe est parcouru depuis l'application elle-même : une commande
ajoutée demain est vérifiée sans toucher à ce fichier.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator

import pytest
from typer.main import get_command
from typer.testing import CliRunner

from interfaces.cli import app
from tests.conftest import COURRIER

# Ce que Click et pydantic écrivent en anglais quand rien n'est traduit.
ANGLAIS = (
    "Usage:",
    "Options:\n  --help",
    "Show this message",
    "Commands:",
    "[default",
    "[required]",
    "Try '",
    "Error:",
    "Missing ",
    "No such",
    "Invalid value",
    "Input should",
    "Value error",
    "unexpected",
    "requires an argument",
    "<str>",
    "<int",
    "<path>",
    "<float",
    "Aborted",
)


def _anglais(texte: str) -> list[str]:
    return [mot for mot in ANGLAIS if mot in texte]


def _chemins(commande: object, chemin: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    yield chemin
    for nom, sous in getattr(commande, "commands", {}).items():
        yield from _chemins(sous, (*chemin, nom))


CHEMINS = list(_chemins(get_command(app)))


def test_chaque_commande_a_ete_trouvee() -> None:
    # Le parcours lui-même : s'il ne descendait pas dans les groupes, le test suivant ne
    # vérifierait presque rien.
    assert ("registre", "export") in CHEMINS
    assert ("utilisateur", "ajouter") in CHEMINS
    assert len(CHEMINS) >= 20


@pytest.mark.parametrize("chemin", CHEMINS, ids=lambda c: " ".join(c) or "courrier")
def test_l_aide_de_chaque_commande_est_en_francais(chemin: tuple[str, ...]) -> None:
    resultat = CliRunner().invoke(app, [*chemin, "--aide"])
    assert resultat.exit_code == 0, resultat.output
    assert resultat.output.startswith("Utilisation : "), resultat.output
    assert "Affiche cette aide et s'arrête." in resultat.output
    assert not _anglais(resultat.output), (_anglais(resultat.output), resultat.output)
    # --help reste accepté (habitude des intégrateurs) et donne la même page.
    assert CliRunner().invoke(app, [*chemin, "--help"]).output == resultat.output


@pytest.mark.parametrize(
    ("arguments", "attendu"),
    [
        (["montrer"], "Il manque l'argument « NUMERO »."),
        (["montrer", "2026-00001", "en-trop"], "Argument en trop : en-trop."),
        (["inexistante"], "Commande inconnue : « inexistante »."),
        (["serveur", "--portt", "3"], "Option inconnue : --portt. Options possibles : --hote"),
        (["serveur", "--port", "abc"], "« abc » n'est pas un nombre entier."),
        (["serveur", "--port", "0"], "« 0 » doit être supérieur ou égal à 1."),
        (["serveur", "--port", "70000"], "« 70000 » doit être inférieur ou égal à 65535."),
        (["serveur", "--hote"], "L'option --hote attend une valeur."),
        (
            ["registre", "export", "--format", "doc", "--sortie", "x"],
            "« doc » n'est pas permis ; valeurs possibles : csv, xlsx, pdf.",
        ),
        (["registre", "export", "--format", "csv"], "Il manque l'option « --sortie »."),
        (["registre", "export", "--annee", "deux-mille", "--format", "csv"], "nombre entier"),
        (
            ["utilisateur", "ajouter", "marie", "--role", "chef"],
            "« chef » n'est pas permis ; valeurs possibles : secretaire, maire, admin, elu.",
        ),
        (["registre", "verifier", "--xml"], "Option inconnue : --xml."),
    ],
)
def test_une_erreur_d_utilisation_est_une_phrase_francaise(
    arguments: list[str], attendu: str
) -> None:
    resultat = CliRunner().invoke(app, arguments)
    assert resultat.exit_code == 2, resultat.output
    assert "Erreur : " in resultat.output
    assert attendu in resultat.output, resultat.output
    assert not _anglais(resultat.output), (_anglais(resultat.output), resultat.output)
    assert "Traceback" not in resultat.output


def test_un_groupe_sans_commande_montre_son_aide_en_francais() -> None:
    resultat = CliRunner().invoke(app, ["registre"])
    assert "Commandes:" in resultat.output and "export" in resultat.output
    assert not _anglais(resultat.output), resultat.output


def test_la_vraie_commande_parle_francais_sur_sa_sortie_d_erreur(tmp_path: object) -> None:
    # Le programme installé, dans un processus à part : c'est ce que voit la secrétaire.
    env = {**os.environ, "COURRIER_DONNEES": str(tmp_path)}
    fini = subprocess.run(
        [*COURRIER, "montrer"], capture_output=True, text=True, timeout=120, env=env
    )
    assert fini.returncode == 2
    assert fini.stdout == ""
    assert "Erreur : Il manque l'argument « NUMERO »." in fini.stderr
    assert "Utilisation : " in fini.stderr and "--aide" in fini.stderr
    assert not _anglais(fini.stderr), fini.stderr
