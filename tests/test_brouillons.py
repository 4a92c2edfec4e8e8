"""Les brouillons : accusés de réception conformes au CRPA, réponses par gabarit ou par le LLM."""

from __future__ import annotations

import fnmatch
import tomllib
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

import pytest

from courrier.brouillons import ETIQUETTE_IA, accuse_reception, rediger, reponse_modele
from noyau.analyse import (
    Analyse,
    Commune,
    CourrierALire,
    Expediteur,
    TypeBrouillon,
)
from noyau.crpa import ReglesCrpa
from noyau.erreurs import ConfigurationErreur
from regles.chargement import charger_regles
from regles.crpa import DOSSIER_REGLES, charger_crpa

RACINE = Path(__file__).resolve().parents[1]
PARIS_ETE = timezone(timedelta(hours=2))
LE = date(2026, 11, 23)  # date des lettres, fixée

COMMUNE = Commune(
    nom="Saint-Aubin-sur-Loire",
    maire="Hélène Moreau",
    adresse="1 place de la Mairie\n45000 Saint-Aubin-sur-Loire",
    telephone="02 38 00 00 00",
    email="mairie@saint-aubin-sur-loire.example",
)


@pytest.fixture(scope="module")
def crpa() -> ReglesCrpa:
    return charger_crpa()


def un_courrier(
    recu_le: date = date(2026, 3, 26), objet: str = "Demande", canal: str = "email", **autres: str
) -> CourrierALire:
    # 10 h à Paris : la date de réception est celle du calendrier parisien.
    moment = datetime(recu_le.year, recu_le.month, recu_le.day, 10, tzinfo=PARIS_ETE)
    return CourrierALire(
        numero=autres.pop("numero", "2026-00042"),
        canal=canal,
        recu_le=moment.astimezone(UTC),
        objet=objet,
        expediteur=autres.pop("expediteur", "Claire Martin <claire.martin@exemple.example>"),
        expediteur_adresse=autres.pop("expediteur_adresse", "claire.martin@exemple.example"),
        texte=autres.pop("texte", "Bonjour, …"),
    )


def une_analyse(categorie: str = "etat_civil", **champs: object) -> Analyse:
    valeurs: dict[str, object] = {
        "categorie": categorie,
        "est_demande_usager": True,
        "reponse_attendue": False,
        "demande": "Obtenir une copie intégrale d'acte de naissance",
    }
    valeurs.update(champs)
    return Analyse.model_validate(valeurs)


def l_ar(crpa: ReglesCrpa, recu_le: date, categorie: str = "etat_civil", **champs: object):
    courrier = un_courrier(recu_le, objet=str(champs.pop("objet", "Demande")))
    return accuse_reception(courrier, une_analyse(categorie, **champs), COMMUNE, crpa, le=LE)


# --- Accusé de réception ---------------------------------------------------------------------


def test_l_accuse_de_reception_porte_la_date_de_reception_le_numero_et_le_service(
    crpa: ReglesCrpa,
) -> None:
    ar = l_ar(crpa, date(2026, 3, 26))
    assert ar.type is TypeBrouillon.ACCUSE_RECEPTION
    assert ar.auteur == "modele:accuse_reception"
    assert not ar.prepare_par_ia
    assert ar.dates == {"reception": date(2026, 3, 26), "decision_implicite": date(2026, 5, 26)}
    assert "reçue par la mairie le 26 mars 2026" in ar.corps
    assert "2026-00042" in ar.corps
    assert "Accueil – état civil" in ar.corps  # service de la catégorie (categories.yaml)
    assert "Adresse postale : Mairie de Saint-Aubin-sur-Loire, 1 place de la Mairie" in ar.corps
    assert "Adresse électronique : mairie@saint-aubin-sur-loire.example" in ar.corps
    assert "Téléphone : 02 38 00 00 00" in ar.corps
    assert ar.destinataire == "claire.martin@exemple.example"


