"""La pseudonymisation, sans réseau : ce qui est masqué, ce qui ne l'est pas, la restauration.

Choix documentés par ces tests :
- un code postal seul (« 76000 ») reste lisible ; « 76000 Rouen » est masqué comme adresse ;
- dates, montants, numéros de dossier et articles de loi restent lisibles ;
- un IBAN dont la clé est fausse n'est pas masqué (ce n'est pas un IBAN, et le masquer
  ferait des faux positifs sur toute suite de majuscules et chiffres) ; un NIR l'est même
  si sa clé est fausse (une faute de frappe reste une donnée personnelle) ;
- un nom cité nu, sans civilité, sans être connu ni signer, n'est pas reconnu.
"""

from __future__ import annotations

import pytest

from connecteurs.pseudonymisation import (
    Pseudonymiseur,
    pseudonymiser_par_defaut,
    valider_iban,
    valider_nir,
)
from noyau.analyse import Alerte, Analyse, Expediteur

IBAN_FR = "FR76 1987 0004 5100 0123 4567 890"  # fictif, clé juste
NIR = "1 84 12 76 451 089 46"  # fictif, clé juste (97 - 1841276451089 mod 97 = 46)


def masque(texte: str, **options: list[str]) -> tuple[str, Pseudonymiseur]:
    p = Pseudonymiseur(**options)
    return p.masquer(texte), p


def test_les_valeurs_de_test_ont_des_cles_justes() -> None:
    assert valider_iban(IBAN_FR)
    assert valider_iban("DE89 3704 0044 0532 0130 00")
    assert not valider_iban("FR76 1987 0004 5100 0123 4567 891")
    assert valider_nir(NIR)
    assert valider_nir("2 69 05 2A 123 456 88")  # Corse : 2A compte pour 19
    assert not valider_nir("1 84 12 76 451 089 47")


@pytest.mark.parametrize(
    ("valeur", "genre"),
    [
        ("jean.dupont@exemple.example", "EMAIL"),
        ("j-d+mairie@sous.domaine.example", "EMAIL"),
        ("06 12 34 56 78", "TEL"),
        ("06.12.34.56.78", "TEL"),
        ("06-12-34-56-78", "TEL"),
        ("0612345678", "TEL"),
        ("+33 6 12 34 56 78", "TEL"),
        ("+33 (0)6 12 34 56 78", "TEL"),
        ("0033 6 12 34 56 78", "TEL"),
        ("+33612345678", "TEL"),
        ("02 35 12 34 56", "TEL"),
        (NIR, "NIR"),
        ("184127645108946", "NIR"),
        ("1841276451089", "NIR"),  # sans clé
        ("2 69 05 2A 123 456 88", "NIR"),
        (IBAN_FR, "IBAN"),
        ("FR7619870004510001234567890", "IBAN"),
        ("DE89 3704 0044 0532 0130 00", "IBAN"),
        ("12 rue des Lilas", "ADRESSE"),
        ("3 bis avenue du Général de Gaulle", "ADRESSE"),
        ("5, impasse des Peupliers", "ADRESSE"),
        ("7 allée Jean Moulin", "ADRESSE"),
        ("2 place de l'Église", "ADRESSE"),
        ("45 route de Paris", "ADRESSE"),
        ("18 chemin du Moulin Neuf", "ADRESSE"),
        ("9 boulevard Victor Hugo", "ADRESSE"),
        ("12 RUE DES LILAS", "ADRESSE"),
        ("lieu-dit Les Fontaines", "ADRESSE"),
        ("76000 Rouen", "ADRESSE"),
        ("76230 Bois-Guillaume", "ADRESSE"),
        ("14000 CAEN CEDEX 9", "ADRESSE"),
        ("27210 Saint-Germain-sur-Risle", "ADRESSE"),
        ("BP 12", "ADRESSE"),
    ],
)
def test_chaque_format_est_masque_et_restaure(valeur: str, genre: str) -> None:
    texte = f"Voici : {valeur}. Merci."
    masque_, p = masque(texte)
    assert valeur not in masque_
    assert f"[{genre}_1]" in masque_
    assert p.restaurer(masque_) == texte


