"""Les indicateurs (issue #13, point 3), sur SQLite et sur un vrai PostgreSQL : un jeu de
courriers construit par l'API du registre (enregistré, lu, analysé, classement corrigé,
brouillon modifié puis validé, validé tel quel, rejeté, réponse avant et après l'échéance),
chaque indicateur comparé à sa valeur calculée à la main ; le texte préparé gardé, la
différence sur la page du brouillon, la page « Indicateurs », ses exports et la commande.

L'horloge du registre est celle du test : « aujourd'hui » est le mercredi 2 décembre 2026.
"""

from __future__ import annotations

import csv
import html
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from interfaces.cli import app
from interfaces.web.app import creer_app
from noyau.analyse import Analyse, Brouillon, TypeBrouillon
from noyau.difference import Nature, part_changee, segments
from noyau.domaine import (
    LONGUEUR_MAX_BROUILLON,
    Canal,
    ElementRecu,
    EntetesCourrier,
    MessageAutomatique,
    NatureAutomatique,
    ResultatExtraction,
)
from registre.conservation import Conservation, purger
from registre.indicateurs import calculer, en_long, tableaux
from registre.registre import Registre
from regles.chargement import charger_regles
from tests import navigateur as nv
from tests.horloge import HorlogeDeTest
from tests.test_web import connecter

JOUR = date(2026, 12, 2)  # un mercredi : la semaine en cours est 2026-S49 (lundi 30/11)
MAINTENANT = datetime(2026, 12, 2, 10, 0, tzinfo=UTC)
SECRETAIRE = "secretaire"

# Le brouillon de A, puis corrigé : « de travaux » ajouté, soit 11 caractères changés.
A_PREPARE = "Madame,\nVotre demande est bien reçue.\nLe Maire"
A_CORRIGE = "Madame,\nVotre demande de travaux est bien reçue.\nLe Maire"
# Le brouillon de D, complété à la validation d'une ligne entière : 14 caractères ajoutés.
D_PREPARE = "Monsieur,\nNous étudions votre dossier.\nLe Maire"
D_CORRIGE = "Monsieur,\nNous étudions votre dossier.\nCordialement,\nLe Maire"


def _a(jour: int, mois: int, heure: int = 9, minute: int = 0) -> datetime:
    return datetime(2026, mois, jour, heure, minute, tzinfo=UTC)


@dataclass
class Jeu:
    registre: Registre
    horloge: HorlogeDeTest
    numeros: dict[str, str]
    brouillons: dict[str, int]


def _recu(
    jeu: Jeu, cle: str, moment: datetime, automatique: MessageAutomatique | None = None
) -> int:
    registre = jeu.registre
    jeu.horloge.regler(moment)
    adresse = f"usager-{cle.lower()}@exemple.example"
    element = ElementRecu(
        source="depot_eml",
        canal=Canal.EMAIL,
        reference=f"{cle}.eml",
        recu_le=moment,
        contenu=f"From: {adresse}\r\n\r\nCourrier {cle}".encode(),
    )
    entetes = EntetesCourrier(
        expediteur=f"Usager {cle} <{adresse}>", expediteur_adresse=adresse, objet=f"Demande {cle}"
    )
    numero = registre.enregistrer(element, entetes).numero
    ident = next(a.id for a in registre.a_extraire() if a.numero == numero)
    registre.consigner_extraction(
        ident, ResultatExtraction(texte=f"Demande {cle}", methode="texte", automatique=automatique)
    )
    jeu.numeros[cle] = numero
    return ident


def _analyse(
    jeu: Jeu, cle: str, ident: int, categorie: str, moteur: str, echeance: date | None, corps: str
) -> None:
    ia = moteur.startswith("llm:")
    jeu.registre.consigner_analyse(
        ident,
        Analyse(categorie=categorie, moteur=moteur, echeance=echeance, reponse_attendue=True),
        [
            Brouillon(
                TypeBrouillon.REPONSE,
                f"Re: demande {cle}",
                corps,
                moteur if ia else "modele:reponse",
                prepare_par_ia=ia,
            )
        ],
    )
    courrier = jeu.registre.courrier(jeu.numeros[cle])
    assert courrier is not None
    jeu.brouillons[cle] = courrier.brouillons[0].id