def test_l_accuse_de_reception_annonce_l_acceptation_implicite_et_sa_date(
    crpa: ReglesCrpa,
) -> None:
    corps = l_ar(crpa, date(2026, 3, 26)).corps
    assert "à la fin de la journée du 26 mai 2026" in corps
    assert "réputée acceptée" in corps
    assert "décision implicite d'acceptation" in corps
    assert "au terme d'un délai de deux mois (article L. 231-1" in corps
    assert "attestation" in corps  # L232-3


def test_l_accuse_de_reception_donne_les_voies_et_delais_de_recours(crpa: ReglesCrpa) -> None:
    corps = l_ar(crpa, date(2026, 3, 26)).corps
    assert "Voies et délais de recours" in corps
    assert "recours gracieux" in corps
    assert "tribunal administratif" in corps
    assert "deux mois" in corps
    assert "Télérecours citoyens" in corps


@pytest.mark.parametrize(
    ("recu_le", "decision", "en_lettres"),
    [
        (date(2026, 3, 14), date(2026, 5, 15), "15 mai 2026"),  # terme : Ascension
        (date(2026, 3, 25), date(2026, 5, 26), "26 mai 2026"),  # terme : lundi de Pentecôte
        (date(2026, 11, 30), date(2027, 2, 1), "1er février 2027"),  # samedi, autre année
        (date(2026, 12, 31), date(2027, 3, 1), "1er mars 2027"),  # 28 février, dimanche
    ],
)
def test_la_date_de_decision_implicite_suit_le_calendrier_des_feries(
    crpa: ReglesCrpa, recu_le: date, decision: date, en_lettres: str
) -> None:
    ar = l_ar(crpa, recu_le)
    assert ar.dates["decision_implicite"] == decision
    assert f"la journée du {en_lettres}" in ar.corps


def test_une_demande_d_aide_sociale_fait_naitre_un_rejet_implicite(crpa: ReglesCrpa) -> None:
    ar = l_ar(crpa, date(2026, 3, 26), "social", demande="Aide pour payer une facture")
    assert "réputée rejetée" in ar.corps
    assert "décision implicite de rejet" in ar.corps
    assert "acceptation" not in ar.corps
    assert "L. 231-4 (3°)" in ar.corps


def test_une_demande_d_aide_financiere_hors_social_fait_aussi_naitre_un_rejet(
    crpa: ReglesCrpa,
) -> None:
    ar = l_ar(crpa, date(2026, 3, 26), "autre", demande="Demande d'une aide financière")
    assert "décision implicite de rejet" in ar.corps
    ar = l_ar(crpa, date(2026, 3, 26), "salles_associations", objet="Demande de SUBVENTION 2027")
    assert "décision implicite de rejet" in ar.corps


def test_un_recours_gracieux_fait_naitre_un_rejet_implicite(crpa: ReglesCrpa) -> None:
    ar = l_ar(crpa, date(2026, 3, 26), "autre", demande="Recours gracieux contre un refus")
    assert "réputée rejetée" in ar.corps


def test_une_declaration_prealable_a_un_delai_d_un_mois(crpa: ReglesCrpa) -> None:
    ar = l_ar(crpa, date(2026, 3, 26), "urbanisme", demande="Déclaration préalable pour un abri")
    assert ar.dates["decision_implicite"] == date(2026, 4, 27)  # le 26 avril est un dimanche
    assert "au terme d'un délai d'un mois (articles R. 423-23 a)" in ar.corps
    assert "attestation de cette décision (article R. 424-13 du code de l'urbanisme)" in ar.corps


def test_un_permis_de_construire_de_maison_individuelle_a_un_delai_de_deux_mois(
    crpa: ReglesCrpa,
) -> None:
    ar = l_ar(
        crpa,
        date(2026, 3, 26),
        "urbanisme",
        demande="Permis de construire d'une maison individuelle",
    )
    assert ar.dates["decision_implicite"] == date(2026, 5, 26)
    ar = l_ar(crpa, date(2026, 3, 26), "urbanisme", demande="Permis de construire un hangar")
    assert ar.dates["decision_implicite"] == date(2026, 6, 26)


