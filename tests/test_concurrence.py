"""Deux relèves en même temps sur le même registre : ni trou, ni doublon, journal intact."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

from connecteurs.dossiers import SourceEml
from courrier.extraction import lire_entetes
from courrier.releve import relever_source
from registre.registre import Registre


def _courriel(i: int) -> bytes:
    return (
        f"From: habitant{i}@exemple.example\r\nTo: mairie@exemple.example\r\n"
        f"Subject: Demande n°{i}\r\nMessage-ID: <demande-{i}@exemple.example>\r\n"
        f"Date: Fri, 20 Nov 2026 10:{i % 60:02d}:00 +0100\r\n\r\nBonjour, demande {i}.\r\n"
    ).encode()


def _relever(url: str, donnees: str, dossier: str) -> None:
    registre = Registre.ouvrir(url, Path(donnees))
    relever_source(SourceEml(Path(dossier), 0), registre, lire_entetes)
    registre.fermer()


def test_deux_releves_concurrentes_ne_font_ni_trou_ni_doublon(
    registre: Registre, url_base: str, tmp_path: Path
) -> None:
    # Chaque relève a son dossier, et les deux dossiers partagent 30 messages identiques :
    # le même courrier arrivé par deux chemins ne doit compter qu'une fois.
    dossiers = [tmp_path / "a", tmp_path / "b"]
    for rang, dossier in enumerate(dossiers):
        dossier.mkdir()
        for i in range(30):
            (dossier / f"commun-{i}.eml").write_bytes(_courriel(i))
        for i in range(20):
            (dossier / f"propre-{i}.eml").write_bytes(_courriel(1000 * (rang + 1) + i))
    contexte = multiprocessing.get_context("spawn")
    processus = [
        contexte.Process(target=_relever, args=(url_base, str(tmp_path / "donnees"), str(d)))
        for d in dossiers
    ]
    for p in processus:
        p.start()
    for p in processus:
        p.join(120)
        assert p.exitcode == 0

    courriers = registre.courriers()
    assert len(courriers) == 30 + 2 * 20
    rangs = sorted(c.rang for c in courriers)
    assert rangs == list(range(1, 71))
    assert len({c.numero for c in courriers}) == 70
    assert len({c.message_id for c in courriers}) == 70
    assert registre.verifier() == []
    for dossier in dossiers:
        assert [f.name for f in dossier.iterdir()] == ["traites"]
