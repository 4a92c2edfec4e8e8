"""Ce que coûte OAuth2 à l'ouverture de la boîte IMAP (issue #12, point 4).

    .venv/bin/python -m preuves.oauth [--fois 20]

Un vrai Dovecot (passdb oauth2) et le fournisseur OAuth2 de test, sur 127.0.0.1. Trois façons
d'ouvrir la même boîte, mesurées dans le même passage, `--fois` fois chacune : par mot de passe
(la base), par XOAUTH2 avec le jeton d'accès gardé (déchiffrement du coffre, introspection par
Dovecot), par XOAUTH2 avec un rafraîchissement à chaque fois (un aller-retour de plus chez le
fournisseur, coffre réécrit). Imprime les médianes et leur ratio à la base ; ne vérifie rien.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from cryptography.fernet import Fernet

from connecteurs.imap import ParametresImap, ouvrir
from connecteurs.oauth import CoffreJeton, JetonEnregistre, JetonsOAuth, ParametresOAuth
from preuves import serveurs
from preuves.serveur_oauth import CLIENT, fournisseur_oauth


def chronometrer(p: ParametresImap, fois: int) -> list[float]:
    durees = []
    for _ in range(fois):
        debut = time.perf_counter()
        client, _ = ouvrir(p, lambda c: c.select_folder("INBOX"))
        durees.append(time.perf_counter() - debut)
        client.logout()
    return durees


def main(argv: list[str] | None = None) -> int:
    arguments = argparse.ArgumentParser(description=__doc__)
    arguments.add_argument("--fois", type=int, default=20)
    fois = arguments.parse_args(argv).fois
    with (
        fournisseur_oauth("mairie") as f,
        serveurs.dovecot(["mairie"], f.point_introspection) as d,
        tempfile.TemporaryDirectory() as dossier,
    ):
        cle = Fernet.generate_key()
        coffre = CoffreJeton(Path(dossier) / "jeton.chiffre", lambda: cle)
        donne = f.etat.donner()
        coffre.ecrire(
            JetonEnregistre(
                client_id=CLIENT,
                jeton_rafraichissement=str(donne["refresh_token"]),
                jeton_acces="",
            )
        )
        p_oauth = ParametresOAuth("generique", CLIENT, "imap", f.point_appareil, f.point_jeton)
        jetons = JetonsOAuth(p_oauth, coffre)
        base = ParametresImap(
            "127.0.0.1", d.port, "mairie", serveurs.MOT_DE_PASSE, "aucune", delai_s=10
        )
        toujours_neuf: Callable[[bool], str] = lambda _forcer: jetons(True)  # noqa: E731
        cas = {
            "mot de passe": base,
            "XOAUTH2, jeton gardé": replace(base, jeton=jetons),
            "XOAUTH2, rafraîchi": replace(base, jeton=toujours_neuf),
        }
        chronometrer(base, 2)  # Dovecot démarre ses processus d'identification
        medianes = {nom: statistics.median(chronometrer(p, fois)) for nom, p in cas.items()}
    reference = medianes["mot de passe"]
    for nom, mediane in medianes.items():
        print(f"{nom:24} {mediane * 1000:8.1f} ms  ×{mediane / reference:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