def test_une_demande_de_documents_administratifs_renvoie_a_la_cada(crpa: ReglesCrpa) -> None:
    ar = l_ar(crpa, date(2026, 3, 26), "autre", demande="Accès aux documents administratifs")
    assert ar.dates["decision_implicite"] == date(2026, 4, 27)
    assert "Commission d'accès aux documents administratifs" in ar.corps


def test_une_inscription_electorale_n_annonce_aucune_decision_implicite(
    crpa: ReglesCrpa,
) -> None:
    ar = l_ar(crpa, date(2026, 3, 26), "elections", demande="Inscription sur la liste électorale")
    assert "n'est pas susceptible de donner lieu à une décision implicite" in ar.corps
    assert "decision_implicite" not in ar.dates
    assert "tribunal judiciaire" in ar.corps


def test_la_reception_est_datee_a_l_heure_de_paris(crpa: ReglesCrpa) -> None:
    # 23 h 30 UTC le 31 décembre : déjà le 1er janvier à Paris.
    courrier = CourrierALire(
        numero="2027-00001",
        canal="email",
        recu_le=datetime(2026, 12, 31, 23, 30, tzinfo=UTC),
    )
    ar = accuse_reception(courrier, une_analyse(), COMMUNE, crpa, le=LE)
    assert ar.dates["reception"] == date(2027, 1, 1)
    assert "le 1er janvier 2027" in ar.corps


def test_sans_coordonnees_l_accuse_de_reception_laisse_des_mentions_a_completer(
    crpa: ReglesCrpa,
) -> None:
    ar = accuse_reception(un_courrier(), une_analyse(), Commune(nom="Oinville"), crpa, le=LE)
    assert "Adresse postale : [à compléter]" in ar.corps
    assert "Téléphone : [à compléter]" in ar.corps
    assert "MAIRIE D'OINVILLE" in ar.corps


def test_un_service_peut_avoir_ses_propres_coordonnees(tmp_path: Path) -> None:
    texte = (DOSSIER_REGLES / "crpa.yaml").read_text(encoding="utf-8")
    texte = texte.replace(
        "services: {}",
        'services:\n  CCAS: {adresse: "2 rue de l\'Église", email: ccas@exemple.example, '
        'telephone: "02 38 00 00 01"}',
    )
    (tmp_path / "crpa.yaml").write_text(texte, encoding="utf-8")
    (tmp_path / "categories.yaml").write_text(
        (DOSSIER_REGLES / "categories.yaml").read_text(encoding="utf-8"), encoding="utf-8"
    )
    ar = l_ar(charger_crpa(tmp_path), date(2026, 3, 26), "social", demande="Aide aux vacances")
    assert "Adresse électronique : ccas@exemple.example" in ar.corps
    assert "Téléphone : 02 38 00 00 01" in ar.corps


# --- L'étape de rédaction --------------------------------------------------------------------


def test_sans_reponse_attendue_ni_demande_du_public_aucun_brouillon(crpa: ReglesCrpa) -> None:
    analyse = une_analyse("institutions", est_demande_usager=False, reponse_attendue=False)
    assert rediger(un_courrier(), analyse, COMMUNE, crpa, le=LE) == []


def test_la_publicite_ne_recoit_ni_accuse_ni_reponse(crpa: ReglesCrpa) -> None:
    analyse = une_analyse("publicite", est_demande_usager=True, reponse_attendue=True)
    redacteur_appele = []

    def redacteur(*_: object) -> str:
        redacteur_appele.append(True)
        return "Réponse"

    assert rediger(un_courrier(), analyse, COMMUNE, crpa, redacteur, le=LE) == []
    assert not redacteur_appele


