"""La relève, étape par étape, en fonctions simples (le flow Prefect ne fait que les appeler).

1. Chaque source remet ses éléments ; chacun est archivé puis enregistré (numéro chrono),
   et seulement ensuite acquitté à la source.
2. Tout courrier enregistré dont le texte n'est pas encore lu passe à l'extraction, en
   parallèle sur des processus (l'OCR est du calcul), et le résultat est consigné.

Un élément qui échoue est consigné comme erreur et la relève continue ; une panne du registre
(base injoignable, disque plein) arrête la relève proprement, car rien ne peut plus être promis.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import multiprocessing
import os
import resource
import shutil
import sys
import tempfile
import time
import types
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Protocol

from connecteurs.source import Source
from noyau.domaine import Canal, EntetesCourrier, Limites, ResultatExtraction, TypeEvenement
from noyau.erreurs import RegistreErreur
from noyau.pannes import PointDePanne, aucune
from noyau.sceaux import sha256_texte
from registre.archive import Archive, ArchiveNonInscriptible
from registre.registre import AExtraire, Registre

logger = logging.getLogger("courrier.releve")

# Un processus d'extraction qui dépasse cette mémoire échoue seul (MemoryError), au lieu
# de faire tomber la machine : c'est la défense contre les bombes de décompression.
MEMOIRE_MAX_PROCESSUS = 3 * 1024**3


class Rapport(Protocol):
    """Ce que la relève dit de son avancement (barre de progression de la CLI)."""

    def debut(self, etape: str, total: int | None) -> None: ...
    def avance(self, etape: str, pas: int = 1) -> None: ...


class RapportMuet:
    def debut(self, etape: str, total: int | None) -> None:
        pass

    def avance(self, etape: str, pas: int = 1) -> None:
        pass


@dataclass
class BilanSource:
    source: str
    nouveaux: int = 0
    doublons: int = 0
    en_attente: int = 0
    erreurs: list[str] = field(default_factory=list)


@dataclass
class BilanExtraction:
    extraits: int = 0
    en_erreur: list[tuple[str, str]] = field(default_factory=list)  # (numéro, raison)


def cle_message(entetes: EntetesCourrier | None, contenu: bytes) -> tuple[str, ...]:
    """Clé d'un courriel par son Message-ID, précisée par l'expéditeur, la date, l'objet et
    le corps.

    Le Message-ID seul ne suffit pas : des messages distincts en partagent parfois un
    (logiciels mal écrits, gabarits de test). Un même message arrivé par deux chemins garde
    tout cela ; seuls ses en-têtes de transport (Received…) diffèrent.
    """
    if entetes is None or not entetes.message_id.strip():
        return ()
    corps = _corps(contenu)
    signature = sha256_texte(
        "\n".join(
            [
                entetes.expediteur_adresse,
                entetes.date.isoformat() if entetes.date else "",
                entetes.objet,
                hashlib.sha256(corps).hexdigest(),
            ]
        )
    )[:24]
    return (f"message:{entetes.message_id.strip()[:400]}|{signature}",)


def _corps(contenu: bytes) -> bytes:
    normalise = contenu.replace(b"\r\n", b"\n")
    _, separateur, corps = normalise.partition(b"\n\n")
    return corps.rstrip() if separateur else b""


def relever_source(
    source: Source,
    registre: Registre,
    lire_entetes: Callable[[bytes], EntetesCourrier],
    rapport: Rapport | None = None,
    panne: PointDePanne = aucune,
) -> BilanSource:
    rapport = rapport or RapportMuet()
    bilan = BilanSource(source=source.nom)
    rapport.debut(f"Relève {source.nom}", None)
    try:
        for element in source.elements():
            entetes = lire_entetes(element.contenu) if element.canal != Canal.SCAN else None
            element = replace(element, cles=(*element.cles, *cle_message(entetes, element.contenu)))
            try:
                enregistrement = registre.enregistrer(element, entetes)
            except RegistreErreur:
                raise
            except Exception as e:  # un élément ne doit pas arrêter la nuit
                raison = (
                    f"{element.reference} : enregistrement impossible ({e.__class__.__name__})."
                )
                logger.exception("enregistrement impossible : %s", element.reference)
                bilan.erreurs.append(raison)
                registre.evenement_general(
                    TypeEvenement.ERREUR, "releve", {"source": source.nom, "raison": raison}
                )
                continue
            if enregistrement.nouveau:
                bilan.nouveaux += 1
            else:
                bilan.doublons += 1
            panne("apres_enregistrement")
            source.acquitter(element)
            panne("apres_acquittement")
            rapport.avance(f"Relève {source.nom}")
    finally:
        bilan.en_attente = source.en_attente
        source.fermer()
    _consigner_incidents(source, registre, bilan)
    return bilan


def _consigner_incidents(source: Source, registre: Registre, bilan: BilanSource) -> None:
    """Ce qui n'a pas arrêté la source (fichier illisible, fichier pas rangé) : au bilan et au
    journal du registre, comme une erreur de la source."""
    for raison in source.incidents:
        bilan.erreurs.append(raison)
        registre.evenement_general(
            TypeEvenement.ERREUR, "releve", {"source": source.nom, "raison": raison}
        )
    source.incidents.clear()


# --- Extraction -------------------------------------------------------------------------------


# Le point de panne du processus d'extraction lui-même, posé par son initialiseur : chaque
# processus compte ses propres passages, et un processus neuf repart de zéro. Rien de la relève
# ne le lit ; il n'existe que dans les processus d'OCR.
_panne_du_processus: list[PointDePanne] = [aucune]


def _initialiser_processus(temporaire: str, panne: PointDePanne = aucune) -> None:
    _panne_du_processus[0] = panne
    os.environ["OMP_THREAD_LIMIT"] = "1"
    # Pages rasterisées et fichiers de Tesseract : dans le dossier de données, pas dans /tmp,
    # pour qu'une relève tuée ne laisse pas de copies de lettres hors de notre ménage.
    os.environ["TMPDIR"] = temporaire
    tempfile.tempdir = temporaire
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_AS, (MEMOIRE_MAX_PROCESSUS, MEMOIRE_MAX_PROCESSUS))


def extraire_un(racine_archive: str, a_extraire: AExtraire, limites: Limites) -> ResultatExtraction:
    """Lit un courrier depuis l'archive ; tourne dans un processus d'extraction."""
    from connecteurs.ocr import Tesseract
    from courrier.extraction import extraire_courriel, extraire_document

    archive = Archive(Path(racine_archive))
    contenu = archive.lire(a_extraire.empreinte)
    _panne_du_processus[0]("pendant_extraction")
    ocr = Tesseract(langues=limites.ocr_langues, delai_s=limites.ocr_delai_s)
    if a_extraire.canal == Canal.SCAN.value:
        return extraire_document(contenu, a_extraire.nom_fichier, archive.deposer, limites, ocr)
    return extraire_courriel(contenu, archive.deposer, limites, ocr)


def _raison_plantage(e: BaseException) -> str:
    if isinstance(e, MemoryError):
        return "La lecture a dépassé la mémoire permise : document conservé, texte non lu."
    if isinstance(e, BrokenProcessPool):
        return (
            "La lecture a fait tomber le processus d'extraction (document piégé ou trop lourd) :"
            " document conservé, texte non lu."
        )
    return f"Erreur interne pendant la lecture ({e.__class__.__name__}) : document conservé."


def extraire_en_attente(
    registre: Registre,
    limites: Limites,
    processus: int,
    rapport: Rapport | None = None,
    panne: PointDePanne = aucune,
) -> BilanExtraction:
    """Lit tous les courriers enregistrés et pas encore lus, même ceux d'une nuit interrompue."""
    rapport = rapport or RapportMuet()
    bilan = BilanExtraction()
    # Les scans (tout en OCR) en dernier : les courriels, lus vite pour la plupart, passent
    # d'abord à l'analyse (LLM), qui travaille pendant que les processus lisent les scans.
    a_faire = sorted(registre.a_extraire(), key=lambda el: el.canal == Canal.SCAN.value)
    rapport.debut("Lecture et OCR", len(a_faire))
    if not a_faire:
        return bilan
    racine = str(registre.archive.racine)

    def consigner(element: AExtraire, futur: Future[ResultatExtraction]) -> bool:
        """Vrai si consigné ; faux si le processus est tombé (à refaire seul)."""
        try:
            resultat = futur.result()
        except BrokenProcessPool:
            return False
        except ArchiveNonInscriptible:
            raise  # disque plein : le courrier n'y est pour rien, la relève s'arrête
        except Exception as e:
            raison = _raison_plantage(e)
            logger.error("extraction de %s : %s", element.numero, e.__class__.__name__)
            registre.consigner_erreur(element.id, raison)
            bilan.en_erreur.append((element.numero, raison))
            rapport.avance("Lecture et OCR")
            return True
        statut = registre.consigner_extraction(element.id, resultat)
        panne("apres_extraction")
        if statut == "erreur":
            bilan.en_erreur.append((element.numero, " ".join(resultat.erreurs)))
        else:
            bilan.extraits += 1
        rapport.avance("Lecture et OCR")
        return True

    def plantage(element: AExtraire) -> None:
        raison = _raison_plantage(BrokenProcessPool())
        registre.consigner_erreur(element.id, raison)
        bilan.en_erreur.append((element.numero, raison))
        rapport.avance("Lecture et OCR")

    contexte = contexte_de_lecture()
    temporaire = _dossier_temporaire(registre.archive.racine.parent / "tmp")
    try:
        _extraire_tout(
            a_faire, consigner, plantage, racine, limites, processus, contexte, temporaire, panne
        )
    finally:
        shutil.rmtree(temporaire, ignore_errors=True)
    return bilan