def _repondre_sur_papier(jeu: Jeu, cle: str, moment: datetime) -> None:
    jeu.horloge.regler(moment)
    jeu.registre.valider_brouillon(jeu.brouillons[cle], SECRETAIRE, "papier")
    jeu.registre.consigner_lettre(jeu.brouillons[cle], SECRETAIRE, f"%PDF-1.4 {cle}".encode())


def garnir(registre: Registre) -> Jeu:
    """Le jeu, semaine par semaine (4 dernières semaines : S46 à S49)."""
    horloge = HorlogeDeTest(_a(1, 10))
    jeu = Jeu(Registre(registre.engine, registre.archive, horloge), horloge, {}, {})
    reg = jeu.registre

    # Hors période (S43), répondu : ne compte nulle part.
    ident = _recu(jeu, "F", _a(20, 10))
    _analyse(jeu, "F", ident, "voirie", "regles", date(2026, 10, 30), "Madame,\nOui.\nLe Maire")
    _repondre_sur_papier(jeu, "F", _a(21, 10))

    # S46. A : l'IA classe en voirie ; brouillon corrigé puis validé ; réponse en 2 jours,
    # avant l'échéance du 20.
    ident = _recu(jeu, "A", _a(10, 11))
    _analyse(jeu, "A", ident, "voirie", "llm:mistral-small", date(2026, 11, 20), A_PREPARE)
    horloge.regler(_a(11, 11))
    assert reg.modifier_brouillon(jeu.brouillons["A"], SECRETAIRE, "Re: demande A", A_CORRIGE)
    _repondre_sur_papier(jeu, "A", _a(12, 11))

    # S47. B : les règles classent en urbanisme, la secrétaire corrige en voirie ; brouillon
    # validé tel quel ; réponse en 3,25 jours, après l'échéance du 18.
    ident = _recu(jeu, "B", _a(17, 11))
    _analyse(jeu, "B", ident, "urbanisme", "regles", date(2026, 11, 18), "Monsieur,\nBien reçu.")
    horloge.regler(_a(17, 11, 10))
    assert reg.corriger_analyse(
        jeu.numeros["B"], SECRETAIRE, categorie="voirie", categories=charger_regles().categories
    )
    _repondre_sur_papier(jeu, "B", _a(20, 11, 15))
    # C : l'IA classe en état civil ; seul le service est corrigé (la catégorie était juste) ;
    # brouillon rejeté, pas de réponse, échéance du 25 passée.
    ident = _recu(jeu, "C", _a(18, 11, 10))
    _analyse(jeu, "C", ident, "etat_civil", "llm:mistral-small", date(2026, 11, 25), "Madame,")
    assert reg.corriger_analyse(jeu.numeros["C"], SECRETAIRE, service="Accueil")
    reg.rejeter_brouillon(jeu.brouillons["C"], SECRETAIRE, "Demande déjà traitée au guichet")

    # S48. G : reçu, lu, pas encore analysé.
    _recu(jeu, "G", _a(24, 11))

    # S49. D : les règles classent en école ; brouillon complété à la validation (papier, la
    # lettre n'est pas encore produite) ; échéance du 10/12 encore à venir.
    ident = _recu(jeu, "D", _a(1, 12, 8))
    _analyse(jeu, "D", ident, "ecole", "regles", date(2026, 12, 10), D_PREPARE)
    reg.valider_brouillon(jeu.brouillons["D"], SECRETAIRE, "papier", corps=D_CORRIGE)
    # E : une réponse automatique (absence) : hors des comptes, comme dans le digest.
    absence = MessageAutomatique(NatureAutomatique.REPONSE_AUTOMATIQUE, "Auto-Submitted")
    ident = _recu(jeu, "E", _a(1, 12, 9), absence)
    _analyse(jeu, "E", ident, "autre", "regles", date(2026, 12, 3), "Madame,")

    horloge.regler(MAINTENANT)
    return jeu


@pytest.fixture
def jeu(registre: Registre) -> Jeu:
    return garnir(registre)


# --- Les chiffres -------------------------------------------------------------------------


