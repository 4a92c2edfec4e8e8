"""Les bancs d'essai des pannes, en version rapide : la relève tuée une fois à chaque point de
panne, puis relancée, ne perd rien, ne double rien, garde sa chaîne (preuves/pannes.py) ; une
nuit contre un LLM qui tombe en panne de toutes les façons analyse tout, signale les replis et
tient sa borne de concurrence (preuves/llm.py)."""

from __future__ import annotations

import pytest

from preuves import llm
from preuves.pannes import POINTS, main, tirer_essais


def test_le_tirage_est_fixe_par_la_graine_et_reste_dans_les_passages_atteints() -> None:
    essais = tirer_essais(50, graine=2026)
    assert essais == tirer_essais(50, graine=2026)
    assert essais != tirer_essais(50, graine=2027)
    assert {e.point for e in essais[: len(POINTS)]} == set(POINTS)  # chaque point dès le 1er tour
    for e in essais:
        assert POINTS[e.point].premier <= e.passage <= POINTS[e.point].dernier
        assert e.llm or e.point != "pendant_llm"  # ce point n'existe qu'avec un LLM


@pytest.mark.lent
def test_une_nuit_tuee_a_chaque_point_de_panne_puis_relancee_ne_perd_ni_ne_double_rien(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = main(["--rapide"])
    lignes = capsys.readouterr().out.strip().splitlines()
    assert lignes[-1] == f"{len(POINTS)} passed, 0 failed", "\n".join(lignes)
    assert code == 0


def test_chaque_nuit_du_banc_llm_donne_a_chaque_courrier_une_autre_panne() -> None:
    nuits = llm.nuits(4)
    assert len({n.decalage for n in nuits}) == 4
    assert len({n.parallele for n in nuits}) == 4
    assert all(len(n.fautes()) == len(llm.FAUTES) for n in nuits)


@pytest.mark.lent
def test_une_nuit_contre_un_llm_en_panne_analyse_tout_signale_les_replis_et_tient_la_borne(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = llm.main(["--rapide"])
    lignes = capsys.readouterr().out.strip().splitlines()
    assert lignes[-1] == "1 passed, 0 failed", "\n".join(lignes)
    assert code == 0