# Ce que le serveur de processus (forkserver) importe une fois par relève : chaque processus de
# lecture, créé par fork depuis lui, en hérite au lieu de le réimporter (~1 s de calcul chacun).
MODULES_DE_LECTURE = ["courrier.releve", "courrier.extraction", "connecteurs.ocr"]


def contexte_de_lecture() -> multiprocessing.context.BaseContext:
    """forkserver : des processus neufs, sans les fils ni les verrous du processus de la relève
    (Prefect, l'analyse), mais nés d'un processus qui a déjà importé la lecture."""
    contexte = multiprocessing.get_context("forkserver")
    contexte.set_forkserver_preload(MODULES_DE_LECTURE)
    return contexte


@contextlib.contextmanager
def sans_module_principal() -> Iterator[None]:
    """Pendant la création des processus de lecture, un module principal vide.

    multiprocessing rejoue dans chaque processus neuf le module principal (lancé par `python -m`
    ou comme script) : sous un worker Prefect, `prefect.engine`, soit ~1,8 s de calcul par
    processus de lecture, pris aux cœurs de l'OCR ; pour `courrier releve`, le script de la
    ligne de commande. La lecture n'en a pas besoin : `extraire_un` et l'initialiseur sont
    retrouvés par leur module."""
    principal = sys.modules.get("__main__")
    if principal is None:
        yield
        return
    sys.modules["__main__"] = types.ModuleType("__main__")
    try:
        yield
    finally:
        sys.modules["__main__"] = principal