def test_chaque_indicateur_vaut_ce_que_l_on_calcule_a_la_main(jeu: Jeu) -> None:
    ind = calculer(jeu.registre.engine, JOUR, semaines=4)
    assert (ind.debut, ind.fin) == (date(2026, 11, 9), date(2026, 12, 6))

    # Volume : A en S46 ; B et C en S47 ; G en S48 ; D en S49 (ni F, hors période, ni E).
    assert ind.par_semaine == [
        (date(2026, 11, 9), 1),
        (date(2026, 11, 16), 2),
        (date(2026, 11, 23), 1),
        (date(2026, 11, 30), 1),
    ]
    assert ind.courriers == 5
    # La catégorie comptée est celle d'aujourd'hui : B corrigé compte en voirie.
    assert ind.par_categorie == [("voirie", 2), ("ecole", 1), ("etat_civil", 1), ("non classé", 1)]
    assert ind.volume.loc[date(2026, 11, 16), "voirie"] == 1

    # Brouillons : A (modifié), B (tel quel), D (modifié à la validation) validés ; C rejeté.
    assert (ind.brouillons_valides, ind.tels_quels, ind.rejetes) == (3, 1, 1)
    assert ind.part_tels_quels == pytest.approx(1 / 3)
    # Par sorte : la réponse de l'IA (A) corrigée ; des réponses des modèles, B telle quelle.
    par_sorte = {v.sorte: (v.valides, v.tels_quels) for v in ind.par_sorte}
    assert par_sorte == {"Réponse de l'IA": (1, 0), "Réponse d'un modèle": (2, 1)}

    # Taille des modifications : 11 caractères ajoutés à A, 14 (une ligne) à D.
    part_a = 11 / (len(A_PREPARE) + len(A_CORRIGE))
    part_d = 14 / (len(D_PREPARE) + len(D_CORRIGE))
    assert ind.parts_changees == pytest.approx(sorted([part_a, part_d]))
    assert ind.mediane_modification == pytest.approx((part_a + part_d) / 2)
    assert 0.05 <= part_a < 0.20 and 0.05 <= part_d < 0.20
    assert ind.distribution == [
        ("aucune (tel quel)", 1),
        ("moins de 5 %", 0),
        ("5 à 20 %", 2),
        ("20 à 50 %", 0),
        ("50 % et plus", 0),
    ]

    # Délai : A en 2 jours, B en 3 jours et 6 heures ; médiane 2,625 jours.
    assert ind.delais_jours == pytest.approx([2.0, 3.25], abs=1e-4)
    assert ind.delai_median == pytest.approx(2.625, abs=1e-4)

    # Échéances : A tenue ; B (répondu après) et C (sans réponse, passée) manquées ; D en cours.
    assert ind.echeances == {"tenues": 1, "manquees": 2, "en_cours": 1}

    # Justesse : l'IA a analysé A et C (aucune catégorie corrigée : le service de C ne compte
    # pas) ; les règles B et D, B corrigé. G n'est pas analysé.
    justesse = {j.moteur: (j.analyses, j.corriges, j.part) for j in ind.justesse}
    assert justesse == {"IA": (2, 0, 1.0), "Règles": (2, 1, 0.5)}


def test_une_semaine_de_plus_reprend_le_courrier_plus_ancien(jeu: Jeu) -> None:
    # F (reçu le 20/10, S43) entre dans une période de 7 semaines ; E n'entre jamais.
    ind = calculer(jeu.registre.engine, JOUR, semaines=7)
    assert ind.debut == date(2026, 10, 19) and ind.courriers == 6
    assert ind.echeances == {"tenues": 2, "manquees": 2, "en_cours": 1}
    assert ind.delai_median == pytest.approx(2.0, abs=1e-4)  # 1 jour (F), 2 (A), 3,25 (B)


def test_la_semaine_est_celle_de_paris(registre: Registre) -> None:
    # Dimanche 29/11 à 23 h 30 UTC : lundi 30/11 à 0 h 30 à Paris, donc semaine S49.
    horloge = HorlogeDeTest(_a(1, 11))
    jeu = Jeu(Registre(registre.engine, registre.archive, horloge), horloge, {}, {})
    _recu(jeu, "N", _a(29, 11, 23, 30))
    ind = calculer(registre.engine, JOUR, semaines=2)
    assert ind.par_semaine == [(date(2026, 11, 23), 0), (date(2026, 11, 30), 1)]