@pytest.mark.parametrize(
    ("texte", "nom"),
    [
        ("Je suis M. Dupont, votre voisin.", "Dupont"),
        ("Mme Jeanne DURAND a appelé.", "Jeanne DURAND"),
        ("Madame Marie-Claire Lefèvre-Martin demande", "Marie-Claire Lefèvre-Martin"),
        ("M. et Mme Martin sont venus.", "Martin"),
        ("Mlle Rose Tremblay est absente.", "Rose Tremblay"),
        ("Dr Martin a signé le certificat.", "Martin"),
        ("Le Docteur Benali a signé.", "Benali"),
        ("M. Le Gall est passé.", "Le Gall"),
        ("Mme de La Tour est passée.", "de La Tour"),
        ("Mme d'Alembert est passée.", "d'Alembert"),
        ("Je soussignée Jeanne Durand, demande", "Jeanne Durand"),
        ("Bien cordialement,\n\nJean-Pierre Morel\n", "Jean-Pierre Morel"),
        (
            "Veuillez agréer mes salutations distinguées.\nPaul DE LA FONTAINE",
            "Paul DE LA FONTAINE",
        ),
    ],
)
def test_un_nom_apres_une_civilite_ou_en_signature_est_masque(texte: str, nom: str) -> None:
    masque_, p = masque(texte)
    assert nom not in masque_
    assert "[PERSONNE_1]" in masque_
    assert p.correspondances["[PERSONNE_1]"] == nom
    assert p.restaurer(masque_) == texte


def test_les_formulaires_d_etat_civil_sont_masques() -> None:
    texte = (
        "- Nom : LEFÈVRE\r\n"
        "- Prénoms : Camille Hélène\r\n"
        "- Date de naissance : 14 mars 1988\r\n"
        "- Père : François Lefèvre\r\n"
        "- Mère : Brigitte Lefèvre, née Chéron\r\n"
    )
    masque_, _ = masque(texte)
    for nom in ("LEFÈVRE", "Lefèvre", "Camille", "Hélène", "François", "Brigitte", "Chéron"):
        assert nom not in masque_
    assert "Date de naissance : 14 mars 1988" in masque_


def test_fins_de_ligne_crlf_et_espaces_insecables_ne_trompent_pas_le_masque() -> None:
    texte = (
        "Tél.\u00a0: 06\u00a012\u00a034\u00a056\u00a078\r\n"
        "Avec mes remerciements,\r\n\r\nMartine Chevalier\r\n"
    )
    masque_, p = masque(texte)
    assert masque_ == "Tél. : [TEL_1]\nAvec mes remerciements,\n\n[PERSONNE_1]\n"
    assert p.correspondances["[TEL_1]"] == "06 12 34 56 78"


@pytest.mark.parametrize(
    "expediteur",
    [
        "Comité des fêtes de Saint-Aubin",
        "Préfecture du Loiret – Bureau des élections",
        "Urbanéo Équipement des collectivités",
        "Mairie de Saint-Aubin",
    ],
)
def test_un_organisme_expediteur_n_est_pas_pris_pour_une_personne(expediteur: str) -> None:
    texte = f"{expediteur} vous informe. Saint-Aubin, Urbanéo, Bureau, Équipement."
    assert masque(texte, noms_connus=[expediteur])[0] == texte


def test_un_nom_connu_est_masque_entier_puis_par_morceaux() -> None:
    texte = "Jean Dupont écrit. DUPONT insiste. Signé : J. Dupont (dossier CNI_Dupont.pdf)."
    masque_, p = masque(texte, noms_connus=["Jean Dupont"])
    assert "Dupont" not in masque_ and "DUPONT" not in masque_
    assert p.restaurer(masque_) == texte


def test_un_nom_vu_apres_une_civilite_est_retrouve_seul_ensuite() -> None:
    texte = "Mme Durand se plaint.\nDurand dit que le chien aboie."
    masque_, _ = masque(texte)
    assert "Durand" not in masque_


@pytest.mark.parametrize(
    "texte",
    [
        "Monsieur le Maire,",
        "Madame, Monsieur,",
        "Madame Monsieur,",
        "Monsieur Le Maire, je vous écris.",
        "Madame la Préfète a écrit.",
        "M. le Préfet est informé.",
        "Madame la Maire,",
        "Cordialement,\nLa Mairie de Saint-Aubin",
        "Cordialement,\nService Urbanisme",
        "le 12/03/2026 à 14 h 30",
        "le 12 mars 2026",
        "un montant de 2 566,80 € TTC, soit 1 200 000 € au budget",
        "le code postal 76000 seul",
        "un budget de 12500 euros",
        "2 places de parking",
        "l'article L. 2212-2 du CGCT",
        "le courrier n° 2026-00042",
        "la facture F-2026-0042 du 3 février",
        "rue des Lilas (sans numéro)",
        "Saint-Jean du Cardonnay",
    ],
)
def test_ce_qui_n_est_pas_personnel_reste_lisible(texte: str) -> None:
    masque_, _ = masque(texte)
    assert masque_ == texte


def test_la_commune_exclue_n_est_jamais_un_nom() -> None:
    texte = "M. Saint-Aubin ? Non : Monsieur le Maire de Saint-Aubin."
    masque_, _ = masque(texte, exclus=["Saint-Aubin"], noms_connus=["Saint-Aubin"])
    assert masque_ == texte


