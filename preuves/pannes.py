"""Banc d'essai des pannes : une nuit tuée (SIGKILL) à un point tiré au sort, puis relancée.

    python -m preuves.pannes [--essais 50] [--graine 2026] [--rapide]

Chaque essai part de rien : une boîte neuve (un compte à lui sur un Dovecot lancé sur
127.0.0.1) où sont déposés quelques courriels (certains avec un PDF joint), un dossier de
scans (dont un lot : trois lettres et leurs feuilles séparatrices en un PDF, preuves/jeu_lots.py),
un dossier de données neuf (registre SQLite, archive). La nuit (preuves/nuit.py) tourne
dans un processus à part avec `COURRIER_PANNE=point:passage` ; elle doit mourir par SIGKILL à
ce point, et tout son groupe de processus (processus d'OCR compris) est tué avec elle, comme
par une coupure de courant. Une seconde nuit, sans panne, doit alors tout finir. L'analyse se
fait tantôt par les règles seules (le réglage par défaut), tantôt avec un LLM (le serveur
compatible OpenAI des tests, par le vrai client). On vérifie ensuite :

- chaque courriel (par Message-ID) et chaque scan (par sha256) est au registre une fois et une
  seule, ses octets d'origine dans l'archive ;
- les numéros chrono se suivent sans trou (1..N), `Registre.verifier()` ne trouve rien ;
- la boîte : INBOX vide, « Traité » contient chaque message exactement une fois ; le dossier
  de scans : vide hormis `traites/`, qui contient chaque scan exactement une fois ;
- chaque courrier est lu et analysé, une fois (un seul événement de chaque étape), sans
  erreur, et ses brouillons sont ceux d'une nuit sans panne (la nuit témoin) : aucun en double ;
- un seul doublon reconnu, et seulement après une panne entre la validation et le rangement ;
  sauf si la panne tombe au milieu du lot de scans : ses lettres déjà enregistrées (au plus
  trois) sont alors reconnues à la reprise, et rien d'autre. Le lot est rangé une fois dans
  `traites/`, chacune de ses lettres est au registre une fois (par le sha256 de son PDF).

Sur les doublons dans « Traité » : Dovecot annonce MOVE (RFC 6851), déplacement atomique ;
aucun doublon n'est donc toléré. Un serveur sans MOVE passe par COPY puis EXPUNGE : une panne
entre les deux laisserait le message dans les deux dossiers, et la nuit suivante (qui le
reconnaît sans le réenregistrer) le copierait une seconde fois dans « Traité » ; ce cas n'est
pas exercé ici.

Après l'analyse, la secrétaire (simulée) valide par courriel chaque brouillon qui a une adresse,
et l'envoi part vers un vrai serveur SMTP (aiosmtpd, 127.0.0.1), avec la copie dans
« Envoyés » de la boîte de l'essai. Trois points de panne tombent pendant l'envoi (avant
l'appel SMTP, après son acceptation, après la copie). On vérifie aussi qu'aucune réponse n'est
reçue deux fois, et que chaque brouillon validé finit envoyé (reçu une fois, sous son
Message-ID) ou, seulement après une panne pendant l'envoi, « à vérifier » pour la secrétaire.
"""

from __future__ import annotations

import argparse
import signal
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field

from preuves.nuit_d_essai import (
    DELAI_NUIT_S,
    DOMAINE_MAIRIE,
    PROCESSUS_OCR,
    RACINE,
    TRAITE,
    Boite,
    dossier_d_essai,
    environnement,
    fin_erreurs,
    lancer_nuit,
    remplir,
)
from preuves.points_de_panne import (
    POINTS,
    POINTS_DU_LOT,
    POINTS_ENVOI,
    REPONSES_MIN,
    Essai,
    Point,
    tirer_essais,
)
from preuves.serveur_llm import ServeurLLM
from preuves.serveurs import ServeurSmtp, dovecot, serveur_smtp
from preuves.verification_nuit import message_ids, verifier_envoi, verifier_nuit

