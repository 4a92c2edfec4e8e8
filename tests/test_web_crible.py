"""Le crible de la page web (issue #14) : toutes les routes, tirées du schéma OpenAPI de
l'application par schemathesis (valeurs permises et valeurs interdites), puis une liste de
demandes malformées écrites à la main (non-UTF-8, corps énormes, identifiants hors bornes,
en-têtes absurdes). Une session réelle (administrateur) sur un vrai registre SQLite garni :
les routes protégées sont vraiment atteintes, le jeton CSRF de la session est glissé dans la
plupart des formulaires pour que les actions elles-mêmes soient essayées.

Attendu : jamais de 5xx, jamais de trace, une page en français et un code juste. Le schéma
n'est construit qu'ici, depuis l'objet application : le site ne publie pas /openapi.json.
Borné en nombre d'essais par route et en temps ; le nombre de requêtes est imprimé.
"""

from __future__ import annotations

import os
import re
import time
import zlib
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, Phase, given, seed, settings
from schemathesis.generation import GenerationMode

from interfaces.web.app import creer_app
from noyau.calendrier import aujourd_hui
from registre.registre import Registre
from tests import navigateur as nv
from tests.test_web import connecter

ESSAIS_PAR_ROUTE = int(os.environ.get("COURRIER_CRIBLE_ESSAIS", "12"))
DUREE_MAX_S = float(os.environ.get("COURRIER_CRIBLE_DUREE_S", "75"))
GRAINE = int(os.environ.get("COURRIER_CRIBLE_GRAINE", "2026"))
CODES_JUSTES = {200, 303, 400, 401, 403, 404, 405, 409, 413, 422, 429}
TRACE = re.compile(r"Traceback|File \"|Error:|Exception|sqlalchemy|OverflowError", re.I)


class Crible:
    """Le client connecté, ce qu'il a essayé, et la vérification de chaque réponse."""

    def __init__(self, client: TestClient, csrf: str, jeu: nv.Jeu) -> None:
        self.client = client
        self.csrf = csrf
        self.jeu = jeu
        self.codes: Counter[int] = Counter()
        self.fin = time.monotonic() + DUREE_MAX_S

    @property
    def epuise(self) -> bool:
        return time.monotonic() > self.fin

    def envoyer(self, methode: str, url: str, **options: Any) -> Any:
        reponse = self.client.request(methode, url, **options)
        self.codes[reponse.status_code] += 1
        contexte = f"{methode} {url[:200]} → {reponse.status_code}"
        assert reponse.status_code in CODES_JUSTES, contexte + "\n" + reponse.text[:2000]
        type_ = reponse.headers.get("content-type", "")
        if type_.startswith("text/html"):
            assert not TRACE.search(reponse.text), contexte + "\n" + reponse.text[:2000]
            if reponse.status_code >= 400:
                assert '<html lang="fr">' in reponse.text or "<html lang=fr>" in reponse.text
        assert "content-security-policy" in reponse.headers, contexte
        return reponse

    def reelles(self, chemin: str) -> str:
        """Le même chemin, sur les vrais éléments du registre."""
        valeurs = {
            "numero": self.jeu.demande,
            "ident": str(self.jeu.brouillon_demande),
            "rang": "1",
            "page": "1",
            "nom": "secretaire",
        }
        return re.sub(r"\{(\w+)\}", lambda m: valeurs[m.group(1)], chemin)


@pytest.fixture
def crible(tmp_path: Path) -> Iterator[Crible]:
    donnees = tmp_path / "donnees"
    url = f"sqlite:///{donnees / 'registre.sqlite3'}"
    registre = Registre.ouvrir(url, donnees)
    jeu = nv.garnir(registre, "http://127.0.0.1:9", aujourd_hui())
    nv.creer_comptes(registre)
    app = creer_app(nv.reglages_web(donnees, url), registre)
    with TestClient(app, follow_redirects=False, raise_server_exceptions=False) as client:
        yield Crible(client, connecter(client, "admin"), jeu)
    registre.fermer()