def test_un_iban_a_la_cle_fausse_n_est_pas_masque() -> None:
    texte = "Référence FR76 1987 0004 5100 0123 4567 891."
    assert masque(texte)[0] == texte


def test_l_iban_s_arrete_a_la_fin_de_la_cle_sans_manger_le_mot_suivant() -> None:
    texte = f"IBAN {IBAN_FR} BIC AGRIFRPP"
    masque_, p = masque(texte)
    assert masque_ == "IBAN [IBAN_1] BIC AGRIFRPP"
    assert p.correspondances["[IBAN_1]"] == IBAN_FR


def test_la_meme_valeur_garde_la_meme_marque_dans_tout_le_courrier() -> None:
    p = Pseudonymiseur()
    a = p.masquer("Écrire à jean@exemple.example ou au 06 12 34 56 78.")
    b = p.masquer("Rappel : jean@exemple.example, paul@exemple.example, 06 12 34 56 78.")
    assert a == "Écrire à [EMAIL_1] ou au [TEL_1]."
    assert b == "Rappel : [EMAIL_1], [EMAIL_2], [TEL_1]."


def test_un_texte_complet_ne_laisse_passer_aucune_donnee() -> None:
    texte = (
        "Objet : demande de Mme Durand\n"
        "Monsieur le Maire,\n"
        "Je soussignée Jeanne DURAND, domiciliée 12 rue des Lilas, 76000 Rouen,\n"
        "tél. 06 12 34 56 78, courriel jeanne.durand@exemple.example,\n"
        f"NIR {NIR}, IBAN {IBAN_FR}.\n"
        "Le montant de 2 566,80 € est dû le 12/03/2026.\n"
        "Cordialement,\nJeanne Durand\n"
    )
    masque_, p = masque(texte, noms_connus=["DURAND Jeanne"])
    for secret in ("Durand", "DURAND", "Jeanne", "Lilas", "Rouen", "06 12", "jeanne.durand"):
        assert secret not in masque_
    assert "1 84 12" not in masque_ and "FR76" not in masque_
    assert "Monsieur le Maire," in masque_ and "2 566,80 €" in masque_ and "12/03/2026" in masque_
    assert p.restaurer(masque_) == texte


def test_une_marque_recopiee_sans_crochets_est_restauree() -> None:
    p = Pseudonymiseur(noms_connus=["Jeanne Durand"])
    p.masquer("Jeanne Durand")
    assert p.restaurer("Courrier de PERSONNE_1.") == "Courrier de Jeanne Durand."
    assert p.restaurer("Marque inconnue [PERSONNE_9].") == "Marque inconnue [PERSONNE_9]."


def test_restaurer_une_analyse_touche_les_chaines_imbriquees_et_respecte_les_bornes() -> None:
    p = Pseudonymiseur()
    long = "12 rue " + "Très-Long-Nom " * 10 + "Fin"
    p.masquer(f"jeanne@exemple.example, {long}")
    analyse = Analyse(
        categorie="voirie",
        resume="Écrit par [EMAIL_1].",
        expediteur=Expediteur(nom="x", email="[EMAIL_1]", adresse="[ADRESSE_1]"),
        service="S" * 100 + " [ADRESSE_1]",
        alertes=[Alerte.A_VERIFIER],
    )
    restauree = p.restaurer_modele(analyse)
    assert restauree.resume == "Écrit par jeanne@exemple.example."
    assert restauree.expediteur.email == "jeanne@exemple.example"
    assert restauree.expediteur.adresse == long
    assert len(restauree.service) == 120  # coupé à la borne du champ plutôt qu'invalide
    assert restauree.alertes == [Alerte.A_VERIFIER]
    assert analyse.expediteur.email == "[EMAIL_1]"  # l'original n'est pas modifié


@pytest.mark.parametrize(
    ("url", "attendu"),
    [
        ("http://localhost:11434/v1", False),
        ("http://127.0.0.1:8000/v1", False),
        ("http://127.8.9.10/v1", False),
        ("http://[::1]:8000/v1", False),
        ("http://ollama.localhost/v1", False),
        ("https://api.autre-fournisseur.example/v1", True),
        ("https://albert.fournisseur.example/v1", True),
        ("https://api.fournisseur-llm.example/v1", True),
        # Un serveur du réseau local n'est pas « cette machine » : masqué par défaut.
        ("http://192.168.1.10:8000/v1", True),
        ("", True),
        ("pas une url", True),
    ],
)
def test_pseudonymiser_par_defaut_sauf_sur_cette_machine(url: str, attendu: bool) -> None:
    assert pseudonymiser_par_defaut(url) is attendu