def _dossier_temporaire(parent: Path) -> str:
    """Un dossier par relève ; ceux qu'une relève tuée a laissés sont balayés après 6 h."""
    parent.mkdir(parents=True, exist_ok=True)
    limite = time.time() - 6 * 3600
    for ancien in parent.iterdir():
        with contextlib.suppress(OSError):
            if ancien.stat().st_mtime < limite:
                shutil.rmtree(ancien, ignore_errors=True)
    return tempfile.mkdtemp(prefix="releve-", dir=parent)


def _extraire_tout(
    a_faire: list[AExtraire],
    consigner: Callable[[AExtraire, Future[ResultatExtraction]], bool],
    plantage: Callable[[AExtraire], None],
    racine: str,
    limites: Limites,
    processus: int,
    contexte: multiprocessing.context.BaseContext,
    temporaire: str,
    panne: PointDePanne = aucune,
) -> None:
    a_refaire: list[AExtraire] = []
    with ProcessPoolExecutor(
        max_workers=min(processus, len(a_faire)),
        mp_context=contexte,
        initializer=_initialiser_processus,
        initargs=(temporaire, panne),
    ) as pool:
        with sans_module_principal():  # les processus naissent au premier envoi
            futurs = [(el, pool.submit(extraire_un, racine, el, limites)) for el in a_faire]
        for element, futur in futurs:
            panne("pendant_ocr")
            if not consigner(element, futur):
                a_refaire.append(element)
    # Un processus tombé emporte tous les travaux en cours : chacun est refait seul, pour
    # que seul le coupable soit marqué en erreur.
    for element in a_refaire:
        with ProcessPoolExecutor(
            max_workers=1,
            mp_context=contexte,
            initializer=_initialiser_processus,
            initargs=(temporaire, panne),
        ) as pool:
            with sans_module_principal():
                futur = pool.submit(extraire_un, racine, element, limites)
            if not consigner(element, futur):
                plantage(element)
