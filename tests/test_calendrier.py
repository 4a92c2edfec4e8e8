"""Le calendrier des délais : Pâques, jours fériés, jours ouvrés, délais en mois."""

from __future__ import annotations

from datetime import date

import pytest

from noyau.calendrier import (
    ajouter_jours_ouvres,
    ajouter_mois,
    date_decision_implicite,
    date_en_lettres,
    est_ouvre,
    jours_feries,
    paques,
    prochain_jour_ouvre,
)

SAMEDI, DIMANCHE = 5, 6


@pytest.mark.parametrize(
    ("annee", "attendu"),
    [
        (2024, date(2024, 3, 31)),
        (2025, date(2025, 4, 20)),
        (2026, date(2026, 4, 5)),
        (2027, date(2027, 3, 28)),
        (2038, date(2038, 4, 25)),
        (2000, date(2000, 4, 23)),
        (2019, date(2019, 4, 21)),
        (1818, date(1818, 3, 22)),  # la plus précoce possible
        (1943, date(1943, 4, 25)),  # la plus tardive possible
    ],
)
def test_paques_tombe_le_dimanche_connu_de_chaque_annee(annee: int, attendu: date) -> None:
    assert paques(annee) == attendu
    assert attendu.weekday() == DIMANCHE


def test_les_onze_jours_feries_de_2026_sont_tous_la() -> None:
    assert jours_feries(2026) == {
        date(2026, 1, 1): "Jour de l'an",
        date(2026, 4, 6): "Lundi de Pâques",
        date(2026, 5, 1): "Fête du Travail",
        date(2026, 5, 8): "Victoire 1945",
        date(2026, 5, 14): "Ascension",
        date(2026, 5, 25): "Lundi de Pentecôte",
        date(2026, 7, 14): "Fête nationale",
        date(2026, 8, 15): "Assomption",
        date(2026, 11, 1): "Toussaint",
        date(2026, 11, 11): "Armistice 1918",
        date(2026, 12, 25): "Noël",
    }


def test_les_feries_mobiles_suivent_paques_chaque_annee() -> None:
    for annee in range(2020, 2041):
        feries = jours_feries(annee)
        p = paques(annee)
        assert len(feries) == 11
        assert feries[date.fromordinal(p.toordinal() + 1)] == "Lundi de Pâques"
        assert feries[date.fromordinal(p.toordinal() + 39)] == "Ascension"
        assert feries[date.fromordinal(p.toordinal() + 50)] == "Lundi de Pentecôte"


def test_l_alsace_moselle_ajoute_le_vendredi_saint_et_la_saint_etienne_sur_option() -> None:
    assert date(2026, 4, 3) not in jours_feries(2026)
    alsace = jours_feries(2026, alsace_moselle=True)
    assert alsace[date(2026, 4, 3)] == "Vendredi saint"
    assert alsace[date(2026, 12, 26)] == "Saint-Étienne"
    assert len(alsace) == 13
    assert est_ouvre(date(2026, 4, 3))
    assert not est_ouvre(date(2026, 4, 3), alsace_moselle=True)


def test_un_jour_ouvre_est_un_jour_de_semaine_qui_n_est_pas_ferie() -> None:
    assert est_ouvre(date(2026, 5, 13))  # mercredi
    assert not est_ouvre(date(2026, 5, 14))  # Ascension, un jeudi
    assert not est_ouvre(date(2026, 5, 16))  # samedi
    assert not est_ouvre(date(2026, 5, 17))  # dimanche


def test_le_prochain_jour_ouvre_est_le_jour_meme_s_il_est_ouvre() -> None:
    assert prochain_jour_ouvre(date(2026, 5, 13)) == date(2026, 5, 13)
    assert prochain_jour_ouvre(date(2026, 5, 14)) == date(2026, 5, 15)
    assert prochain_jour_ouvre(date(2026, 12, 25)) == date(2026, 12, 28)  # Noël, un vendredi


