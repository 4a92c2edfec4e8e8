"""Les secrétaires simulées du banc de charge (preuves/charge.py), dans leur propre processus.

locust (gevent) remplace les entrées-sorties de tout le processus qui l'importe : il tourne donc
seul ici, jamais à côté de la relève ni du serveur web qu'il mesure.

    CHARGE_MOT_DE_PASSE=… python -m preuves.charge_locust URL UTILISATEURS DUREE_S COMPTES SORTIE

Chaque utilisateur se connecte pour de vrai (page de connexion, jeton CSRF, mot de passe, cookie
de session) sur l'un des COMPTES (séparés par des virgules ; le mot de passe passe par
l'environnement, pas par la ligne de commande que `ps` montre), puis parcourt la file d'attente,
les courriers qu'elle montre et le registre (liste et recherche). Toute réponse autre que 200
est une erreur, une redirection comprise : une session perdue se voit. Les mesures (requêtes,
erreurs, latence médiane et 95e centile, page par page) sont écrites en JSON dans SORTIE.
"""

from __future__ import annotations

import json
import os
import random
import re
import sys
from pathlib import Path
from typing import Any, ClassVar

import gevent
from locust import HttpUser, between, task
from locust.env import Environment
from locust.stats import StatsEntry

NUMERO = re.compile(r"/courrier/(\d{4}-\d{5})\b")
JETON = re.compile(r'name="csrf" value="([^"]+)"')
# Des mots que le courrier généré contient (preuves/generateur.py) et d'autres non.
MOTS = ("mairie", "demande", "voirie", "école", "salle", "facture", "permis", "introuvable")


class Secretaire(HttpUser):
    wait_time = between(0.5, 1.5)
    comptes: tuple[str, ...] = ()
    mot_de_passe = ""
    # Les numéros vus dans la file, partagés : gevent fait tourner tous les utilisateurs dans
    # un seul fil, sans course.
    numeros: ClassVar[list[str]] = []
    vus: ClassVar[set[str]] = set()

    def on_start(self) -> None:
        nom = random.choice(self.comptes)
        with self.client.get("/connexion", name="connexion (page)", catch_response=True) as r:
            jeton = JETON.search(r.text or "")
            if r.status_code != 200 or jeton is None:
                r.failure(f"page de connexion : code {r.status_code}, jeton absent")
                return
        donnees = {"nom": nom, "mot_de_passe": self.mot_de_passe, "csrf": jeton.group(1)}
        with self.client.post(
            "/connexion",
            data=donnees,
            allow_redirects=False,
            name="connexion (envoi)",
            catch_response=True,
        ) as r:
            if r.status_code != 303 or "courrier_session" not in self.client.cookies:
                r.failure(f"connexion refusée : code {r.status_code}")

    def _page(self, chemin: str, nom: str) -> str:
        with self.client.get(
            chemin, name=nom, allow_redirects=False, catch_response=True
        ) as reponse:
            if reponse.status_code != 200:
                reponse.failure(f"code {reponse.status_code}")
                return ""
            return reponse.text or ""

    def _noter(self, texte: str) -> None:
        for numero in NUMERO.findall(texte):
            if numero not in self.vus:
                self.vus.add(numero)
                self.numeros.append(numero)

    @task(3)
    def file_d_attente(self) -> None:
        self._noter(self._page("/", "/ (file d'attente)"))

    @task(3)
    def un_courrier(self) -> None:
        if not self.numeros:
            self._noter(self._page("/registre", "/registre"))
            return
        numero = random.choice(self.numeros)
        self._page(f"/courrier/{numero}", "/courrier/[numéro]")

    @task(2)
    def recherche(self) -> None:
        mot = random.choice(MOTS)
        self._noter(self._page(f"/registre?texte={mot}", "/registre?texte=[mot]"))

    @task(1)
    def registre(self) -> None:
        self._noter(self._page("/registre", "/registre"))


def _mesures(entree: Any) -> dict[str, Any]:
    return {
        "requetes": entree.num_requests,
        "erreurs": entree.num_failures,
        "mediane_ms": entree.median_response_time or 0,
        "p95_ms": entree.get_response_time_percentile(0.95) or 0,
        "max_ms": entree.max_response_time or 0,
    }


def charger(url: str, utilisateurs: int, duree_s: float, comptes: list[str], mdp: str) -> dict:
    Secretaire.comptes = tuple(comptes)
    Secretaire.mot_de_passe = mdp
    env = Environment(user_classes=[Secretaire], host=url)
    runner = env.create_local_runner()
    # Tous connectés en cinq secondes au plus : la charge entière tient la durée demandée.
    runner.start(utilisateurs, spawn_rate=max(1.0, utilisateurs / 5))
    gevent.spawn_later(duree_s, runner.quit)
    assert runner.greenlet is not None
    runner.greenlet.join()
    stats = env.stats
    # La connexion (argon2id, voulu lent) à part : la navigation est ce que la secrétaire attend.
    navigation = StatsEntry(stats, "navigation", "", use_response_times_cache=False)
    for (nom, _), entree in stats.entries.items():
        if not nom.startswith("connexion"):
            navigation.extend(entree)
    return {
        **_mesures(stats.total),
        "navigation": _mesures(navigation),
        "utilisateurs": utilisateurs,
        "duree_s": duree_s,
        "courriers_vus": len(Secretaire.vus),
        "pages": {nom: _mesures(e) for (nom, _), e in sorted(stats.entries.items())},
        "detail_erreurs": [
            f"{e.method} {e.name} : {e.error} ({e.occurrences} fois)" for e in stats.errors.values()
        ],
    }


if __name__ == "__main__":
    url, utilisateurs, duree, comptes, sortie = sys.argv[1:6]
    mdp = os.environ["CHARGE_MOT_DE_PASSE"]
    resultat = charger(url, int(utilisateurs), float(duree), comptes.split(","), mdp)
    Path(sortie).write_text(json.dumps(resultat, ensure_ascii=False), encoding="utf-8")
