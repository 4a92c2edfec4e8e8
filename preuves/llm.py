"""Banc d'essai du LLM en panne : une nuit entière dont chaque courrier tombe sur une panne.

    python -m preuves.llm [--nuits 3] [--rapide]

Chaque nuit part de rien, comme celles de preuves/pannes.py : une boîte neuve sur un Dovecot
lancé sur 127.0.0.1 (six courriels), un dossier de trois lettres numérisées, un dossier de
données neuf. L'analyse se fait par le vrai client `openai` contre le serveur compatible
OpenAI des tests, qui donne à chaque courrier (reconnu par son numéro chrono, cité dans la
requête) une panne de la liste `FAUTES`, à tour de rôle : délai dépassé, 429 avec
Retry-After, 500, JSON tronqué, JSON illisible, réponse absurde mais conforme au schéma, un
vrai blocage de 60 s (le serveur ne répond pas avant 60 s ; le client, réglé par
`COURRIER_LLM_DELAI_S`, abandonne bien avant), et des pannes passagères suivies d'une bonne
réponse. D'une nuit à l'autre, la liste tourne et la borne `COURRIER_LLM_PARALLELE` change.

On vérifie ensuite :

- la nuit finit (code 0) ; tout ce que vérifie preuves/pannes.py après une nuit est vrai
  (chaque pièce une fois au registre, chrono sans trou, `verifier()` propre, chaque courrier
  lu et analysé une seule fois, sans erreur) ;
- chaque courrier a bien reçu sa panne, et en porte la trace attendue : une panne qui dure
  donne l'analyse des règles et l'alerte `llm_indisponible` ; une réponse absurde, l'alerte
  `a_verifier` (et `llm_incoherent`) ; une panne passagère, l'analyse du LLM, sans alerte ;
- aucun courrier ne reçoit plus d'appels que `COURRIER_LLM_TENTATIVES` (un de plus pour un
  JSON illisible, réessayé en mode « objet JSON ») ;
- le serveur n'a jamais vu plus de requêtes en cours que la borne, en ne comptant que celles
  dont le client attend encore la réponse (une requête abandonnée sur délai occupe encore le
  serveur, pas le client) ; le maximum brut est affiché aussi.

Une ligne par nuit, puis `N passed, N failed` ; le dossier d'une nuit en échec est gardé.
"""

from __future__ import annotations

import argparse
import re
import select
import socket
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from preuves.jeu import courriels, scans
from preuves.nuit_d_essai import (
    Boite,
    dossier_d_essai,
    environnement,
    fin_erreurs,
    lancer_nuit,
    remplir,
)
from preuves.serveur_llm import GestionnaireLLM, ServeurLLM
from preuves.serveurs import dovecot
from preuves.verification_nuit import verifier_nuit
from registre.archive import Archive
from registre.base import creer_engine
from registre.registre import Registre

DELAI_CLIENT_S = 2.0  # COURRIER_LLM_DELAI_S : bien plus court que le blocage
TENTATIVES = 3  # COURRIER_LLM_TENTATIVES (la valeur par défaut)
BLOCAGE_S = 60.0


@dataclass(frozen=True)
class Faute:
    """Ce que le serveur répond aux appels d'analyse d'un courrier, tentative après tentative."""

    nom: str
    ensuite: str  # le comportement de toutes les tentatives après `premieres`
    attendu: str  # "repli" (règles, llm_indisponible), "a_verifier" ou "llm" (sans alerte)
    premieres: tuple[str, ...] = ()

    def comportement(self, tentative: int) -> str:
        if tentative <= len(self.premieres):
            return self.premieres[tentative - 1]
        return self.ensuite