def test_les_jours_ouvres_s_ajoutent_en_sautant_week_ends_et_feries() -> None:
    assert ajouter_jours_ouvres(date(2026, 5, 13), 1) == date(2026, 5, 15)
    assert ajouter_jours_ouvres(date(2026, 12, 24), 2) == date(2026, 12, 29)
    assert ajouter_jours_ouvres(date(2026, 12, 31), 1) == date(2027, 1, 4)  # 1er janvier, week-end
    assert ajouter_jours_ouvres(date(2026, 5, 15), -1) == date(2026, 5, 13)
    assert ajouter_jours_ouvres(date(2026, 5, 16), 0) == date(2026, 5, 16)


@pytest.mark.parametrize(
    ("depart", "mois", "attendu"),
    [
        (date(2026, 3, 26), 2, date(2026, 5, 26)),
        (date(2026, 1, 31), 1, date(2026, 2, 28)),
        (date(2028, 1, 31), 1, date(2028, 2, 29)),  # année bissextile
        (date(2026, 3, 31), 1, date(2026, 4, 30)),
        (date(2026, 12, 31), 2, date(2027, 2, 28)),
        (date(2026, 11, 30), 2, date(2027, 1, 30)),
        (date(2026, 3, 31), -1, date(2026, 2, 28)),
    ],
)
def test_un_delai_en_mois_finit_le_meme_quantieme_ou_le_dernier_jour_du_mois(
    depart: date, mois: int, attendu: date
) -> None:
    assert ajouter_mois(depart, mois) == attendu


@pytest.mark.parametrize(
    ("recu_le", "fin_brute", "jour_brut", "attendu"),
    [
        # Cas simple : un mardi ouvré.
        (date(2026, 3, 26), date(2026, 5, 26), 1, date(2026, 5, 26)),
        # Le terme tombe le jeudi de l'Ascension 2026 : prorogé au vendredi.
        (date(2026, 3, 14), date(2026, 5, 14), 3, date(2026, 5, 15)),
        # Le terme tombe le lundi de Pentecôte 2026 : prorogé au mardi.
        (date(2026, 3, 25), date(2026, 5, 25), 0, date(2026, 5, 26)),
        # Jeudi 31 décembre, ouvré : pas de prorogation.
        (date(2026, 10, 31), date(2026, 12, 31), 3, date(2026, 12, 31)),
        # Changement d'année, terme un samedi : prorogé au lundi.
        (date(2026, 11, 30), date(2027, 1, 30), SAMEDI, date(2027, 2, 1)),
        # Du 31 décembre : fin février (pas de 31), un dimanche : prorogé au lundi 1er mars.
        (date(2026, 12, 31), date(2027, 2, 28), DIMANCHE, date(2027, 3, 1)),
    ],
)
def test_la_decision_implicite_nait_deux_mois_apres_la_reception_prorogee_au_jour_ouvre(
    recu_le: date, fin_brute: date, jour_brut: int, attendu: date
) -> None:
    assert fin_brute.weekday() == jour_brut  # le calendrier lui-même, vérifié
    assert date_decision_implicite(recu_le, proroger=False) == fin_brute
    assert date_decision_implicite(recu_le) == attendu
    assert est_ouvre(attendu)


def test_une_demande_recue_le_31_janvier_a_un_delai_d_un_mois_finissant_fin_fevrier() -> None:
    assert date_decision_implicite(date(2027, 1, 31), delai_mois=1) == date(2027, 3, 1)  # dim.
    assert date_decision_implicite(date(2027, 1, 31), 1, proroger=False) == date(2027, 2, 28)
    assert date_decision_implicite(date(2028, 1, 31), delai_mois=1) == date(2028, 2, 29)  # mar.


def test_les_dates_s_ecrivent_en_francais_sans_la_locale() -> None:
    assert date_en_lettres(date(2026, 11, 23)) == "23 novembre 2026"
    assert date_en_lettres(date(2026, 12, 1)) == "1er décembre 2026"
    assert date_en_lettres(date(2027, 2, 8)) == "8 février 2027"
    assert date_en_lettres(date(2026, 5, 15), jour_semaine=True) == "vendredi 15 mai 2026"
