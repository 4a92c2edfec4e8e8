"""Le banc de charge (preuves/charge.py) en miniature, sur SQLite et sur PostgreSQL : des
secrétaires connectées pour de vrai parcourent la page web pendant une vraie relève ; aucune
requête n'échoue et le registre a chaque courrier une fois, chrono sans trou. Les latences ne
sont qu'imprimées (`make charge`), jamais vérifiées ici."""

from __future__ import annotations

from pathlib import Path

import pytest

from preuves.charge import jouer, rapport

pytestmark = pytest.mark.lent


def test_la_page_web_tient_des_utilisateurs_simultanes_pendant_une_releve(
    url_base: str, tmp_path: Path
) -> None:
    nom = url_base.split(":", 1)[0].split("+", 1)[0]
    resultat = jouer(
        url_base, nom, tmp_path / "banc", elements=40, utilisateurs=8, duree_s=12, graine=7
    )
    texte = rapport(resultat)
    print(texte)
    assert resultat.charge["erreurs"] == 0, texte
    assert resultat.traces_serveur == 0, texte
    assert resultat.releve_code == 0, texte
    assert resultat.enregistres == 40 and resultat.problemes == [], texte
    # La charge a vraiment porté sur les pages, courriers compris, pas seulement la connexion.
    pages = resultat.charge["pages"]
    assert pages["connexion (envoi)"]["requetes"] == 8, texte
    assert pages["/ (file d'attente)"]["requetes"] > 0, texte
    assert resultat.reussi, texte