FAUTES = (
    Faute("délai dépassé", f"attente:{DELAI_CLIENT_S + 3}", "repli"),
    Faute("429 Retry-After", "429", "repli"),
    Faute("500", "500", "repli"),
    Faute("JSON tronqué", "tronque", "repli"),
    Faute("absurde conforme", "categorie_inconnue", "a_verifier"),
    Faute("blocage 60 s", f"attente:{BLOCAGE_S}", "repli"),
    Faute("429 puis réponse", "ok", "llm", ("429",)),
    Faute("500 puis réponse", "ok", "llm", ("500",)),
    Faute("JSON illisible", "json_invalide", "repli"),
)
_RANG = re.compile(r"Courrier n° \d{4}-(\d{5})")


@dataclass
class _Requete:
    connexion: socket.socket | None = None
    vivante: bool = True  # le client attend encore la réponse
    comportement: str = "ok"


def _client_parti(connexion: socket.socket) -> bool:
    """Vrai si le client a fermé la connexion (le corps de la requête est déjà lu)."""
    try:
        lisible, _, _ = select.select([connexion], [], [], 0)
        if not lisible:
            return False
        return connexion.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) == b""
    except BlockingIOError:
        return False
    except OSError:
        return True


class ServeurEnPanne(ServeurLLM):
    """Le serveur des tests, dont chaque courrier reçoit sa panne (`fautes[rang - 1]`)."""

    def __init__(self, fautes: list[Faute]) -> None:
        super().__init__()
        self.fautes = fautes
        self.appels: Counter[int] = Counter()  # appels d'analyse par rang
        self.vivantes_max = 0
        self.abandons = 0  # requêtes dont le client est parti avant la réponse
        self.blocages_finis = 0  # attentes menées jusqu'au bout, client présent ou non
        self._vivantes = 0
        self._attentes: set[int] = set()
        self._en_attente: dict[int, _Requete] = {}
        self._local = threading.local()
        self.gestionnaire = GestionnaireEnPanne

    def __enter__(self) -> ServeurEnPanne:
        super().__enter__()
        # Un client qui abandonne coupe sa connexion : pas de trace sur la sortie d'erreur.
        self.taire_les_coupures()
        return self

    def entrer(self, corps: str, requete: dict[str, Any], entetes: dict[str, str]) -> None:
        super().entrer(corps, requete, entetes)
        trouve = _RANG.search(_texte(requete))
        analyse = bool(requete.get("response_format"))
        courante = _Requete()
        with self.verrou:
            # Avant de compter celle-ci : les requêtes abandonnées entre-temps ne comptent plus
            # (le client ferme sa connexion avant de libérer sa place).
            for autre in self._en_attente.values():
                if autre.vivante and autre.connexion and _client_parti(autre.connexion):
                    self._abandonner(autre)
            self._vivantes += 1
            self.vivantes_max = max(self.vivantes_max, self._vivantes)
            if analyse and trouve:
                rang = int(trouve.group(1))
                self.appels[rang] += 1
                faute = self.fautes[(rang - 1) % len(self.fautes)]
                courante.comportement = faute.comportement(self.appels[rang])
        self._local.requete = courante

    def _abandonner(self, requete: _Requete) -> None:
        requete.vivante = False
        self._vivantes -= 1
        self.abandons += 1

    def prochain(self) -> str:
        return str(self._local.requete.comportement)

    def sortir(self) -> None:
        super().sortir()
        requete: _Requete = self._local.requete
        with self.verrou:
            if requete.vivante:
                requete.vivante = False
                self._vivantes -= 1

    def attendre(self, connexion: socket.socket, secondes: float) -> bool:
        """Ne répond pas pendant `secondes`, même si le client s'en va ; rend vrai s'il est
        parti."""
        requete: _Requete = self._local.requete
        requete.connexion = connexion
        cle = threading.get_ident()
        with self.verrou:
            self._en_attente[cle] = requete
        fin = time.monotonic() + secondes
        try:
            while not self.arret.is_set() and (reste := fin - time.monotonic()) > 0:
                select.select([connexion], [], [], min(reste, 0.05))
                with self.verrou:
                    if requete.vivante and _client_parti(connexion):
                        self._abandonner(requete)
                if not requete.vivante:
                    self.arret.wait(min(max(fin - time.monotonic(), 0), 0.05))
            with self.verrou:
                self.blocages_finis += not self.arret.is_set()
        finally:
            with self.verrou:
                del self._en_attente[cle]
        return not requete.vivante


