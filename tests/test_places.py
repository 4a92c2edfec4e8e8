"""Les places de la limite globale du LLM gardées pour plusieurs appels (courrier/places.py) :
jamais plus d'appels à la fois que la limite, bien moins de prises que d'appels, tout rendu."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from courrier.etapes import LimiteTolerante
from courrier.places import PlaceIndisponible, PlacesGardees


class LimiteCommune:
    """Une limite de concurrence partagée par plusieurs relèves (ce que tient le serveur
    Prefect), avec ce qu'elle a vu : places prises, rendues, tenues au plus fort."""

    def __init__(self, places: int) -> None:
        self.semaphore = threading.BoundedSemaphore(places)
        self.verrou = threading.Lock()
        self.tenues = self.prises = self.rendues = 0
        self.rendue = threading.Event()

    @contextmanager
    def place(self) -> Iterator[None]:
        self.semaphore.acquire()
        with self.verrou:
            self.prises += 1
        try:
            yield None
        finally:
            with self.verrou:
                self.rendues += 1
            self.semaphore.release()
            self.rendue.set()


def test_des_releves_en_parallele_restent_sous_la_limite_avec_peu_de_prises() -> None:
    limite = LimiteCommune(2)
    en_cours = maximum = appels = 0
    verrou = threading.Lock()
    releves = [LimiteTolerante(PlacesGardees(limite.place, appels_par_place=10)) for _ in range(3)]

    def analyser(releve: LimiteTolerante) -> None:
        nonlocal en_cours, maximum, appels
        for _ in range(30):
            with releve():
                with verrou:
                    en_cours += 1
                    maximum = max(maximum, en_cours)
                    appels += 1
                with verrou:
                    en_cours -= 1

    fils = [threading.Thread(target=analyser, args=(r,)) for r in releves for _ in range(3)]
    for f in fils:
        f.start()
    for f in fils:
        f.join(60)
    for releve in releves:
        releve.fermer()
    assert appels == 9 * 30
    assert maximum <= 2  # jamais plus que la limite commune
    assert limite.prises == limite.rendues  # tout est rendu à la fin
    assert limite.prises <= appels // 5  # au moins cinq appels par prise, en moyenne
    assert not any(r.tombee.is_set() for r in releves)


def test_une_place_inutilisee_est_rendue_d_elle_meme() -> None:
    limite = LimiteCommune(1)
    places = PlacesGardees(limite.place, garde_s=0.05)
    with places():
        pass
    assert limite.prises == 1
    # Personne ne la reprend : le minuteur la rend aux autres relèves, sans attendre la fin.
    assert limite.rendue.wait(10)
    assert limite.rendues == 1
    places.fermer()
    assert limite.rendues == 1


def test_une_prise_qui_echoue_fait_tomber_la_limite_sans_perdre_d_appel() -> None:
    prises: list[str] = []

    @contextmanager
    def place() -> Iterator[None]:
        if prises:
            raise ConnectionRefusedError("l'API Prefect ne répond plus")
        prises.append("place")
        yield None

    places = PlacesGardees(place, appels_par_place=2)
    limite = LimiteTolerante(places)
    faits = []
    for i in range(5):
        with limite():
            faits.append(i)
    limite.fermer()
    assert faits == [0, 1, 2, 3, 4]
    assert prises == ["place"] and limite.tombee.is_set()


def test_un_seul_fil_d_une_releve_demande_une_place_a_la_fois() -> None:
    """Quatre fils d'une même relève et une limite pleine : une seule demande à l'orchestrateur
    à la fois (chaque refus allonge, chez lui, l'attente de toutes les communes)."""
    limite = LimiteCommune(1)
    demandes = maximum = 0
    verrou = threading.Lock()

    @contextmanager
    def place_comptee() -> Iterator[None]:
        nonlocal demandes, maximum
        with verrou:
            demandes += 1
            maximum = max(maximum, demandes)
        with limite.place():
            with verrou:
                demandes -= 1
            yield None

    tenue = limite.place()
    tenue.__enter__()  # une autre commune tient l'unique place
    places = PlacesGardees(place_comptee, appels_par_place=3)
    faits = []
    depart = threading.Barrier(5)  # les quatre fils et ce test

    def appeler() -> None:
        depart.wait(10)
        for _ in range(3):
            with places():
                faits.append(1)

    fils = [threading.Thread(target=appeler, daemon=True) for _ in range(4)]
    for f in fils:
        f.start()
    depart.wait(10)
    threading.Event().wait(0.3)  # les quatre fils attendent la place tenue ailleurs
    with verrou:
        en_attente = demandes
    tenue.__exit__(None, None, None)
    assert en_attente == 1
    for f in fils:
        f.join(30)
    places.fermer()
    assert len(faits) == 12
    assert maximum == 1
    assert limite.prises == limite.rendues


def test_une_demande_qui_echoue_fait_echouer_ceux_qui_l_attendaient_sans_refrapper() -> None:
    """L'orchestrateur injoignable : une seule demande (lente) échoue, les fils qui
    l'attendaient échouent avec elle au lieu de refaire chacun la même attente ; une demande
    arrivée après est tentée à nouveau."""
    demandes = 0
    verrou = threading.Lock()

    @contextmanager
    def injoignable() -> Iterator[None]:
        nonlocal demandes
        with verrou:
            demandes += 1
        threading.Event().wait(1.0)  # le délai de connexion
        raise ConnectionError("API Prefect injoignable")
        yield None  # pragma: no cover

    places = PlacesGardees(injoignable)
    erreurs: list[BaseException] = []

    depart = threading.Barrier(4)

    def appeler(ensemble: bool = True) -> None:
        if ensemble:
            depart.wait(10)
        try:
            with places():
                pass
        except Exception as e:
            with verrou:
                erreurs.append(e)

    fils = [threading.Thread(target=appeler, daemon=True) for _ in range(4)]
    for f in fils:
        f.start()
    for f in fils:
        f.join(30)
    assert len(erreurs) == 4 and demandes == 1
    assert sum(isinstance(e, PlaceIndisponible) for e in erreurs) == 3
    assert "API Prefect injoignable" in str(
        next(e for e in erreurs if isinstance(e, PlaceIndisponible))
    )
    appeler(ensemble=False)  # plus tard : une nouvelle demande, pas un refus gardé
    assert demandes == 2