def test_un_registre_vide_ne_divise_jamais_par_zero(registre: Registre) -> None:
    ind = calculer(registre.engine, JOUR, semaines=12)
    assert ind.vide and ind.courriers == 0
    assert len(ind.par_semaine) == 12 and all(n == 0 for _, n in ind.par_semaine)
    assert ind.part_tels_quels is None and ind.mediane_modification is None
    assert ind.delai_median is None and ind.justesse == []
    assert ind.echeances == {"tenues": 0, "manquees": 0, "en_cours": 0}
    longue = en_long(tableaux(ind, {}))
    assert "Période" in set(longue["indicateur"])


# --- Le texte préparé, gardé --------------------------------------------------------------


def test_le_texte_prepare_est_garde_a_la_premiere_modification_seulement(jeu: Jeu) -> None:
    reg = jeu.registre
    a = reg.brouillon(jeu.brouillons["A"])
    b = reg.brouillon(jeu.brouillons["B"])
    assert a is not None and b is not None
    assert (a[1].corps_original, a[1].corps) == (A_PREPARE, A_CORRIGE)
    assert b[1].corps_original == ""  # validé tel quel : rien à garder
    # Une deuxième, puis une troisième modification : l'original reste le texte préparé.
    d = jeu.brouillons["D"]
    reg.modifier_brouillon(d, SECRETAIRE, "Re: demande D", "Monsieur,\nAutre texte.")
    reg.modifier_brouillon(d, SECRETAIRE, "Re: demande D", D_PREPARE)
    apres = reg.brouillon(d)
    assert apres is not None and apres[1].corps_original == D_PREPARE
    # Revenu au texte préparé : compté tel quel.
    ind = calculer(reg.engine, JOUR, semaines=4)
    assert ind.tels_quels == 2
    # Les sceaux couvrent l'original ; les brouillons jamais modifiés gardent leur sceau.
    assert reg.verifier() == []


def test_la_purge_efface_aussi_le_texte_prepare(jeu: Jeu) -> None:
    reg = jeu.registre
    bilan = purger(reg, Conservation(defaut_ans=0, categories={"voirie": 1}), date(2028, 1, 2))
    assert jeu.numeros["A"] in bilan.purges
    courrier = reg.courrier(jeu.numeros["A"])
    assert courrier is not None
    assert courrier.brouillons[0].corps_original == "" and courrier.brouillons[0].corps == ""
    assert reg.verifier() == []
    # Un courrier purgé compte encore, sauf dans les mesures qui lisent le texte effacé.
    ind = calculer(reg.engine, JOUR, semaines=4)
    assert ind.courriers == 5 and ind.brouillons_valides == 1  # D ; A et B sont purgés
    assert ind.echeances["tenues"] == 1


# --- La différence ------------------------------------------------------------------------


def test_la_difference_se_relit_en_texte_d_origine_et_en_texte_actuel() -> None:
    avant = "Madame,\nVotre demande est bien reçue.\nLe Maire\n"
    apres = "Madame,\nVotre demande de salle est reçue.\nCordialement,\nLe Maire\n"
    morceaux = segments(avant, apres)
    assert "".join(s.texte for s in morceaux if s.nature is not Nature.AJOUTE) == avant
    assert "".join(s.texte for s in morceaux if s.nature is not Nature.RETIRE) == apres
    retires = [s.texte for s in morceaux if s.nature is Nature.RETIRE]
    ajoutes = [s.texte for s in morceaux if s.nature is Nature.AJOUTE]
    assert retires == [" bien"] or "bien" in "".join(retires)
    assert "de salle" in "".join(ajoutes) and "Cordialement,\n" in "".join(ajoutes)
    assert part_changee(avant, avant) == 0.0 and part_changee("", "") == 0.0
    assert part_changee("abc", "xyz") == 1.0


def test_un_brouillon_enorme_entierement_reecrit_se_mesure_et_s_affiche() -> None:
    # Le plus long brouillon permis, sur une seule ligne, remplacé par un autre texte.
    avant = ("Lorem ipsum dolor sit amet " * 1000)[:LONGUEUR_MAX_BROUILLON]
    apres = ("Vestibulum ante primis faucibus " * 1000)[:LONGUEUR_MAX_BROUILLON]
    morceaux = segments(avant, apres)
    assert "".join(s.texte for s in morceaux if s.nature is not Nature.AJOUTE) == avant
    assert "".join(s.texte for s in morceaux if s.nature is not Nature.RETIRE) == apres
    assert part_changee(avant, apres, morceaux) > 0.9
    # Le même texte d'un seul tenant où un mot change : mesuré mot à mot, pas tout compté.
    mots = avant.split(" ")
    assert mots[1502] == "dolor"
    un_mot = " ".join([*mots[:1502], "consectetur", *mots[1503:]])
    morceaux = segments(avant, un_mot)
    assert [s.texte for s in morceaux if s.nature is Nature.RETIRE] == ["dolor "]
    assert [s.texte for s in morceaux if s.nature is Nature.AJOUTE] == ["consectetur "]
    assert part_changee(avant, un_mot, morceaux) < 0.001