# Le banc est découpé en modules voisins ; les noms d'avant restent importables d'ici.
__all__ = [
    "DELAI_NUIT_S",
    "DOMAINE_MAIRIE",
    "POINTS",
    "POINTS_DU_LOT",
    "POINTS_ENVOI",
    "PROCESSUS_OCR",
    "RACINE",
    "REPONSES_MIN",
    "TRAITE",
    "Bilan",
    "Boite",
    "Essai",
    "Point",
    "Resultat",
    "campagne",
    "comparer",
    "environnement",
    "jouer",
    "lancer_nuit",
    "ligne",
    "main",
    "message_ids",
    "remplir",
    "serveur_llm",
    "tirer_essais",
    "verifier_envoi",
    "verifier_nuit",
]


@dataclass
class Resultat:
    essai: Essai | None  # None : la nuit témoin
    llm: bool
    anomalies: list[str] = field(default_factory=list)
    duree_s: float = 0.0
    signature: dict[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def reussi(self) -> bool:
        return not self.anomalies


def jouer(
    essai: Essai | None, boite: Boite, url_llm: str | None, smtp: ServeurSmtp | None = None
) -> Resultat:
    """Un essai ; sans essai, la nuit témoin (sans panne) du moteur d'analyse donné."""
    resultat = Resultat(essai, llm=url_llm is not None)
    debut = time.monotonic()
    with dossier_d_essai(boite.utilisateur, lambda: not resultat.reussi) as dossier:
        try:
            remplir(boite, dossier, avec_lot=True)
            env = environnement(boite, dossier, url_llm, smtp.port if smtp else None)
            if essai is not None:
                code = lancer_nuit(env, dossier, "nuit-tuee", essai.panne)
                attendu = -signal.SIGKILL if POINTS[essai.point].tue_la_nuit else 0
                if code != attendu:
                    resultat.anomalies.append(
                        f"la nuit avec panne a rendu {code}, attendu {attendu} "
                        f"({fin_erreurs(dossier, 'nuit-tuee')})"
                    )
            code = lancer_nuit(env, dossier, "nuit-reprise")
            if code != 0:
                resultat.anomalies.append(
                    f"la nuit de reprise a rendu {code} ({fin_erreurs(dossier, 'nuit-reprise')})"
                )
            doublons = essai.doublons_attendus if essai else 0
            permis = essai is not None and essai.point in POINTS_DU_LOT
            anomalies, resultat.signature = verifier_nuit(
                boite, dossier, doublons, permis, avec_lot=True
            )
            resultat.anomalies += anomalies
            if smtp is not None:
                adresse = f"{boite.utilisateur}@{DOMAINE_MAIRIE}"
                recus = [m for de, _, m in list(smtp.boite.messages) if de == adresse]
                resultat.anomalies += verifier_envoi(dossier, recus, essai.point if essai else None)
        except Exception as e:  # le banc lui-même : dit comme un échec de l'essai
            resultat.anomalies.append(f"essai interrompu : {e.__class__.__name__}: {e}")
        if not resultat.reussi:
            resultat.anomalies.append(f"dossier gardé : {dossier}")
    resultat.duree_s = time.monotonic() - debut
    return resultat


def ligne(resultat: Resultat) -> str:
    essai = resultat.essai
    moteur = "LLM" if resultat.llm else "règles"
    tete = f"essai {essai.numero:02d}  {essai.panne:<22}" if essai else f"{'nuit témoin':<32}"
    tete += f"  {moteur:<6}"
    verdict = "réussi" if resultat.reussi else "ÉCHEC : " + " ; ".join(resultat.anomalies)
    return f"{tete}  {resultat.duree_s:5.1f} s  {verdict}"


@dataclass
class Bilan:
    reussis: int = 0
    echoues: int = 0
    resultats: list[Resultat] = field(default_factory=list)


def comparer(resultat: Resultat, temoin: Resultat) -> None:
    """Après reprise, chaque courrier a l'analyse et les brouillons d'une nuit sans panne."""
    if not resultat.signature or resultat.signature == temoin.signature:
        return
    differents = sorted(
        k
        for k in set(temoin.signature) | set(resultat.signature)
        if temoin.signature.get(k) != resultat.signature.get(k)
    )
    ecarts = [f"{k} : {resultat.signature.get(k)} ≠ {temoin.signature.get(k)}" for k in differents]
    resultat.anomalies.append(
        "analyse ou brouillons différents de la nuit témoin : " + " ; ".join(ecarts)
    )


@contextmanager
def serveur_llm() -> Iterator[ServeurLLM]:
    with ServeurLLM() as llm:
        # Une nuit tuée coupe ses connexions en plein vol : le serveur de test écrirait une
        # trace sur la sortie d'erreur à chaque fois.
        llm.taire_les_coupures()
        yield llm


def campagne(
    essais: list[Essai], paralleles: int = 3, ecrire: Callable[[str], None] = print
) -> Bilan:
    """Les nuits témoins et les essais, `paralleles` à la fois (chacun a sa boîte et ses
    dossiers) ; une ligne par essai, dans l'ordre."""
    bilan = Bilan()
    modes = sorted({e.llm for e in essais}, reverse=True)
    comptes = [*(f"temoin-{'llm' if m else 'regles'}" for m in modes)]
    comptes += [f"essai{e.numero:02d}" for e in essais]
    with (
        serveur_llm() as llm,
        serveur_smtp() as smtp,
        dovecot(comptes) as serveur,
        ThreadPoolExecutor(max_workers=max(1, paralleles)) as pool,
    ):
        temoins = {
            m: pool.submit(
                jouer,
                None,
                Boite(serveur, f"temoin-{'llm' if m else 'regles'}"),
                llm.url if m else None,
                smtp,
            )
            for m in modes
        }
        futurs = [
            pool.submit(
                jouer,
                e,
                Boite(serveur, f"essai{e.numero:02d}"),
                llm.url if e.llm else None,
                smtp,
            )
            for e in essais
        ]
        resultats_temoins = {m: f.result() for m, f in temoins.items()}
        for temoin in resultats_temoins.values():
            ecrire(ligne(temoin))
        if not all(t.reussi for t in resultats_temoins.values()):
            # Sans nuit témoin correcte, les essais ne prouvent rien.
            pool.shutdown(cancel_futures=True)
            bilan.echoues += 1
            return bilan
        for essai, futur in zip(essais, futurs, strict=True):
            resultat = futur.result()
            comparer(resultat, resultats_temoins[essai.llm])
            ecrire(ligne(resultat))
            bilan.resultats.append(resultat)
            if resultat.reussi:
                bilan.reussis += 1
            else:
                bilan.echoues += 1
    return bilan


def main(arguments: list[str] | None = None) -> int:
    parseur = argparse.ArgumentParser(
        prog="python -m preuves.pannes",
        description="Tue la relève (SIGKILL) à des points tirés au sort, la relance, vérifie.",
    )
    parseur.add_argument("--essais", type=int, default=50, help="nombre d'essais (50)")
    parseur.add_argument("--graine", type=int, default=2026, help="graine du tirage (2026)")
    parseur.add_argument(
        "--rapide", action="store_true", help="un essai par point de panne (pour les tests)"
    )
    parseur.add_argument("--paralleles", type=int, default=3, help="essais menés en même temps (3)")
    args = parseur.parse_args(arguments)
    nombre = len(POINTS) if args.rapide else args.essais
    debut = time.monotonic()
    print(f"graine {args.graine}, {nombre} essais, points : {', '.join(sorted(POINTS))}")
    bilan = campagne(
        tirer_essais(nombre, args.graine), args.paralleles, lambda t: print(t, flush=True)
    )
    print(f"durée totale : {time.monotonic() - debut:.0f} s")
    print(f"{bilan.reussis} passed, {bilan.echoues} failed")
    return 1 if bilan.echoues else 0


if __name__ == "__main__":
    sys.exit(main())