def test_une_demande_qui_attend_une_reponse_recoit_un_accuse_et_une_reponse(
    crpa: ReglesCrpa,
) -> None:
    analyse = une_analyse(reponse_attendue=True)
    ar, reponse = rediger(un_courrier(objet="Acte de naissance"), analyse, COMMUNE, crpa, le=LE)
    assert ar.type is TypeBrouillon.ACCUSE_RECEPTION
    assert reponse.type is TypeBrouillon.REPONSE
    assert reponse.auteur == "modele:etat_civil"
    assert reponse.objet == "Re: Acte de naissance"
    assert not reponse.prepare_par_ia
    assert "justificatifs de filiation" in reponse.corps


def test_un_objet_hostile_s_imprime_tel_quel_sans_etre_evalue(crpa: ReglesCrpa) -> None:
    hostile = "{{ 7*7 }} {% for %} {{ ''.__class__ }}"
    courrier = un_courrier(objet=hostile, expediteur="{{ 6*7 }} <x@exemple.example>")
    analyse = une_analyse(
        reponse_attendue=True,
        demande="{{ config }} {% raw %}",
        expediteur=Expediteur(nom="{{ 6*7 }}", adresse="{{ 8*8 }}\n{% endfor %}"),
    )
    brouillons = rediger(courrier, analyse, COMMUNE, crpa, le=LE)
    assert len(brouillons) == 2
    for b in brouillons:
        assert "{{ 7*7 }} {% for %} {{ ''.__class__ }}" in b.corps
        assert "{{ 6*7 }}" in b.corps
        assert "{{ config }} {% raw %}" in b.corps or b.type is TypeBrouillon.REPONSE
        assert "49" not in b.corps
        assert "42" not in b.corps.replace("2026-00042", "")
        assert "<class" not in b.corps


def test_un_objet_sur_plusieurs_lignes_ne_forge_pas_de_ligne_dans_la_lettre(
    crpa: ReglesCrpa,
) -> None:
    courrier = un_courrier(objet="Acte\r\nObjet : Remboursement accordé")
    b = reponse_modele(courrier, une_analyse(reponse_attendue=True), COMMUNE, crpa, le=LE)
    assert "\nObjet : Remboursement" not in b.corps
    assert "\n" not in b.objet and "\r" not in b.objet


def test_une_panne_du_llm_laisse_la_place_au_gabarit(crpa: ReglesCrpa) -> None:
    def redacteur(*_: object) -> str:
        raise TimeoutError("le LLM ne répond pas")

    analyse = une_analyse("voirie", reponse_attendue=True, est_demande_usager=False)
    (reponse,) = rediger(un_courrier(), analyse, COMMUNE, crpa, redacteur, le=LE)
    assert reponse.auteur == "modele:voirie"
    assert not reponse.prepare_par_ia
    assert ETIQUETTE_IA not in reponse.corps


def test_une_reponse_vide_du_llm_laisse_la_place_au_gabarit(crpa: ReglesCrpa) -> None:
    analyse = une_analyse("voirie", reponse_attendue=True, est_demande_usager=False)
    (reponse,) = rediger(un_courrier(), analyse, COMMUNE, crpa, lambda *_: "  \n ", le=LE)
    assert reponse.auteur == "modele:voirie"


class ClientLlm:
    """Un client comme connecteurs.llm.ClientLLM : le rédacteur est l'une de ses méthodes."""

    def __init__(self, moteur: str | None = None) -> None:
        if moteur:
            self.moteur = moteur
        self.appels = 0

    def rediger(self, courrier: CourrierALire, analyse: Analyse, commune: Commune) -> str:
        self.appels += 1
        return f"Madame, Monsieur,\n\nNous avons bien reçu votre signalement.\n\n{commune.maire}"


def test_la_reponse_du_llm_est_marquee_comme_preparee_avec_une_ia(crpa: ReglesCrpa) -> None:
    client = ClientLlm()
    analyse = une_analyse(
        "voirie", reponse_attendue=True, est_demande_usager=False, moteur="llm:mistral-small"
    )
    (reponse,) = rediger(un_courrier(), analyse, COMMUNE, crpa, client.rediger, le=LE)
    assert reponse.auteur == "llm:mistral-small"
    assert reponse.prepare_par_ia
    assert reponse.corps.startswith(ETIQUETTE_IA + "\n")
    assert "Nous avons bien reçu votre signalement." in reponse.corps
    assert reponse.type is TypeBrouillon.REPONSE
    # La lettre du LLM est mise dans la page de la mairie : en-tête, date, références.
    assert "MAIRIE DE SAINT-AUBIN-SUR-LOIRE" in reponse.corps
    assert "Saint-Aubin-sur-Loire, le 23 novembre 2026" in reponse.corps
    assert "enregistré sous le n° 2026-00042" in reponse.corps