@pytest.fixture
def site(jeu: Jeu, tmp_path: Path) -> Iterator[tuple[TestClient, Jeu]]:
    url = jeu.registre.engine.url.render_as_string(hide_password=False)
    nv.creer_comptes(jeu.registre)
    application = creer_app(nv.reglages_web(jeu.registre.archive.racine.parent, url), jeu.registre)
    with TestClient(application, follow_redirects=False) as client:
        yield client, jeu


def test_la_page_du_brouillon_montre_ce_qui_a_change_echappe(
    site: tuple[TestClient, Jeu],
) -> None:
    client, jeu = site
    csrf = connecter(client, SECRETAIRE)
    # Un texte hostile ajouté : il doit rester du texte.
    ident = jeu.brouillons["D"]
    jeu.registre.modifier_brouillon(
        ident, SECRETAIRE, "Re: demande D", D_CORRIGE + "\n<script>alert(1)</script>"
    )
    page = client.get(f"/brouillon/{ident}")
    assert page.status_code == 200 and csrf
    assert "Ce qui a changé depuis le texte préparé" in page.text
    assert "<script>alert(1)</script>" not in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
    ajoute = re.findall(r"<ins>(.*?)</ins>", page.text, re.S)
    assert any("Cordialement," in html.unescape(x) for x in ajoute), ajoute
    # Sans la couleur : un lecteur d'écran entend « ajouté », l'œil voit le soulignement.
    assert "[ajouté : </span>" in page.text and "Légende" in page.text
    assert f'<pre class="texte">{html.escape(D_PREPARE, quote=False)}</pre>' in page.text
    # Un brouillon validé tel quel n'a pas de différence à montrer.
    tel_quel = client.get(f"/brouillon/{jeu.brouillons['B']}")
    assert "Ce qui a changé" not in tel_quel.text


# --- La page et ses exports ---------------------------------------------------------------


def test_la_page_indicateurs_montre_les_chiffres_et_les_graphiques_sans_script(
    site: tuple[TestClient, Jeu],
) -> None:
    client, _ = site
    anonyme = client.get("/indicateurs")
    assert anonyme.status_code == 303 and "/connexion" in anonyme.headers["location"]
    connecter(client, "maire")
    page = client.get("/indicateurs?semaines=4")
    assert page.status_code == 200
    texte = html.unescape(page.text)
    assert 'href="/indicateurs" aria-current="page"' in page.text
    assert "du lundi 09/11/2026 au dimanche 06/12/2026" in texte
    assert "Courriers reçus : 5" in texte
    assert "33,3\u00a0%" in texte  # validés tels quels
    assert "2,6 jours" in texte  # délai médian (2,625)
    assert "Réponse d'un modèle</th><td>2</td><td>1 (50\u00a0%)" in texte
    assert "Règles</th><td>2</td><td>1</td><td>50\u00a0%" in texte
    assert "IA</th><td>2</td><td>0</td><td>100\u00a0%" in texte
    # Des graphiques SVG avec leur titre et leurs valeurs en texte ; aucun script, aucun style
    # en ligne (la politique de sécurité du contenu les refuserait).
    assert page.text.count("<svg ") == 5 and page.text.count("<title id=") == 5
    assert "Courriers reçus par semaine : S46 : 1 courrier(s) ; S47 : 2" in texte
    assert "<script" not in page.text and "style=" not in page.text
    assert "style-src 'self'" in page.headers["content-security-policy"]
    # Un paramètre hors bornes : une phrase, pas une trace.
    mauvais = client.get("/indicateurs?semaines=0")
    assert mauvais.status_code == 400 and "mal formée" in mauvais.text


