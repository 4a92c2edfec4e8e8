"""L'étape d'analyse de la relève, du registre au registre : règles seules, puis le vrai client
`openai` contre un serveur compatible lancé sur 127.0.0.1 (preuves/serveur_llm.py)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from connecteurs.llm import ClientLLM, ParametresLLM
from courrier.analyser import Analyseur, analyser_en_attente
from noyau.analyse import Alerte, Commune
from noyau.domaine import Canal, ElementRecu, EntetesCourrier, ResultatExtraction
from preuves.serveur_llm import ServeurLLM
from registre.registre import Registre
from regles.chargement import charger_regles
from regles.crpa import charger_crpa
from regles.evaluer import CourrierEtiquete, lire_jeu
from regles.moteur import MoteurRegles

JEU = lire_jeu(Path(__file__).with_name("donnees") / "courriers_etiquetes.yaml")
COMMUNE = Commune(nom="Saint-Aubin-sur-Loire", maire="Hélène Marchand")


def etiquete(ident: str) -> CourrierEtiquete:
    return next(c for c in JEU if c.id == ident)


def deposer(registre: Registre, *etiquetes: CourrierEtiquete) -> list[str]:
    """Enregistre et « lit » des courriers du jeu étiqueté, comme l'aurait fait la relève."""
    numeros = []
    for e in etiquetes:
        c = e.courrier
        adresse = c.expediteur.partition("<")[2]
        element = ElementRecu(
            source="depot_eml",
            canal=Canal.SCAN if c.canal == "scan" else Canal.DEPOT,
            reference=e.id,
            recu_le=c.recu_le,
            contenu=f"{e.id}\n{c.texte}".encode(),
        )
        entetes = EntetesCourrier(
            expediteur=c.expediteur, expediteur_adresse=adresse.strip(" >"), objet=c.objet
        )
        numeros.append(registre.enregistrer(element, entetes).numero)
    for a in registre.a_extraire():
        texte = next(
            e.courrier.texte for e in etiquetes if e.id == registre_reference(registre, a.id)
        )
        registre.consigner_extraction(a.id, ResultatExtraction(texte=texte, methode="texte"))
    return numeros


def registre_reference(registre: Registre, ident: int) -> str:
    return next(c.reference for c in registre.courriers() if c.id == ident)


def analyseur(llm: ClientLLM | None = None) -> Analyseur:
    return Analyseur(MoteurRegles(charger_regles()), charger_crpa(), COMMUNE, llm)


@pytest.fixture
def serveur() -> Iterator[ServeurLLM]:
    with ServeurLLM() as s:
        yield s


def client(serveur: ServeurLLM, **options: object) -> ClientLLM:
    parametres = ParametresLLM(
        url=serveur.url,
        cle="cle-de-test",
        modele="modele-test",
        parallele=2,
        delai_s=1.0,
        tentatives=2,
        attente_s=0.05,
        attente_max_s=1.0,
        pseudonymiser=True,
    )
    return ClientLLM(replace(parametres, **options))  # type: ignore[arg-type]


QUATRE = (
    "etat-civil-passeport",
    "injection-nid-de-poule",
    "injection-cantine-scan",
    "injection-salle-anglais",
)


def test_sans_llm_les_regles_analysent_tout_et_preparent_les_brouillons(
    registre: Registre,
) -> None:
    deposer(registre, *(etiquete(i) for i in QUATRE))
    bilan = analyser_en_attente(registre, analyseur(), parallele=2)
    assert (bilan.analyses, bilan.par_llm, bilan.erreurs) == (4, 0, [])
    for c in registre.courriers():
        attendu = etiquete(c.reference)
        assert c.statut == "analyse" and c.moteur == "regles"
        assert c.categorie == attendu.categorie, c.reference
        types = sorted(b.type for b in c.brouillons)
        assert types == ["accuse_reception", "reponse"]
        assert all(b.statut == "a_valider" and not b.prepare_par_ia for b in c.brouillons)
    # la lettre papier reçoit son expéditeur et son objet, lus dans le texte
    scan = next(c for c in registre.courriers() if c.reference == "injection-cantine-scan")
    assert scan.expediteur == "Fatima Benslimane"
    assert scan.objet == "Inscription de mon fils à la cantine"
    assert registre.verifier() == []
    # une seconde passe ne refait rien
    assert analyser_en_attente(registre, analyseur(), parallele=2).analyses == 0


@pytest.mark.parametrize("panne", ["500", "json_invalide", "tronque", "lent:3", "429", "401"])
def test_une_panne_du_llm_retombe_sur_les_regles_et_le_signale(
    registre: Registre, serveur: ServeurLLM, panne: str
) -> None:
    deposer(registre, etiquete("etat-civil-passeport"))
    serveur.defaut = panne
    bilan = analyser_en_attente(registre, analyseur(client(serveur)), parallele=2)
    (c,) = registre.courriers()
    assert bilan.analyses == 1 and bilan.replis == 1
    assert c.moteur == "regles" and c.categorie == "etat_civil"
    assert Alerte.LLM_INDISPONIBLE.value in c.alertes.split(",")
    assert c.brouillons and not any(b.prepare_par_ia for b in c.brouillons)
    assert registre.verifier() == []


