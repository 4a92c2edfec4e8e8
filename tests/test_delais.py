"""Les délais légaux : calculés sur des dates piégées, gardés au registre à l'analyse, suivis dans
la file, le digest (J-7, J-2, dépassée), l'export, suspendus par une demande de pièces.

Les règles sont celles livrées (`regles/crpa.yaml`) ; l'horloge du registre est celle du test.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from courrier.analyser import Analyseur, analyser_en_attente
from courrier.publication import courrier_digest
from interfaces.web import vues
from noyau.analyse import Analyse, Commune, CourrierALire
from noyau.delais import DECISION, PIECES, calculer, depuis_json
from noyau.domaine import Canal, ElementRecu, EntetesCourrier, ResultatExtraction
from registre.delais import pieces_demandees, pieces_recues
from registre.export import ligne
from registre.registre import Registre
from regles.chargement import charger_regles
from regles.crpa import charger_crpa
from regles.moteur import MoteurRegles
from tests.horloge import HorlogeDeTest

CRPA = charger_crpa()
COMMUNE = Commune(nom="Saint-Aubin-sur-Loire", maire="Hélène Marchand")
DEMANDE = (
    "Madame le Maire,\nJe sollicite l'autorisation d'occuper le domaine public devant mon "
    "commerce pour y installer une terrasse.\nJe vous prie d'agréer mes salutations.\nM. Roux"
)


def _lire(recu: date, objet: str = "Demande d'autorisation") -> CourrierALire:
    return CourrierALire(
        numero="2026-00001",
        canal="email",
        recu_le=datetime(recu.year, recu.month, recu.day, 10, 0, tzinfo=UTC),
        objet=objet,
    )


def _demande(categorie: str = "voirie", demande: str = "") -> Analyse:
    return Analyse(categorie=categorie, est_demande_usager=True, demande=demande)


@pytest.mark.parametrize(
    ("recu", "attendu", "piege"),
    [
        (date(2026, 12, 31), date(2027, 3, 1), "28 février 2027 est un dimanche"),
        (date(2027, 12, 29), date(2028, 2, 29), "29 février d'une année bissextile"),
        (date(2027, 1, 29), date(2027, 3, 30), "lundi de Pâques 2027"),
        (date(2033, 3, 1), date(2033, 5, 2), "1er mai 2033 est un dimanche"),
        (date(2026, 10, 10), date(2026, 12, 10), "reçu un samedi"),
        (date(2027, 1, 26), date(2027, 3, 26), "Vendredi saint, ouvré hors Alsace-Moselle"),
    ],
)
def test_la_decision_implicite_tombe_sur_le_bon_jour(recu: date, attendu: date, piege: str) -> None:
    (e,) = calculer(_lire(recu), _demande(), CRPA)
    assert (e.nature, e.le) == (DECISION, attendu), piege


def test_en_alsace_moselle_le_vendredi_saint_proroge_le_delai() -> None:
    alsace = replace(CRPA, alsace_moselle=True)
    (e,) = calculer(_lire(date(2027, 1, 26)), _demande(), alsace)
    # Vendredi saint férié, samedi, dimanche, lundi de Pâques : le mardi.
    assert e.le == date(2027, 3, 30)


def test_un_mois_depuis_le_29_fevrier_pour_une_communication_de_documents() -> None:
    (e,) = calculer(
        _lire(date(2028, 2, 29), "Demande de communication de documents administratifs"),
        _demande("autre", "copie des documents administratifs"),
        CRPA,
    )
    assert (e.le, e.libelle) == (date(2028, 3, 29), "rejet implicite")


def test_un_permis_de_construire_a_sa_date_limite_de_pieces_et_son_instruction() -> None:
    echeances = calculer(
        _lire(date(2027, 4, 15), "Permis de construire une maison individuelle"),
        _demande("urbanisme"),
        CRPA,
    )
    par_nature = {e.nature: e for e in echeances}
    assert par_nature[DECISION].le == date(2027, 6, 15)  # deux mois (R423-23 b)
    # Un mois : le 15 mai 2027 est un samedi, le 17 le lundi de Pentecôte.
    assert par_nature[PIECES].le == date(2027, 5, 18)
    assert "R. 423-38" in par_nature[PIECES].reference


def test_rien_hors_des_demandes_du_public() -> None:
    assert calculer(_lire(date(2026, 12, 2)), Analyse(categorie="voirie"), CRPA) == []


# --- Du registre à la file, au digest et à l'export ---------------------------------------------


@pytest.fixture
def demande_analysee(registre: Registre) -> tuple[Registre, HorlogeDeTest, str]:
    horloge = HorlogeDeTest(datetime(2026, 12, 2, 9, 0, tzinfo=UTC))
    registre = Registre(registre.engine, registre.archive, horloge)
    element = ElementRecu(
        source="depot_eml",
        canal=Canal.DEPOT,
        reference="terrasse.eml",
        recu_le=datetime(2026, 12, 2, 9, 0, tzinfo=UTC),
        contenu=DEMANDE.encode(),
    )
    entetes = EntetesCourrier(
        expediteur="M. Roux <roux@exemple.example>",
        expediteur_adresse="roux@exemple.example",
        objet="Demande d'autorisation de terrasse",
    )
    numero = registre.enregistrer(element, entetes).numero
    (a,) = registre.a_extraire()
    registre.consigner_extraction(a.id, ResultatExtraction(texte=DEMANDE, methode="texte"))
    analyseur = Analyseur(MoteurRegles(charger_regles()), CRPA, COMMUNE, horloge=horloge)
    assert analyser_en_attente(registre, analyseur, parallele=1).analyses == 1
    return registre, horloge, numero


def test_l_analyse_garde_le_delai_que_l_accuse_de_reception_annonce(
    demande_analysee: tuple[Registre, HorlogeDeTest, str],
) -> None:
    registre, _, numero = demande_analysee
    c = registre.courrier(numero)
    assert c is not None and c.est_demande_usager
    (e,) = depuis_json(c.echeances_legales)
    (ar,) = [b for b in c.brouillons if b.type == "accuse_reception"]
    assert f'"decision_implicite":"{e.le.isoformat()}"' in ar.dates
    assert e.le == date(2027, 2, 2)  # le cas de la démo : 2 décembre + 2 mois
    assert registre.verifier() == []
    # Visible dans la file d'attente, la page du courrier et l'export.
    (entree,) = [vues.entree_file(c, b, date(2026, 12, 2), {}) for b in [ar]]
    assert entree.delai_legal == "acceptation implicite J-62 (02/02/2027)"
    assert vues.delais_legaux(c, date(2027, 2, 1)) == ["acceptation implicite J-1 (02/02/2027)"]
    assert "acceptation implicite le 02/02/2027" in ligne(c)["echeances_legales"]


def test_le_digest_alerte_a_j_7_puis_a_j_2_et_dit_quand_c_est_depasse(
    demande_analysee: tuple[Registre, HorlogeDeTest, str],
) -> None:
    from courrier.digest import construire_digest

    registre, _, numero = demande_analysee
    c = registre.courrier(numero)
    assert c is not None

    def lignes(jour: date) -> list[str]:
        d = construire_digest(
            [courrier_digest(c)], [], [], jour, None, "Saint-Aubin",
            depuis=datetime(2026, 12, 1, tzinfo=UTC),
        )  # fmt: skip
        return [f"{e.alerte}|{e.j}|{e.nature}" for e in d.echeances if e.nature]

    decision = date(2027, 2, 2)
    assert lignes(decision - timedelta(days=8)) == []
    assert lignes(decision - timedelta(days=7)) == ["J-7|J-7|acceptation implicite"]
    assert lignes(decision - timedelta(days=2)) == ["J-2|J-2|acceptation implicite"]
    assert lignes(decision + timedelta(days=3)) == ["|dépassée de 3 j|acceptation implicite"]


def test_une_demande_de_pieces_suspend_le_delai_et_leur_reception_le_relance(
    demande_analysee: tuple[Registre, HorlogeDeTest, str],
) -> None:
    registre, _, numero = demande_analysee
    (suspendu,) = pieces_demandees(registre, numero, date(2026, 12, 10), "secretaire")
    assert suspendu.suspendue_le == date(2026, 12, 10)
    c = registre.courrier(numero)
    assert c is not None and courrier_digest(c).delais_legaux == ()  # plus d'alerte
    assert (
        "délai suspendu (pièces demandées le 10/12/2026)"
        in vues.delais_legaux(c, date(2026, 12, 11))[0]
    )
    (relance,) = pieces_recues(registre, numero, date(2027, 1, 4), CRPA, "secretaire")
    assert (relance.le, relance.depart, relance.suspendue_le) == (
        date(2027, 3, 4),
        date(2027, 1, 4),
        None,
    )
    # Chaque changement est scellé, au nom de la personne.
    corrections = [e for e in registre.evenements(numero) if e.type == "correction"]
    assert [e.acteur for e in corrections] == ["secretaire", "secretaire"]
    assert registre.verifier() == []


def test_un_courrier_sans_delai_legal_refuse_une_demande_de_pieces(registre: Registre) -> None:
    from noyau.erreurs import RegistreErreur

    numero = registre.enregistrer(
        ElementRecu(
            source="depot_eml",
            canal=Canal.DEPOT,
            reference="x.eml",
            recu_le=datetime(2026, 12, 2, tzinfo=UTC),
            contenu=b"publicite",
        ),
        None,
    ).numero
    with pytest.raises(RegistreErreur, match="aucun délai légal"):
        pieces_demandees(registre, numero, date(2026, 12, 3), "cli")


def test_la_commande_suspend_puis_relance_le_delai_d_un_courrier_de_la_demo(
    demo_copie: tuple[Path, dict[str, str], Path],
) -> None:
    from tests.conftest import lancer

    tmp, env, copie = demo_copie
    registre = Registre.ouvrir(f"sqlite:///{copie / 'registre.sqlite3'}", copie)
    try:
        numero = next(c.numero for c in registre.courriers() if c.echeances_legales)
    finally:
        registre.fermer()
    fait = lancer("delai", "pieces-demandees", numero, "--le", "2026-12-10", env=env, cwd=tmp)
    assert fait.returncode == 0, fait.stderr
    assert "délai suspendu (pièces demandées le 10/12/2026)" in " ".join(fait.stdout.split())
    fait = lancer("delai", "pieces-recues", numero, "--le", "2027-01-04", env=env, cwd=tmp)
    assert fait.returncode == 0 and "implicite le 04/03/2027" in fait.stdout
    mauvais = lancer("delai", "pieces-recues", numero, "--le", "hier", env=env, cwd=tmp)
    assert mauvais.returncode == 1 and "AAAA-MM-JJ" in mauvais.stderr
    file = lancer("file", env={**env, "COLUMNS": "220"}, cwd=tmp)
    assert "Délai légal" in file.stdout


def test_une_demande_transmise_a_l_autorite_competente_ne_court_plus_chez_nous(
    demande_analysee: tuple[Registre, HorlogeDeTest, str],
) -> None:
    from registre.delais import demande_transmise

    registre, _, numero = demande_analysee
    (e,) = demande_transmise(registre, numero, date(2026, 12, 4), "la préfecture", "secretaire")
    assert "transmise le 04/12/2026 à la préfecture (article L. 114-2 du CRPA)" in e.texte
    c = registre.courrier(numero)
    assert c is not None and courrier_digest(c).delais_legaux == ()
    assert depuis_json(c.echeances_legales)[0].transmise_a == "la préfecture"
    assert registre.verifier() == []