def test_le_texte_du_llm_est_une_donnee_jamais_un_gabarit(crpa: ReglesCrpa) -> None:
    analyse = une_analyse("voirie", reponse_attendue=True, est_demande_usager=False)
    texte = "Madame, Monsieur,\n{{ 7*7 }} {% for x in y %}\nLe Maire"
    (reponse,) = rediger(un_courrier(), analyse, COMMUNE, crpa, lambda *_: texte, le=LE)
    assert reponse.prepare_par_ia
    assert "{{ 7*7 }} {% for x in y %}" in reponse.corps
    assert "49" not in reponse.corps


def test_l_auteur_llm_nomme_le_modele_du_client_ou_a_defaut_llm(crpa: ReglesCrpa) -> None:
    analyse = une_analyse("voirie", reponse_attendue=True, est_demande_usager=False)
    avec_modele = ClientLlm("llm:albert-large").rediger
    (reponse,) = rediger(un_courrier(), analyse, COMMUNE, crpa, avec_modele, le=LE)
    assert reponse.auteur == "llm:albert-large"
    (reponse,) = rediger(un_courrier(), analyse, COMMUNE, crpa, ClientLlm().rediger, le=LE)
    assert reponse.auteur == "llm"


def test_une_categorie_reservee_au_gabarit_n_appelle_pas_le_llm(crpa: ReglesCrpa) -> None:
    client = ClientLlm()
    analyse = une_analyse("social", reponse_attendue=True, est_demande_usager=False)
    (reponse,) = rediger(un_courrier(), analyse, COMMUNE, crpa, client.rediger, le=LE)
    assert client.appels == 0
    assert reponse.auteur == "modele:social"


def test_un_courrier_papier_recoit_sa_reponse_a_l_adresse_postale(crpa: ReglesCrpa) -> None:
    courrier = un_courrier(canal="scan", expediteur="", expediteur_adresse="")
    analyse = une_analyse(
        "cimetiere",
        reponse_attendue=True,
        expediteur=Expediteur(nom="M. Jean Petit", adresse="3 rue des Lilas\n45000 Orléans"),
    )
    ar, reponse = rediger(courrier, analyse, COMMUNE, crpa, le=LE)
    assert reponse.destinataire == "M. Jean Petit\n3 rue des Lilas\n45000 Orléans"
    assert ar.destinataire == reponse.destinataire
    assert "M. Jean Petit\n3 rue des Lilas\n45000 Orléans" in reponse.corps
    assert "\nMonsieur,\n" in reponse.corps
    assert "Je vous prie d'agréer, Monsieur, l'expression" in reponse.corps


# --- Gabarits ---------------------------------------------------------------------------------


@pytest.mark.parametrize("categorie", list(charger_regles().categories))
def test_chaque_categorie_a_sa_lettre_en_bonne_forme(crpa: ReglesCrpa, categorie: str) -> None:
    analyse = une_analyse(categorie, reponse_attendue=True)
    b = reponse_modele(un_courrier(), analyse, COMMUNE, crpa, le=LE)
    assert b.auteur == f"modele:{categorie}"
    lignes = b.corps.splitlines()
    assert lignes[0] == "MAIRIE DE SAINT-AUBIN-SUR-LOIRE"
    assert "Saint-Aubin-sur-Loire, le 23 novembre 2026" in lignes
    assert any(ligne.startswith("Objet : ") for ligne in lignes)
    assert "Madame, Monsieur," in lignes  # civilité inconnue
    assert (
        "Je vous prie d'agréer, Madame, Monsieur, l'expression de mes salutations distinguées."
        in lignes
    )
    assert lignes[-2:] == ["Le Maire,", "Hélène Moreau"]