def test_l_export_csv_se_relit_avec_les_memes_chiffres(site: tuple[TestClient, Jeu]) -> None:
    client, _ = site
    connecter(client, SECRETAIRE)
    reponse = client.get("/indicateurs/export?format=csv&semaines=4")
    assert reponse.status_code == 200
    assert "attachment" in reponse.headers["content-disposition"]
    assert "indicateurs-2026-12-02.csv" in reponse.headers["content-disposition"]
    lignes = list(csv.reader(io.StringIO(reponse.content.decode("utf-8-sig")), delimiter=";"))
    assert lignes[0] == ["indicateur", "detail", "valeur"]
    valeurs = {(i, d): v for i, d, v in lignes[1:]}
    assert valeurs[("Courriers reçus", "courriers")] == "5"
    assert valeurs[("Validés tels quels", "%")] == "33,3"
    assert valeurs[("Délai médian de réponse", "jours")] == "2,6"
    assert valeurs[("Par semaine", "2026-S47 Voirie et réseaux")] == "1"
    assert valeurs[("Par semaine", "2026-S47 total")] == "2"
    assert valeurs[("Échéances", "manquées")] == "2"
    assert valeurs[("Classification", "Règles justesse_pourcent")] == "50,0"
    assert valeurs[("Tels quels", "Réponse de l'IA tels_quels_pourcent")] == "0,0"
    xlsx = client.get("/indicateurs/export?format=xlsx&semaines=4")
    assert xlsx.status_code == 200
    feuilles = pd.read_excel(io.BytesIO(xlsx.content), sheet_name=None)
    assert list(feuilles["Par semaine"]["total"]) == [1, 2, 1, 1]
    assert client.get("/indicateurs/export?format=html").status_code == 400


def test_la_page_d_un_registre_vide_le_dit(registre: Registre, tmp_path: Path) -> None:
    horloge = HorlogeDeTest(MAINTENANT)
    vide = Registre(registre.engine, registre.archive, horloge)
    nv.creer_comptes(vide)
    url = registre.engine.url.render_as_string(hide_password=False)
    application = creer_app(nv.reglages_web(registre.archive.racine.parent, url), vide)
    with TestClient(application, follow_redirects=False) as client:
        connecter(client, "admin")
        page = client.get("/indicateurs")
        assert page.status_code == 200 and "Pas encore de données" in page.text
        assert "<svg" not in page.text
        export = client.get("/indicateurs/export?format=csv")
        assert export.status_code == 200 and "Courriers reçus;courriers;0" in export.text


# --- La commande --------------------------------------------------------------------------


def test_la_commande_ecrit_les_indicateurs_et_refuse_une_extension_inconnue(
    env_courrier: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    runner = CliRunner()
    vide = runner.invoke(app, ["indicateurs", "--semaines", "2"])
    assert vide.exit_code == 0, vide.output
    assert "Pas encore de données" in vide.output
    # Un courrier reçu maintenant (horloge de la machine) : il est dans la semaine en cours,
    # quel que soit le jour où la suite tourne.
    donnees = tmp_path / "donnees"
    registre = Registre.ouvrir(f"sqlite:///{donnees / 'registre.sqlite3'}", donnees)
    jeu = Jeu(registre, HorlogeDeTest(registre.horloge()), {}, {})
    _recu(jeu, "H", registre.horloge())
    registre.fermer()
    sortie = tmp_path / "indicateurs.csv"
    fait = runner.invoke(app, ["indicateurs", "--sortie", str(sortie), "--semaines", "2"])
    assert fait.exit_code == 0, fait.output
    relu = pd.read_csv(sortie, sep=";", decimal=",", encoding="utf-8-sig")
    assert relu.loc[relu["indicateur"] == "Courriers reçus", "valeur"].item() == "1"
    ecran = runner.invoke(app, ["indicateurs", "--semaines", "2"])
    assert "Courriers reçus : 1" in ecran.output
    mauvais = runner.invoke(app, ["indicateurs", "--sortie", str(tmp_path / "x.pdf")])
    assert mauvais.exit_code == 1
    assert "doit finir par .csv ou .xlsx" in mauvais.output
    hors_bornes = runner.invoke(app, ["indicateurs", "--semaines", "0"])
    assert hors_bornes.exit_code == 2 and "Erreur" in hors_bornes.output
