"""Banc de performance : la nuit mesurée, dans son propre processus (`python -m preuves.bench
--enfant`) : le flow `releve` chronométré tâche par tâche, et le pic de mémoire des processus."""

from __future__ import annotations

import functools
import json
import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any

from preuves.processus import descendants as descendants_de
from preuves.processus import enfants_de, lire_processus


def _vmhwm_mo(pid: int | str = "self") -> float:
    try:
        texte = Path(f"/proc/{pid}/status").read_text(encoding="ascii", errors="replace")
    except OSError:
        return 0.0
    for ligne in texte.splitlines():
        if ligne.startswith("VmHWM:"):
            return int(ligne.split()[1]) / 1024
    return 0.0


class Echantillonneur(threading.Thread):
    """Pic de mémoire des descendants : processus de lecture, tesseract, autres (Prefect)."""

    def __init__(self, periode_s: float = 0.25) -> None:
        super().__init__(daemon=True)
        self.periode_s = periode_s
        self.pics: dict[str, float] = {"lecture": 0.0, "tesseract": 0.0, "autres": 0.0}
        self._arret = threading.Event()

    def run(self) -> None:
        while not self._arret.wait(self.periode_s):
            self.releve()

    def arreter(self) -> None:
        self._arret.set()
        self.join(timeout=5)
        self.releve()

    def releve(self) -> None:
        processus = lire_processus()
        parents = {pid: p.parent for pid, p in processus.items()}
        noms = {pid: p.commande for pid, p in processus.items()}
        descendants = set(descendants_de(os.getpid(), enfants_de(processus)))
        lecteurs = {p for p in descendants if "forkserver" in noms.get(p, "")}
        for pid in descendants:
            commande = noms.get(pid, "")
            if "tesseract" in commande.split(" ", 1)[0]:
                classe = "tesseract"
            elif pid in lecteurs or parents.get(pid) in lecteurs:
                classe = "lecture"
            else:
                classe = "autres"
            self.pics[classe] = max(self.pics[classe], _vmhwm_mo(pid))


def nuit_enfant(sortie: Path) -> None:
    """Corps du processus de la nuit : le flow `releve` chronométré, deux fois."""
    depart = time.perf_counter()
    from prefect import Task

    import flows.releve as flow_releve

    imports_s = time.perf_counter() - depart
    intervalles: list[tuple[str, float, float]] = []
    verrou = threading.Lock()
    limite = {"cumul_s": 0.0, "appels": 0}
    origine = [0.0]

    def chronometrer(nom: str, fonction: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(fonction)
        def enveloppe(*args: Any, **kwargs: Any) -> Any:
            debut = time.perf_counter()
            try:
                return fonction(*args, **kwargs)
            finally:
                with verrou:
                    intervalles.append((nom, debut - origine[0], time.perf_counter() - origine[0]))

        return enveloppe

    for objet in list(vars(flow_releve).values()):
        if isinstance(objet, Task):
            objet.fn = chronometrer(objet.name, objet.fn)

    limiteur_origine = flow_releve._limite_globale_llm

    @contextmanager
    def limiteur_chronometre() -> Iterator[object]:
        debut = time.perf_counter()
        gestionnaire: AbstractContextManager[object] = limiteur_origine()
        with gestionnaire as place:
            pris = time.perf_counter()
            yield place
            rendu = time.perf_counter()
        with verrou:
            limite["cumul_s"] += (pris - debut) + (time.perf_counter() - rendu)
            limite["appels"] += 1

    flow_releve._limite_globale_llm = limiteur_chronometre

    # Chaque courrier lu passe par le rapport (la barre de progression de la CLI) : son instant
    # donne le débit de la fin de la lecture, où il ne reste que les scans.
    lus: list[float] = []

    class RapportChrono:
        def debut(self, etape: str, total: int | None) -> None:
            pass

        def avance(self, etape: str, pas: int = 1) -> None:
            if etape == "Lecture et OCR":
                lus.append(time.perf_counter() - origine[0])

    contexte = flow_releve.ContexteReleve.ouvrir(rapport=RapportChrono())
    echantillons = Echantillonneur()
    echantillons.start()
    origine[0] = time.perf_counter()
    bilan = flow_releve.releve(contexte)
    nuit_s = time.perf_counter() - origine[0]
    pic_principal = _vmhwm_mo()
    echantillons.arreter()
    with verrou:
        intervalles_nuit = list(intervalles)
        lus_nuit = list(lus)
        limite_nuit = dict(limite)

    debut = time.perf_counter()
    seconde = flow_releve.releve(contexte)
    seconde_s = time.perf_counter() - debut

    resultat = {
        "imports_s": imports_s,
        "nuit_s": nuit_s,
        "intervalles": intervalles_nuit,
        "lus": lus_nuit,
        "limite_llm_s": limite_nuit["cumul_s"],
        "limite_llm_appels": limite_nuit["appels"],
        "pic_principal_mo": pic_principal,
        "pics_enfants_mo": echantillons.pics,
        "nouveaux": sum(b.nouveaux for b in bilan.sources),
        "erreurs_sources": sum(len(b.erreurs) for b in bilan.sources),
        "extraits": bilan.extraction.extraits,
        "erreurs_lecture": len(bilan.extraction.en_erreur),
        "analyses": bilan.analyse.analyses,
        "par_llm": bilan.analyse.par_llm,
        "replis": bilan.analyse.replis,
        "brouillons": bilan.analyse.brouillons,
        "erreurs_analyse": len(bilan.analyse.erreurs),
        "seconde_nuit_s": seconde_s,
        "seconde_nouveaux": sum(b.nouveaux for b in seconde.sources),
        "seconde_analyses": seconde.analyse.analyses,
    }
    sortie.write_text(json.dumps(resultat), encoding="utf-8")