def _options(case: Any, crible: Crible) -> tuple[str, str, dict[str, Any]]:
    brut = case.as_transport_kwargs(base_url="http://testserver")
    options: dict[str, Any] = {"params": brut.get("params") or None}
    entetes = {k: v for k, v in (brut.get("headers") or {}).items() if k.lower() != "cookie"}
    options["headers"] = entetes
    donnees = brut.get("data")
    # La plupart des formulaires reçoivent le vrai jeton : l'action elle-même est essayée.
    # La déconnexion garde un jeton tiré au hasard (la session doit survivre au crible).
    if (
        isinstance(donnees, dict)
        and "csrf" in donnees
        and case.path not in ("/connexion", "/deconnexion")
        and zlib.crc32(repr(sorted(donnees.items())).encode()) % 4  # 3 sur 4, reproductible
    ):
        donnees = {**donnees, "csrf": crible.csrf}
    if isinstance(donnees, bytes | str):
        options["content"] = donnees
    elif donnees is not None:
        options["data"] = donnees
    return brut["method"], brut["url"], options


def _requetes_malformees(crible: Crible) -> Iterator[tuple[str, str, dict[str, Any]]]:
    jeu = crible.jeu
    enorme = "9" * 40
    formulaire = {"content-type": "application/x-www-form-urlencoded"}
    for chemin in (
        f"/brouillon/{enorme}",
        f"/brouillon/{enorme}/lettre.pdf",
        "/brouillon/-1",
        "/brouillon/0",
        f"/brouillon/{2**31}",
        f"/brouillon/{2**63}",
        "/brouillon/1e3",
        "/brouillon/%00",
        "/brouillon/%ff%fe",
        "/brouillon/\u0663",  # un chiffre arabe-indien : int() l'accepterait
        f"/courrier/{jeu.demande}%00",
        "/courrier/2026-0000\u0661",
        "/courrier/" + "2" * 5000,
        "/courrier/..%2f..%2fetc%2fpasswd",
        f"/courrier/{jeu.demande}/piece/{enorme}",
        f"/courrier/{jeu.demande}/piece/-5",
        f"/courrier/{jeu.scan}/page/{enorme}",
        f"/courrier/{jeu.scan}/page/0",
        "/admin/utilisateurs/" + "x" * 500 + "/desactiver",
    ):
        yield "GET", chemin, {}
        for suite in ("", "/rejeter", "/lettre", "/verification"):
            if chemin.startswith("/brouillon/"):
                donnees = {"csrf": crible.csrf, "action": "valider", "raison": "x", "parti": "oui"}
                yield "POST", chemin + suite, {"data": donnees}
    ident = jeu.brouillon_demande
    for corps in (
        b"csrf=%ff%fe&action=enregistrer&objet=\xff\xfe&corps=\xc3\x28",
        b"\x00\x01\x02" * 100,
        b"&&&&====%%%%",
        b"a=" + b"%" * 5000,
        b"x=1&" * 20_000,
        ("csrf=" + crible.csrf + "&action=enregistrer&corps=" + "é" * 30_000).encode(),
    ):
        yield "POST", f"/brouillon/{ident}", {"content": corps, "headers": formulaire}
        yield "POST", "/connexion", {"content": corps, "headers": formulaire}
    for type_ in (
        "multipart/form-data",
        "multipart/form-data; boundary=",
        "multipart/form-data; boundary=zz",
        "application/json",
        "text/plain; charset=ebcdic",
        "application/x-www-form-urlencoded; charset=utf-16",
        "\x7f",
    ):
        yield (
            "POST",
            f"/brouillon/{ident}",
            {"content": b"--zz\r\n\xff", "headers": {"content-type": type_}},
        )
        yield (
            "POST",
            "/admin/utilisateurs",
            {"content": b'{"nom": 1}', "headers": {"content-type": type_}},
        )
    # Plus gros que la limite : refusé avant d'être lu (413).
    yield (
        "POST",
        f"/brouillon/{ident}",
        {"content": b"a" * (2 * 1024 * 1024), "headers": formulaire},
    )
    for entetes in (
        {"cookie": "courrier_session=" + "\x01" * 10},
        {"cookie": "courrier_session=" + "a" * 8000},
        {"origin": "http://["},
        {"origin": "null"},
        {"referer": "::::"},
        {"accept": "\x00" * 10},
        {"range": "bytes=999999999999999999-"},
        {"x-forwarded-for": "not-an-ip, ::::, 999.1.1.1"},
        {"x-forwarded-proto": "gopher"},
        {"host": "[::1"},
        {"content-length": "99999999999999999999999"},
    ):
        yield "GET", f"/courrier/{jeu.demande}", {"headers": entetes}
        yield "POST", f"/brouillon/{ident}/rejeter", {"headers": entetes, "data": {"csrf": "x"}}
    for parametres in (
        {"page": enorme},
        {"page": "-1"},
        {"du": "9999-99-99", "au": "0000-00-00"},
        {"du": "\x00"},
        {"texte": "%" * 500},
        {"format": "../../etc"},
    ):
        yield "GET", "/registre", {"params": parametres}
        yield "GET", "/registre/export", {"params": parametres}
    for requete in ("categorie=%ED%A0%80", "texte=%FF%FE", "page=%00", "du=&du=&du=x" * 50):
        yield "GET", f"/registre?{requete}", {}


