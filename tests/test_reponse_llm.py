"""Un LLM imparfait (issue #10, point 5) : le schéma contraint chaque champ, les dates écrites
en français sont lues, un champ facultatif invalide est écarté (« à vérifier ») sans perdre le
reste ; seule une réponse inutilisable fait repasser aux règles.

Le vrai client `openai` contre le serveur compatible de preuves/serveur_llm.py, sur 127.0.0.1 ;
les règles sont celles livrées dans regles/. Toutes les dates sont écrites dans les tests.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from connecteurs.llm import ClientLLM, ErreurLLM, ParametresLLM
from connecteurs.reponse_llm import lire_date, schema_analyse
from courrier.analyser import Analyseur
from noyau.analyse import Alerte, Analyse, Commune, CourrierALire, Urgence
from preuves.serveur_llm import ServeurLLM
from regles.chargement import charger_regles
from regles.crpa import charger_crpa
from regles.evaluer import lire_jeu
from regles.moteur import MoteurRegles

JEU = lire_jeu(Path(__file__).with_name("donnees") / "courriers_etiquetes.yaml")
CATEGORIES = list(charger_regles().categories)  # celles des règles livrées
LIBELLES = {c: c.replace("_", " ").capitalize() for c in CATEGORIES}
RECU_LE = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)
# Les mots-clés de « tests » conduisent le serveur à une analyse « voirie » de sa table.
NID_DE_POULE = CourrierALire(
    numero="2026-00042",
    canal="email",
    recu_le=RECU_LE,
    objet="Nid de poule rue des Écoles",
    expediteur="Jeanne Durand <jeanne.durand@exemple.example>",
    expediteur_adresse="jeanne.durand@exemple.example",
    texte=(
        "Monsieur le Maire,\nUn nid de poule dangereux s'est formé devant le 12 rue des Écoles. "
        "Merci de me répondre avant le 15 janvier 2027.\nJeanne Durand"
    ),
)
# Les mots-clés du JSON Schema que la sortie structurée stricte d'OpenAI accepte.
MOTS_CLES_STRICTS = {
    "type",
    "properties",
    "required",
    "additionalProperties",
    "items",
    "enum",
    "description",
    "pattern",
    "format",
    "minimum",
    "maximum",
    "minItems",
    "maxItems",
}


@pytest.fixture
def serveur() -> Iterator[ServeurLLM]:
    with ServeurLLM() as s:
        yield s


def client(serveur: ServeurLLM) -> ClientLLM:
    return ClientLLM(
        ParametresLLM(
            url=serveur.url,
            cle="cle-de-test",
            modele="modele-test",
            delai_s=2,
            tentatives=1,
            pseudonymiser=False,
        )
    )


def analyseur(llm: ClientLLM) -> Analyseur:
    return Analyseur(
        MoteurRegles(charger_regles()), charger_crpa(), Commune(nom="Saint-Aubin"), llm
    )


def champs(**valeurs: Any) -> str:
    """Le comportement du serveur qui abîme ces champs de sa réponse."""
    return "champs:" + json.dumps(valeurs, ensure_ascii=False)


def analyser(serveur: ServeurLLM, courrier: CourrierALire = NID_DE_POULE) -> Analyse:
    with client(serveur) as c:
        return c.analyser(courrier, LIBELLES, {})


# -- le schéma envoyé ----------------------------------------------------------------------------


def _mots_cles(schema: Any) -> set[str]:
    if isinstance(schema, list):
        return set().union(*(_mots_cles(s) for s in schema)) if schema else set()
    if not isinstance(schema, dict):
        return set()
    trouves = set(schema) - {"properties"}
    for nom, valeur in schema.items():
        if nom == "properties":
            trouves.add(nom)
            for sous in valeur.values():
                trouves |= _mots_cles(sous)
        elif nom == "items":
            trouves |= _mots_cles(valeur)
    return trouves


def test_le_schema_envoye_impose_une_echeance_au_format_AAAA_MM_JJ(serveur: ServeurLLM) -> None:
    analyser(serveur)
    schema = serveur.requetes[0]["response_format"]["json_schema"]["schema"]
    jsonschema.Draft202012Validator.check_schema(schema)
    validateur = jsonschema.Draft202012Validator(schema)
    reponse = {
        "categorie": "voirie",
        "service": "Services techniques",
        "urgence": "haute",
        "resume": "Un nid de poule.",
        "expediteur": {"nom": "", "email": "", "adresse": ""},
        "demande": "",
        "reponse_attendue": True,
        "est_demande_usager": True,
        "echeance": "2027-01-15",
        "confiance": 0.9,
        "alertes": [],
    }
    assert validateur.is_valid(reponse)
    assert validateur.is_valid({**reponse, "echeance": None})
    for mauvaise in ("15 janvier 2027", "15/01/2027", "2027-13-01", "2027-01-32", "bientôt"):
        assert not validateur.is_valid({**reponse, "echeance": mauvaise}), mauvaise
    assert not validateur.is_valid({**reponse, "urgence": "critique"})
    assert not validateur.is_valid({**reponse, "confiance": 85})
    assert not validateur.is_valid({**reponse, "alertes": ["a_verifier"] * 3})


def test_le_schema_reste_dans_ce_que_la_sortie_stricte_d_openai_accepte() -> None:
    # Un mot-clé refusé (maxLength…) ferait refuser le schéma entier : repli en mode objet.
    schema = schema_analyse(list(CATEGORIES))
    assert _mots_cles(schema) <= MOTS_CLES_STRICTS
    objets = [schema, schema["properties"]["expediteur"]]
    for objet in objets:
        assert set(objet["required"]) == set(objet["properties"])
        assert objet["additionalProperties"] is False


# -- les dates écrites en français -------------------------------------------------------------


@pytest.mark.parametrize(
    ("ecrite", "attendue"),
    [
        ("2027-01-15", date(2027, 1, 15)),
        ("15 janvier 2027", date(2027, 1, 15)),
        ("15/01/2027", date(2027, 1, 15)),
        ("15.01.2027", date(2027, 1, 15)),
        ("15/01/27", date(2027, 1, 15)),
        ("le 1er mars 2027", date(2027, 3, 1)),
        ("vendredi 15 janvier 2027", date(2027, 1, 15)),
        ("15 janv. 2027", date(2027, 1, 15)),
        ("avant le 15 janvier 2027", date(2027, 1, 15)),
        ("au plus tard le 15 janvier 2027", date(2027, 1, 15)),
        ("le 15 janvier 2027 au plus tard", date(2027, 1, 15)),
        ("15 January 2027", date(2027, 1, 15)),
    ],
)
def test_une_echeance_ecrite_en_toutes_lettres_est_comprise(
    serveur: ServeurLLM, ecrite: str, attendue: date
) -> None:
    serveur.scenario = [champs(echeance=ecrite)]
    analyse = analyser(serveur)

    assert analyse.echeance == attendue
    assert analyse.moteur == "llm:modele-test"
    assert Alerte.A_VERIFIER not in analyse.alertes
    assert analyse.ecartes == []


@pytest.mark.parametrize(
    ("ecrite", "recu", "attendue"),
    [
        # Sans année : la prochaine, sauf si elle tombe moins de trois mois avant la réception.
        ("15 janvier", date(2026, 11, 20), date(2027, 1, 15)),
        ("10 novembre", date(2026, 11, 20), date(2026, 11, 10)),
        ("1er mars", date(2026, 11, 20), date(2027, 3, 1)),
        ("1er mars", date(2026, 2, 10), date(2026, 3, 1)),
    ],
)
def test_une_date_sans_annee_se_situe_d_apres_la_reception(
    ecrite: str, recu: date, attendue: date
) -> None:
    assert lire_date(ecrite, recu) == attendue


@pytest.mark.parametrize(
    "ecrite", ["dès que possible", "sous quinze jours", "dans 15 jours", "demain", "mars 2027"]
)
def test_ce_qui_n_est_pas_un_jour_precis_n_est_pas_une_date(ecrite: str) -> None:
    assert lire_date(ecrite, date(2026, 11, 20)) is None


# -- un champ invalide est écarté, le reste sert ----------------------------------------------


def test_une_echeance_illisible_est_ecartee_et_signalee_sans_perdre_le_reste(
    serveur: ServeurLLM,
) -> None:
    serveur.scenario = [champs(echeance="dès que possible")]
    analyse = analyser(serveur)

    assert analyse.moteur == "llm:modele-test"
    assert analyse.categorie == "voirie" and analyse.urgence is Urgence.HAUTE
    assert analyse.resume.startswith("Un habitant signale un nid de poule")
    assert analyse.echeance is None
    assert analyse.ecartes == ["echeance"]
    assert Alerte.A_VERIFIER in analyse.alertes


@pytest.mark.parametrize(
    "echeance", [None, "", "aucune", "Néant", "non précisée", "pas d'échéance"]
)
def test_une_echeance_absente_n_est_pas_une_erreur(serveur: ServeurLLM, echeance: Any) -> None:
    serveur.scenario = [champs(echeance=echeance)]
    analyse = analyser(serveur)
    assert analyse.echeance is None and analyse.ecartes == []
    assert Alerte.A_VERIFIER not in analyse.alertes


def test_les_champs_ecartes_sont_remplaces_par_ceux_des_regles(serveur: ServeurLLM) -> None:
    serveur.scenario = [
        champs(echeance="dès que possible", urgence="critique", reponse_attendue="peut-être")
    ]
    with client(serveur) as c:
        analyse = analyseur(c).analyser(NID_DE_POULE)

    assert analyse.moteur == "llm:modele-test"
    assert analyse.categorie == "voirie"
    assert analyse.resume.startswith("Un habitant signale un nid de poule")  # celui du LLM
    # Les règles lisent « avant le 15 janvier 2027 » dans le courrier.
    assert analyse.echeance == date(2027, 1, 15)
    assert analyse.urgence in set(Urgence)
    assert analyse.reponse_attendue is True
    assert sorted(analyse.ecartes) == ["echeance", "reponse_attendue", "urgence"]
    assert Alerte.A_VERIFIER in analyse.alertes
    assert Alerte.LLM_INDISPONIBLE not in analyse.alertes


def test_des_valeurs_a_la_francaise_sont_comprises(serveur: ServeurLLM) -> None:
    serveur.scenario = [
        champs(
            urgence="Haute",
            confiance="0,8",
            reponse_attendue="oui",
            est_demande_usager="non",
            expediteur="Jeanne Durand <jeanne.durand@exemple.example>",
            alertes="a_verifier",
        )
    ]
    analyse = analyser(serveur)
    assert analyse.urgence is Urgence.HAUTE
    assert analyse.confiance == pytest.approx(0.8)
    assert analyse.reponse_attendue is True and analyse.est_demande_usager is False
    assert analyse.expediteur.email == "jeanne.durand@exemple.example"
    assert analyse.expediteur.nom == "Jeanne Durand"
    assert analyse.alertes == [Alerte.A_VERIFIER]
    assert analyse.ecartes == []


@pytest.mark.parametrize("categorie", [None, 42, ["voirie"]])
def test_seule_une_reponse_sans_categorie_repasse_aux_regles(
    serveur: ServeurLLM, categorie: Any
) -> None:
    serveur.defaut = champs(categorie=categorie)
    with client(serveur) as c:
        with pytest.raises(ErreurLLM, match="pas de catégorie lisible"):
            c.analyser(NID_DE_POULE, LIBELLES, {})
        analyse = analyseur(c).analyser(NID_DE_POULE)
    assert analyse.moteur == "regles"
    assert Alerte.LLM_INDISPONIBLE in analyse.alertes


# -- la mesure : la part des réponses du LLM qui servent -----------------------------------------

# Ce que des modèles réels mettent dans `echeance` quand rien ne les contraint, ou mal.
ECHEANCES_EN_TEXTE = [
    "15 janvier 2027",
    "15/01/2027",
    "le 1er mars 2027",
    "vendredi 15 janvier 2027",
    "avant le 15 janvier 2027",
    "15 janv. 2027",
    "15.01.2027",
    "dès que possible",
    "sous quinze jours",
    "aucune",
]


def test_avec_des_echeances_en_texte_toutes_les_reponses_du_llm_servent(
    serveur: ServeurLLM,
) -> None:
    """Avant (mesuré sur le code d'avant, même jeu, même serveur) : une échéance en texte faisait
    rejeter toute l'analyse, 8 réponses utilisées sur 84 (les seules « aucune »), aucune de
    celles qui datent en texte. Après : toutes servent ; seules les échéances illisibles sont
    écartées, avec l'alerte « à vérifier »."""
    courriers = [e.courrier for e in JEU]
    ecrites = [ECHEANCES_EN_TEXTE[i % len(ECHEANCES_EN_TEXTE)] for i in range(len(courriers))]
    serveur.scenario = [champs(echeance=e) for e in ecrites]
    with client(serveur) as c:
        moteur = analyseur(c)
        analyses = [moteur.analyser(courrier) for courrier in courriers]

    utilisees = sum(a.moteur.startswith("llm:") for a in analyses)
    part = utilisees / len(analyses)
    assert len(analyses) >= 40
    assert part == 1.0, f"{utilisees}/{len(analyses)} réponses du LLM utilisées"
    for ecrite, analyse in zip(ecrites, analyses, strict=True):
        illisible = ecrite in ("dès que possible", "sous quinze jours")
        assert (analyse.ecartes == ["echeance"]) is illisible, ecrite
        assert (Alerte.A_VERIFIER in analyse.alertes) or not illisible
        if not illisible and ecrite != "aucune":
            assert analyse.echeance in (date(2027, 1, 15), date(2027, 3, 1)), ecrite
