"""Banc de charge de la page web (issue #14, point 4) : 50 secrétaires pendant une relève.

    .venv/bin/python -m preuves.charge [--base sqlite,postgresql] [--utilisateurs 50]
        [--duree 60] [--elements 300]

Pour chaque base (SQLite, puis PostgreSQL sur une grappe privée démarrée sur 127.0.0.1 comme
dans les tests) : une nuit reproductible (preuves/generateur.py : courriels, PDF joints, lettres
numérisées) est déposée dans les dossiers de dépôt ; la vraie page web (`courrier serveur`)
tourne sur 127.0.0.1 ; la vraie commande `courrier releve` et locust sans écran
(preuves/charge_locust.py, dans son propre processus) démarrent ensemble : les utilisateurs se
connectent et parcourent la file d'attente, les courriers et le registre pendant que le courrier
arrive, pour une durée bornée.

Il imprime, par base : requêtes, erreurs, latence médiane et 95e centile (toutes pages, puis
page par page), durée de la relève, et le bilan du registre après coup : chaque élément déposé
enregistré une fois, chrono sans trou, journal intact. Il sort en 1 si une requête a échoué ou
si un courrier manque ou est en double ; les latences ne sont qu'imprimées.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from preuves.generateur import deposer

RACINE = Path(__file__).resolve().parents[1]
GRAINE = 2026
COMPTES = [f"secretaire{i}" for i in range(1, 6)]


@dataclass
class Resultat:
    base: str
    elements: int
    charge: dict[str, Any] = field(default_factory=dict)
    releve_s: float = 0.0
    releve_code: int = 0
    releve_erreur: str = ""
    enregistres: int = 0
    problemes: list[str] = field(default_factory=list)  # au registre : manque, doublon, trou
    traces_serveur: int = 0

    @property
    def erreurs(self) -> int:
        return int(self.charge.get("erreurs", 0)) + self.traces_serveur

    @property
    def reussi(self) -> bool:
        return (
            self.erreurs == 0
            and not self.problemes
            and self.releve_code == 0
            and self.charge.get("requetes", 0) > 0
        )


def _port_libre() -> int:
    from preuves.serveurs import port_libre

    return port_libre()


def _attendre_port(port: int, processus: subprocess.Popen[bytes], journal: Path) -> None:
    import socket

    fin = time.monotonic() + 60
    while time.monotonic() < fin:
        if processus.poll() is not None:
            raise RuntimeError(f"la page web s'est arrêtée au démarrage ; voir {journal}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError(f"la page web ne répond pas sur 127.0.0.1:{port} ; voir {journal}")


def _environnement(dossier: Path, url_base: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("COURRIER_", "PREFECT_"))}
    env.update(
        {
            "PYTHONPATH": str(RACINE),
            "OMP_THREAD_LIMIT": "1",
            "DO_NOT_TRACK": "1",
            "COURRIER_DONNEES": str(dossier / "donnees"),
            "COURRIER_BASE_DE_DONNEES": url_base,
            "COURRIER_DEPOT_EML": str(dossier / "depot-eml"),
            "COURRIER_DEPOT_SCANS": str(dossier / "depot-scans"),
            "COURRIER_DEPOT_DELAI_STABILITE_S": "0",
            "COURRIER_COMMUNE": "Saint-Aubin-sur-Loire",
        }
    )
    return env


def _creer_comptes(url_base: str, donnees: Path, mot_de_passe: str) -> None:
    from registre.comptes import Comptes
    from registre.registre import Registre

    registre = Registre.ouvrir(url_base, donnees)
    try:
        comptes = Comptes(registre)
        for nom in COMPTES:
            comptes.creer(nom, "secretaire", mot_de_passe, "banc-de-charge")
    finally:
        registre.fermer()


def verifier_registre(url_base: str, donnees: Path, attendus: int) -> tuple[int, list[str]]:
    """(courriers au registre, problèmes) : chaque élément une fois, chrono sans trou."""
    from registre.registre import Registre

    registre = Registre.ouvrir(url_base, donnees)
    try:
        courriers = registre.courriers()
        problemes = []
        if len(courriers) != attendus:
            problemes.append(f"{len(courriers)} courriers au registre pour {attendus} déposés")
        if len({c.empreinte for c in courriers}) != len(courriers):
            problemes.append("des courriers sont enregistrés deux fois (même empreinte)")
        par_annee: dict[int, list[int]] = {}
        for c in courriers:
            par_annee.setdefault(c.annee, []).append(c.rang)
        for annee, rangs in par_annee.items():
            if sorted(rangs) != list(range(1, len(rangs) + 1)):
                problemes.append(f"chrono {annee} avec un trou ou un doublon")
        problemes += [f"journal : {a}" for a in registre.verifier()[:5]]
        return len(courriers), problemes
    finally:
        registre.fermer()


@contextlib.contextmanager
def _processus(commande: list[str], env: dict[str, str], journal: Path) -> Iterator[Any]:
    """Un processus dans son groupe, sortie au journal ; arrêté (groupe entier) en sortant."""
    with journal.open("ab") as sortie:
        processus = subprocess.Popen(
            commande,
            env=env,
            cwd=journal.parent,
            stdin=subprocess.DEVNULL,
            stdout=sortie,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        yield processus
    finally:
        if processus.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(processus.pid, signal.SIGTERM)
            try:
                processus.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(processus.pid, signal.SIGKILL)
                processus.wait(timeout=15)


def jouer(
    url_base: str,
    nom_base: str,
    dossier: Path,
    elements: int,
    utilisateurs: int,
    duree_s: float,
    graine: int = GRAINE,
) -> Resultat:
    """Une relève de `elements` éléments sous `utilisateurs` secrétaires pendant `duree_s`."""
    dossier.mkdir(parents=True, exist_ok=True)
    donnees = dossier / "donnees"
    env = _environnement(dossier, url_base)
    deposer(
        graine, elements, dossier.parent / f"cache-{graine}", dossier / "depot-eml",
        dossier / "depot-scans",
    )  # fmt: skip
    mot_de_passe = secrets.token_urlsafe(16)
    _creer_comptes(url_base, donnees, mot_de_passe)
    resultat = Resultat(base=nom_base, elements=elements)
    port = _port_libre()
    python = sys.executable
    serveur = [python, "-m", "courrier", "serveur", "--hote", "127.0.0.1", "--port", str(port)]
    journal_web = dossier / "serveur.log"
    with _processus(serveur, env, journal_web) as web:
        _attendre_port(port, web, journal_web)
        sortie = dossier / "charge.json"
        locust = [python, "-m", "preuves.charge_locust", f"http://127.0.0.1:{port}"]
        locust += [str(utilisateurs), str(duree_s), ",".join(COMPTES), str(sortie)]
        env_locust = {**env, "CHARGE_MOT_DE_PASSE": mot_de_passe}
        debut = time.monotonic()
        with (
            _processus([python, "-m", "courrier", "releve"], env, dossier / "releve.log") as rel,
            _processus(locust, env_locust, dossier / "locust.log") as charge,
        ):
            charge.wait(timeout=duree_s + 120)
            rel.wait(timeout=1800)
            resultat.releve_code = rel.returncode
        resultat.releve_s = time.monotonic() - debut  # relève et charge démarrées ensemble
        if sortie.exists():
            resultat.charge = json.loads(sortie.read_text(encoding="utf-8"))
        else:
            resultat.charge = {"erreurs": 1, "detail_erreurs": ["locust n'a rien mesuré"]}
    texte_web = journal_web.read_text(encoding="utf-8", errors="replace")
    resultat.traces_serveur = texte_web.count("Traceback")
    if resultat.releve_code != 0:
        lignes = (dossier / "releve.log").read_text(encoding="utf-8", errors="replace")
        resultat.releve_erreur = lignes.strip().splitlines()[-1][:300] if lignes.strip() else ""
    resultat.enregistres, resultat.problemes = verifier_registre(url_base, donnees, elements)
    return resultat


def _ms(valeur: float) -> str:
    return f"{valeur:,.0f}".replace(",", " ") + " ms"


def rapport(r: Resultat) -> str:
    c = r.charge
    lignes = [
        f"Base {r.base} : {c.get('utilisateurs', '?')} utilisateurs pendant "
        f"{c.get('duree_s', '?')} s, relève de {r.elements} éléments",
        f"  requêtes {c.get('requetes', 0)}, erreurs {c.get('erreurs', 0)}, latence médiane "
        f"{_ms(c.get('mediane_ms', 0))}, p95 {_ms(c.get('p95_ms', 0))}, max "
        f"{_ms(c.get('max_ms', 0))} ; {c.get('courriers_vus', 0)} courriers vus",
    ]
    nav = c.get("navigation")
    if nav:
        lignes.append(
            f"  navigation (hors connexion) : {nav['requetes']} req., {nav['erreurs']} err., "
            f"médiane {_ms(nav['mediane_ms'])}, p95 {_ms(nav['p95_ms'])}"
        )
    for nom, m in c.get("pages", {}).items():
        lignes.append(
            f"    {nom:<28} {m['requetes']:>6} req. {m['erreurs']:>4} err. médiane "
            f"{_ms(m['mediane_ms']):>9} p95 {_ms(m['p95_ms']):>9}"
        )
    lignes += [f"    erreur : {e}" for e in c.get("detail_erreurs", [])[:10]]
    lignes.append(
        f"  relève : {'finie' if r.releve_code == 0 else f'code {r.releve_code}'} en "
        f"{r.releve_s:.1f} s (depuis le début de la charge)"
        + (f" — {r.releve_erreur}" if r.releve_erreur else "")
    )
    lignes.append(
        f"  registre : {r.enregistres} / {r.elements} courriers, "
        + ("chacun une fois, chrono sans trou, journal intact" if not r.problemes else "")
        + "; ".join(r.problemes)
    )
    if r.traces_serveur:
        lignes.append(f"  page web : {r.traces_serveur} trace(s) d'erreur dans son journal")
    lignes.append(f"  => {'OK' if r.reussi else 'ÉCHEC'}")
    return "\n".join(lignes)


def main(arguments: list[str] | None = None) -> int:
    analyse = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    analyse.add_argument(
        "--base", default="sqlite,postgresql", help="sqlite, postgresql ou les deux"
    )
    analyse.add_argument("--utilisateurs", type=int, default=50)
    analyse.add_argument("--duree", type=float, default=60.0, help="durée de la charge (s)")
    analyse.add_argument("--elements", type=int, default=300, help="éléments de la relève")
    analyse.add_argument("--graine", type=int, default=GRAINE)
    analyse.add_argument("--dossier", type=Path, help="dossier de travail gardé (sinon temporaire)")
    options = analyse.parse_args(arguments)
    bases = [b.strip() for b in options.base.split(",") if b.strip()]
    if not bases or set(bases) - {"sqlite", "postgresql"}:
        analyse.error("--base : sqlite, postgresql, ou les deux séparés par une virgule")
    with contextlib.ExitStack() as pile:
        racine = options.dossier or Path(pile.enter_context(tempfile.TemporaryDirectory()))
        resultats = []
        for base in bases:
            dossier = racine / base
            if base == "sqlite":
                url = f"sqlite:///{dossier / 'donnees' / 'registre.sqlite3'}"
            else:
                from preuves.serveurs import postgres

                url = pile.enter_context(postgres())
            print(f"Base {base} : relève et charge en cours …", file=sys.stderr, flush=True)
            r = jouer(
                url, base, dossier, options.elements, options.utilisateurs, options.duree,
                options.graine,
            )  # fmt: skip
            print(rapport(r), flush=True)
            resultats.append(r)
    return 0 if all(r.reussi for r in resultats) else 1


if __name__ == "__main__":
    sys.exit(main())