def test_une_categorie_inconnue_du_llm_est_tranchee_par_les_regles(
    registre: Registre, serveur: ServeurLLM
) -> None:
    deposer(registre, etiquete("etat-civil-passeport"))
    serveur.defaut = "categorie_inconnue"
    analyser_en_attente(registre, analyseur(client(serveur)), parallele=2)
    (c,) = registre.courriers()
    assert c.moteur == "llm:modele-test"
    assert c.categorie == "etat_civil"
    assert {"a_verifier", "llm_incoherent"} <= set(c.alertes.split(","))


def test_le_llm_analyse_et_redige_en_parallele_borne_sans_voir_les_donnees_personnelles(
    registre: Registre, serveur: ServeurLLM
) -> None:
    courriers = [e for e in JEU if not e.injection and e.categorie in {"voirie", "etat_civil"}]
    deposer(registre, *courriers)
    serveur.defaut = "lent:0.2"
    bilan = analyser_en_attente(registre, analyseur(client(serveur)), parallele=8)
    assert bilan.analyses == len(courriers) and bilan.par_llm == len(courriers)
    assert 1 <= serveur.concurrence_max <= 2  # COURRIER_LLM_PARALLELE, pas les 8 fils
    tous = "\n".join(serveur.corps)
    # Aucune adresse électronique ; aucun nom des habitants qui demandent un acte (les noms
    # d'entreprises et d'administrations ne sont pas des données personnelles).
    for e in courriers:
        nom, _, adresse = e.courrier.expediteur.partition("<")
        if adresse:
            assert adresse.strip(" >") not in tous, e.id
        if nom.strip() and e.categorie == "etat_civil":
            assert nom.strip() not in tous, e.id
    for c in registre.courriers():
        assert c.moteur == "llm:modele-test"
        analyse = json.loads(c.analyse)
        assert "[EMAIL_" not in c.analyse and "[PERSONNE_" not in c.analyse, analyse
        ia = [b for b in c.brouillons if b.prepare_par_ia]
        if c.categorie in {"voirie", "etat_civil"} and c.reponse_attendue:
            assert ia and ia[0].auteur == "llm:modele-test"
            assert "préparé avec l'aide d'une IA" in ia[0].corps
    assert registre.verifier() == []


@pytest.mark.parametrize(
    "ident", ["injection-nid-de-poule", "injection-salle-anglais", "injection-cantine-scan"]
)
@pytest.mark.parametrize("avec_llm", [False, True])
def test_une_lettre_qui_donne_des_ordres_garde_son_vrai_sujet(
    registre: Registre, serveur: ServeurLLM, ident: str, avec_llm: bool
) -> None:
    attendu = etiquete(ident)
    deposer(registre, attendu)
    serveur.defaut = "obeissant"  # un modèle naïf qui suit les ordres du courrier
    llm = client(serveur) if avec_llm else None
    analyser_en_attente(registre, analyseur(llm), parallele=2)
    (c,) = registre.courriers()
    assert c.categorie == attendu.categorie
    assert c.urgence == attendu.urgence
    assert Alerte.INJECTION_SUSPECTEE.value in c.alertes.split(",")
    # aucun effet : rien d'envoyé, rien de validé, et la rédaction générative n'est pas utilisée
    assert all(b.statut == "a_valider" and not b.prepare_par_ia for b in c.brouillons)
    corps = "\n".join(b.corps for b in c.brouillons)
    assert "prend en charge les frais" not in corps and "inscription acceptée" not in corps
    if avec_llm:
        assert len(serveur.requetes) == 1  # l'analyse seulement : pas d'appel de rédaction


class LLMImprevisible:
    """Un client dont la réponse déclenche un défaut imprévu (faux écrit à la main)."""

    def analyser(self, *args: object) -> object:
        raise ValueError("réponse inattendue")

    def rediger(self, *args: object) -> str:
        raise AssertionError("jamais appelé quand l'analyse a échoué")


def test_un_defaut_imprevu_du_llm_retombe_aussi_sur_les_regles(registre: Registre) -> None:
    deposer(registre, etiquete("etat-civil-passeport"))
    bilan = analyser_en_attente(registre, analyseur(LLMImprevisible()), parallele=1)  # type: ignore[arg-type]
    (c,) = registre.courriers()
    assert bilan.erreurs == [] and bilan.replis == 1
    assert c.moteur == "regles" and "llm_indisponible" in c.alertes