class GestionnaireEnPanne(GestionnaireLLM):
    serveur_llm: ServeurEnPanne

    def repondre(self, serveur: ServeurLLM, requete: dict[str, Any]) -> None:
        assert isinstance(serveur, ServeurEnPanne)
        comportement = serveur.prochain()
        if comportement.startswith("attente:"):
            if serveur.attendre(self.connection, float(comportement.split(":", 1)[1])):
                return  # le client est parti : personne à qui répondre
            serveur._local.requete.comportement = "ok"
        super().repondre(serveur, requete)


def _texte(requete: dict[str, Any]) -> str:
    return "\n".join(str(m.get("content", "")) for m in requete.get("messages", []))


# --- Une nuit --------------------------------------------------------------------------------


@dataclass
class Nuit:
    numero: int
    decalage: int  # la liste des fautes tourne de ce rang
    parallele: int
    anomalies: list[str] = field(default_factory=list)
    duree_s: float = 0.0
    duree_nuit_s: float = 0.0
    vivantes_max: int = 0
    concurrence_brute: int = 0
    abandons: int = 0
    par_llm: int = 0
    replis: int = 0

    @property
    def reussie(self) -> bool:
        return not self.anomalies

    def fautes(self) -> list[Faute]:
        return [*FAUTES[self.decalage :], *FAUTES[: self.decalage]]


def verifier_analyses(nuit: Nuit, serveur: ServeurEnPanne, registre: Registre) -> None:
    fautes = nuit.fautes()
    courriers = registre.courriers()
    for c in courriers:
        faute = fautes[(c.rang - 1) % len(fautes)]
        alertes = set(filter(None, (c.alertes or "").split(",")))
        par_llm = (c.moteur or "").startswith("llm:")
        nuit.par_llm += par_llm
        nuit.replis += "llm_indisponible" in alertes
        quoi = f"{c.numero} ({faute.nom})"
        appels = serveur.appels[c.rang]
        if appels == 0:
            nuit.anomalies.append(f"{quoi} : aucun appel d'analyse reçu par le serveur")
        maxi = TENTATIVES + (faute.ensuite == "json_invalide")
        if appels > maxi:
            nuit.anomalies.append(f"{quoi} : {appels} appels d'analyse, au plus {maxi} attendus")
        if faute.attendu == "repli" and (par_llm or "llm_indisponible" not in alertes):
            nuit.anomalies.append(
                f"{quoi} : moteur « {c.moteur} », alertes {sorted(alertes)} ; "
                "attendu : les règles et llm_indisponible"
            )
        elif faute.attendu == "a_verifier" and "a_verifier" not in alertes:
            nuit.anomalies.append(f"{quoi} : alertes {sorted(alertes)}, a_verifier attendue")
        elif faute.attendu == "llm" and (not par_llm or "llm_indisponible" in alertes):
            nuit.anomalies.append(
                f"{quoi} : moteur « {c.moteur} », alertes {sorted(alertes)} ; "
                "attendu : l'analyse du LLM après la panne passagère"
            )