def test_une_categorie_sans_gabarit_recoit_la_lettre_generique(crpa: ReglesCrpa) -> None:
    analyse = une_analyse("../../etc/passwd", reponse_attendue=True)
    b = reponse_modele(un_courrier(), analyse, COMMUNE, crpa, le=LE)
    assert b.auteur == "modele:autre"


def test_un_gabarit_mal_ecrit_est_signale_en_francais(crpa: ReglesCrpa, tmp_path: Path) -> None:
    (tmp_path / "accuse_reception.txt.j2").write_text("{% if %}", encoding="utf-8")
    with pytest.raises(ConfigurationErreur, match=r"accuse_reception\.txt\.j2"):
        accuse_reception(un_courrier(), une_analyse(), COMMUNE, crpa, tmp_path, le=LE)


def test_un_gabarit_ne_peut_pas_sortir_du_bac_a_sable(crpa: ReglesCrpa, tmp_path: Path) -> None:
    (tmp_path / "autre.txt.j2").write_text(
        "{{ commune.__class__.__mro__[1].__subclasses__() }}", encoding="utf-8"
    )
    with pytest.raises(ConfigurationErreur):
        reponse_modele(un_courrier(), une_analyse("autre"), COMMUNE, crpa, tmp_path, le=LE)


def test_les_gabarits_et_les_regles_sont_livres_avec_le_paquet() -> None:
    configuration = tomllib.loads((RACINE / "pyproject.toml").read_text(encoding="utf-8"))
    motifs = configuration["tool"]["setuptools"]["package-data"]["regles"]
    fichiers = [
        f.relative_to(DOSSIER_REGLES).as_posix()
        for f in DOSSIER_REGLES.rglob("*")
        if f.is_file() and "__pycache__" not in f.parts and f.suffix != ".py"
    ]
    assert "gabarits/accuse_reception.txt.j2" in fichiers
    for fichier in fichiers:
        assert any(fnmatch.fnmatch(fichier, m) for m in motifs), fichier


# --- Règles -----------------------------------------------------------------------------------


def test_les_regles_par_defaut_suivent_le_crpa(crpa: ReglesCrpa) -> None:
    assert crpa.general.sens == "acceptation"
    assert crpa.general.delai_mois == 2
    assert crpa.proroger
    assert not crpa.alsace_moselle
    assert crpa.sans_brouillon == {"publicite"}
    assert set(crpa.redaction_llm) == set(charger_regles().categories)


def test_un_yaml_mal_forme_est_signale_en_nommant_le_fichier(tmp_path: Path) -> None:
    (tmp_path / "crpa.yaml").write_text("silence: [\n", encoding="utf-8")
    with pytest.raises(ConfigurationErreur, match=r"crpa\.yaml.*YAML"):
        charger_crpa(tmp_path)


def test_une_regle_incoherente_est_signalee_en_nommant_le_fichier(tmp_path: Path) -> None:
    (tmp_path / "crpa.yaml").write_text(
        "silence:\n  general: {sens: peut-etre}\nrecours: {droit_commun: texte}\n",
        encoding="utf-8",
    )
    with pytest.raises(ConfigurationErreur, match=r"crpa\.yaml est invalide \(silence\.general"):
        charger_crpa(tmp_path)


def test_une_exception_sans_cible_est_refusee(tmp_path: Path) -> None:
    (tmp_path / "crpa.yaml").write_text(
        "silence:\n  general: {sens: acceptation}\n  exceptions: [{sens: rejet}]\n"
        "recours: {droit_commun: texte}\n",
        encoding="utf-8",
    )
    with pytest.raises(ConfigurationErreur, match="s'appliquerait à tout"):
        charger_crpa(tmp_path)


def test_un_dossier_sans_regles_est_signale(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationErreur, match="introuvable"):
        charger_crpa(tmp_path)