def test_le_crible_ne_fait_jamais_d_erreur_500_ni_de_trace(
    crible: Crible, capsys: pytest.CaptureFixture[str]
) -> None:
    app = crible.client.app
    schema = schemathesis.openapi.from_dict(app.openapi())  # type: ignore[attr-defined]
    operations = [resultat.ok() for resultat in schema.get_all_operations()]
    assert len(operations) >= 15
    par_route: Counter[str] = Counter()
    debut = time.monotonic()

    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @seed(GRAINE)
            @settings(
                max_examples=ESSAIS_PAR_ROUTE,
                deadline=None,
                database=None,
                suppress_health_check=list(HealthCheck),
                phases=[Phase.explicit, Phase.generate],  # sans réduction : temps borné
            )
            @given(case=operation.as_strategy(generation_mode=mode))
            def essayer(case: Any) -> None:
                if crible.epuise:
                    return
                methode, url, options = _options(case, crible)
                crible.envoyer(methode, url, **options)
                par_route[case.path] += 1
                if "{" in case.path:  # les mêmes valeurs, sur de vrais éléments
                    crible.envoyer(methode, crible.reelles(case.path), **options)
                    par_route[case.path] += 1

            try:
                essayer()
            except Exception as e:
                # Un schéma d'où schemathesis ne sait rien tirer d'interdit (aucun champ
                # contraint) : pas une faute de la page.
                if type(e).__name__ not in ("Unsatisfiable", "FailedHealthCheck"):
                    raise
    tirees = sum(par_route.values())
    malformees = 0
    for methode, url, options in _requetes_malformees(crible):
        crible.envoyer(methode, url, **options)
        malformees += 1
    # Toujours connecté : le crible a bien essayé les pages protégées jusqu'au bout.
    assert crible.client.get("/").status_code == 200
    assert malformees > 100
    with capsys.disabled():
        print(
            f"\nCrible : {tirees} requêtes tirées du schéma sur {len(operations)} routes "
            f"({len(par_route)} chemins) "
            f"(graine {GRAINE}), {malformees} malformées, en {time.monotonic() - debut:.0f} s ; "
            f"codes : {dict(sorted(crible.codes.items()))}"
        )
    assert tirees >= 5 * len(operations)