def jouer(nuit: Nuit, boite: Boite) -> None:
    debut = time.monotonic()
    with (
        dossier_d_essai(f"llm-{nuit.numero}", lambda: not nuit.reussie) as dossier,
        ServeurEnPanne(nuit.fautes()) as serveur,
    ):
        try:
            remplir(boite, dossier)
            env = environnement(boite, dossier, serveur.url)
            env.update(
                COURRIER_LLM_DELAI_S=str(DELAI_CLIENT_S),
                COURRIER_LLM_TENTATIVES=str(TENTATIVES),
                COURRIER_LLM_PARALLELE=str(nuit.parallele),
            )
            debut_nuit = time.monotonic()
            code = lancer_nuit(env, dossier, "nuit")
            nuit.duree_nuit_s = time.monotonic() - debut_nuit
            if code != 0:
                nuit.anomalies.append(f"la nuit a rendu {code} ({fin_erreurs(dossier, 'nuit')})")
            anomalies, _ = verifier_nuit(boite, dossier, doublons_attendus=0)
            nuit.anomalies += anomalies
            donnees = dossier / "donnees"
            registre = Registre(
                creer_engine(f"sqlite:///{donnees / 'registre.sqlite3'}"),
                Archive(donnees / "archive"),
            )
            try:
                verifier_analyses(nuit, serveur, registre)
            finally:
                registre.fermer()
            nuit.vivantes_max = serveur.vivantes_max
            nuit.concurrence_brute = serveur.concurrence_max
            nuit.abandons = serveur.abandons
            if serveur.vivantes_max > nuit.parallele:
                nuit.anomalies.append(
                    f"{serveur.vivantes_max} requêtes en cours à la fois, borne {nuit.parallele}"
                )
            if serveur.abandons == 0:
                nuit.anomalies.append(
                    "aucune requête abandonnée sur délai : le blocage n'a pas agi"
                )
        except Exception as e:  # le banc lui-même : dit comme un échec de la nuit
            nuit.anomalies.append(f"nuit interrompue : {e.__class__.__name__}: {e}")
        if not nuit.reussie:
            nuit.anomalies.append(f"dossier gardé : {dossier}")
    nuit.duree_s = time.monotonic() - debut


def ligne(nuit: Nuit) -> str:
    tete = (
        f"nuit {nuit.numero:02d}  décalage {nuit.decalage}  borne {nuit.parallele}  "
        f"{nuit.duree_nuit_s:5.1f} s  LLM {nuit.par_llm}, replis {nuit.replis}  "
        f"en cours ≤ {nuit.vivantes_max} (brut {nuit.concurrence_brute}, "
        f"{nuit.abandons} abandonnées)"
    )
    verdict = "réussie" if nuit.reussie else "ÉCHEC : " + " ; ".join(nuit.anomalies)
    return f"{tete}  {verdict}"


def nuits(nombre: int) -> list[Nuit]:
    """Chaque nuit décale la liste des fautes de 4 (toutes les fautes changent de courrier,
    scans et courriels) et prend une autre borne."""
    bornes = (2, 3, 1, 4)
    return [Nuit(i + 1, (4 * i) % len(FAUTES), bornes[i % len(bornes)]) for i in range(nombre)]


def main(arguments: list[str] | None = None) -> int:
    parseur = argparse.ArgumentParser(
        prog="python -m preuves.llm",
        description="Une nuit de relève contre un LLM qui tombe en panne de toutes les façons.",
    )
    parseur.add_argument("--nuits", type=int, default=3, help="nombre de nuits (3)")
    parseur.add_argument("--rapide", action="store_true", help="une seule nuit (pour les tests)")
    args = parseur.parse_args(arguments)
    a_jouer = nuits(1 if args.rapide else args.nuits)
    n = len(courriels()) + len(scans())
    print(
        f"{len(a_jouer)} nuit(s) de {n} courriers ; délai du client {DELAI_CLIENT_S:g} s, "
        f"{TENTATIVES} tentatives ; fautes : {', '.join(f.nom for f in FAUTES)}",
        flush=True,
    )
    debut = time.monotonic()
    reussies = echouees = 0
    with dovecot([f"nuit{n.numero:02d}" for n in a_jouer]) as serveur_imap:
        for nuit in a_jouer:
            jouer(nuit, Boite(serveur_imap, f"nuit{nuit.numero:02d}"))
            print(ligne(nuit), flush=True)
            reussies += nuit.reussie
            echouees += not nuit.reussie
    print(f"durée totale : {time.monotonic() - debut:.0f} s")
    print(f"{reussies} passed, {echouees} failed")
    return 1 if echouees else 0


if __name__ == "__main__":
    sys.exit(main())
