"""La répartition vers les élus référents (issue #13, point 2) : les règles de regles/elus.yaml
et leurs fautes, l'élu posé par la vraie analyse (moteur de règles) et scellé, sa correction,
les commentaires, l'export et `courrier montrer`, et le digest de chaque élu envoyé à un vrai
serveur SMTP (aiosmtpd) sur 127.0.0.1. Sur SQLite et sur un vrai PostgreSQL."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path

import pytest
from typer.testing import CliRunner

from connecteurs.smtp import ClientSmtp, ErreurSmtp
from courrier import config
from courrier.analyser import Analyseur, analyser_en_attente
from courrier.publication import publier_digest, publier_digests, publier_digests_des_elus
from interfaces.cli import app
from noyau.analyse import Analyse, Urgence
from noyau.domaine import Canal, ElementRecu, EntetesCourrier, ResultatExtraction
from noyau.erreurs import ConfigurationErreur, RegistreErreur
from preuves.serveurs import ServeurSmtp, serveur_smtp
from registre.comptes import Comptes
from registre.conservation import Conservation, purger
from registre.export import ligne
from registre.registre import Registre, details
from registre.repartition import commentaires, commenter, corriger_elu, courriers_de_l_elu
from regles.chargement import charger_regles
from regles.crpa import charger_crpa
from regles.moteur import MoteurRegles
from regles.repartition import charger_repartition, lire_repartition
from tests.conftest import RACINE
from tests.horloge import HorlogeDeTest
from tests.test_analyse_releve import COMMUNE, deposer, etiquete

JOUR = date(2026, 11, 23)  # un lundi
MATIN = datetime(2026, 11, 23, 6, 30, tzinfo=UTC)  # 07:30 à Paris
URL = "https://courrier.saint-aubin.example/"
DURAND = "p.durand@saint-aubin.example"
MARTIN = "c.martin@saint-aubin.example"

ELUS_YAML = f"""
elus:
  voirie:
    nom: "Paul Durand"
    fonction: "adjoint à la voirie"
    courriel: "{DURAND}"
    compte: "p.durand"
  ecoles:
    nom: "Claire Martin"
    fonction: "conseillère déléguée aux écoles"
    courriel: "{MARTIN}"
    compte: "c.martin"
  fetes:
    nom: "Jean Bernard"
    fonction: "adjoint aux fêtes"
repartition:
  - elu: ecoles
    mots_cles: ["Cantine"]
  - elu: voirie
    categories: [voirie, urbanisme]
  - elu: fetes
    services: ["Vie associative"]
"""


def dossier_regles(tmp_path: Path, elus: str = ELUS_YAML) -> Path:
    """Les règles livrées, plus un elus.yaml d'intégrateur."""
    dossier = tmp_path / "regles"
    dossier.mkdir(parents=True)
    for f in (RACINE / "regles").glob("*.yaml"):
        shutil.copy(f, dossier / f.name)
    (dossier / "elus.yaml").write_text(elus, encoding="utf-8")
    return dossier


# --- Les règles ------------------------------------------------------------------------------


def test_les_regles_livrees_ne_reglent_aucun_elu() -> None:
    repartition = charger_repartition()
    assert not repartition.elus and not repartition.regles
    assert repartition.elu_pour("voirie", "Services techniques", "Nid-de-poule", "") == ""


def test_la_premiere_regle_qui_s_applique_designe_l_elu() -> None:
    r = lire_repartition(ELUS_YAML)
    # mot-clé sans majuscules ni accents, cherché dans l'objet et dans le texte
    assert (
        r.elu_pour("ecole", "Affaires scolaires", "Inscription", "la CANTINE du midi") == "ecoles"
    )
    assert r.elu_pour("voirie", "Services techniques", "Trottoir abîmé", "") == "voirie"
    assert r.elu_pour("urbanisme", "Urbanisme", "", "") == "voirie"
    assert r.elu_pour("salles_associations", "Vie associative", "", "") == "fetes"
    assert r.elu_pour("etat_civil", "Accueil – état civil", "Acte", "") == ""
    assert r.elus["voirie"].libelle == "Paul Durand (adjoint à la voirie)"
    assert r.elu_du_compte("c.martin") is r.elus["ecoles"]
    assert r.elu_du_compte("inconnu") is None
    assert r.libelle("parti") == "parti (élu qui n'est plus réglé)"
    lu = lire_repartition(
        'elus:\n  a:\n    nom: "A"\n    fonction: "f"\n'
        'repartition:\n  - elu: a\n    mots_cles: ["éclairage public"]\n'
    )
    assert lu.elu_pour("autre", "", "", "L'ECLAIRAGE   PUBLIC est en panne") == "a"


@pytest.mark.parametrize(
    ("texte", "attendu"),
    [
        ("elus: [\n", "n'est pas un YAML valide à la ligne"),
        ("- une liste\n", "doit contenir les rubriques « elus » et « repartition »"),
        (
            "elus: {}\nrepartition:\n  - elu: personne\n    categories: [voirie]\n",
            "nomme l'élu « personne », qui n'est pas dans la rubrique « elus »",
        ),
        (
            'elus:\n  a: {nom: "A", fonction: "f"}\nrepartition:\n  - elu: a\n'
            "    categories: [chaussee]\n",
            "la catégorie « chaussee »",
        ),
        (
            'elus:\n  a: {nom: "A", fonction: "f", courriel: "pas une adresse"}\n',
            "n'est pas une adresse courriel",
        ),
        ('elus:\n  A-1: {nom: "A", fonction: "f"}\n', "l'identifiant d'élu « A-1 »"),
        ('elus:\n  a: {nom: "", fonction: "f"}\n', "le nom de l'élu « a » doit être un texte"),
        (
            'elus:\n  a: {nom: "A", fonction: "f", telephone: "01"}\n',
            "le champ « telephone » de l'élu « a » est inconnu",
        ),
        (
            'elus:\n  a: {nom: "A", fonction: "f", compte: x}\n  b: {nom: "B", fonction: "g", '
            "compte: x}\n",
            "le compte « x » est donné à deux élus",
        ),
        ('elus:\n  a: {nom: "A", fonction: "f"}\nrepartition:\n  - elu: a\n', "n'a aucun critère"),
        ("repartition: {elu: a}\n", "la rubrique « repartition » doit être une liste"),
        ("sortie: 1\n", "la rubrique « sortie » est inconnue"),
    ],
)
def test_un_fichier_d_elus_faux_est_refuse_par_une_phrase_qui_le_nomme(
    tmp_path: Path, texte: str, attendu: str
) -> None:
    dossier = dossier_regles(tmp_path, texte)
    with pytest.raises(ConfigurationErreur) as e:
        charger_repartition(dossier)
    assert attendu in str(e.value)
    assert str(dossier / "elus.yaml") in str(e.value)
    assert "Traceback" not in str(e.value)


def test_la_releve_refuse_de_demarrer_sur_un_fichier_d_elus_faux(tmp_path: Path) -> None:
    from courrier.etapes import construire_analyseur

    dossier = dossier_regles(
        tmp_path, "elus: {}\nrepartition:\n  - elu: maire_adjoint\n    categories: [voirie]\n"
    )
    with pytest.raises(ConfigurationErreur, match="nomme l'élu « maire_adjoint »"):
        construire_analyseur(config.charger(_env_file=None, regles=dossier))
    bon = construire_analyseur(
        config.charger(_env_file=None, regles=dossier_regles(tmp_path / "b"))
    )
    assert set(bon.repartition.elus) == {"voirie", "ecoles", "fetes"}


def test_une_categorie_ajoutee_par_l_integrateur_peut_etre_repartie(tmp_path: Path) -> None:
    dossier = dossier_regles(
        tmp_path,
        'elus:\n  a: {nom: "A", fonction: "f"}\nrepartition:\n  - elu: a\n'
        "    categories: [marches_publics]\n",
    )
    categories = dossier / "categories.yaml"
    categories.write_text(
        categories.read_text(encoding="utf-8").replace(
            "urgences:", '  marches_publics: {libelle: "Marchés", service: "Finances"}\nurgences:'
        ),
        encoding="utf-8",
    )
    assert charger_repartition(dossier).elu_pour("marches_publics", "", "", "") == "a"


def test_un_fichier_d_elus_illisible_est_refuse(tmp_path: Path) -> None:
    dossier = dossier_regles(tmp_path)
    (dossier / "elus.yaml").write_bytes(b"elus: \xff\xfe\n")
    with pytest.raises(ConfigurationErreur, match="illisible"):
        charger_repartition(dossier)


# --- L'analyse pose l'élu ; la secrétaire le corrige ------------------------------------------


def analyseur(dossier: Path | None = None) -> Analyseur:
    return Analyseur(
        MoteurRegles(charger_regles()),
        charger_crpa(),
        COMMUNE,
        repartition=charger_repartition(dossier) if dossier else None,
    )


QUATRE = ("etat-civil-passeport", "injection-nid-de-poule", "injection-cantine-scan")


def test_l_analyse_pose_l_elu_referent_et_le_scelle(registre: Registre, tmp_path: Path) -> None:
    deposer(registre, *(etiquete(i) for i in QUATRE))
    bilan = analyser_en_attente(registre, analyseur(dossier_regles(tmp_path)), parallele=1)
    assert bilan.analyses == 3 and not bilan.erreurs
    par_reference = {c.reference: c for c in registre.courriers()}
    assert par_reference["injection-nid-de-poule"].categorie == "voirie"
    assert par_reference["injection-nid-de-poule"].elu == "voirie"
    assert par_reference["injection-cantine-scan"].elu == "ecoles"  # mot-clé « cantine »
    assert par_reference["etat-civil-passeport"].elu == ""
    # L'élu est dans l'événement d'analyse et dans le sceau : le registre se vérifie.
    ev = next(
        e
        for e in registre.evenements(par_reference["injection-nid-de-poule"].numero)
        if e.type == "analyse"
    )
    assert details(ev)["elu"] == "voirie"
    assert registre.verifier() == []
    # Visible à l'export du registre.
    assert ligne(par_reference["injection-cantine-scan"])["elu"] == "ecoles"


def test_sans_elu_regle_l_analyse_ne_change_pas(registre: Registre) -> None:
    deposer(registre, etiquete("injection-nid-de-poule"))
    analyser_en_attente(registre, analyseur(), parallele=1)
    (c,) = registre.courriers()
    assert c.elu == "" and c.categorie == "voirie"
    ev = next(e for e in registre.evenements(c.numero) if e.type == "analyse")
    assert "elu" not in details(ev)
    assert registre.verifier() == []


def test_la_secretaire_corrige_l_elu_par_un_evenement_scelle(
    registre: Registre, tmp_path: Path
) -> None:
    repartition = charger_repartition(dossier_regles(tmp_path))
    (numero,) = deposer(registre, etiquete("etat-civil-passeport"))
    analyser_en_attente(registre, analyseur(), parallele=1)
    assert corriger_elu(registre, repartition, numero, "claire", "fetes") is True
    assert corriger_elu(registre, repartition, numero, "claire", "fetes") is False
    c = registre.courrier(numero)
    assert c is not None and c.elu == "fetes"
    ev = registre.evenements(numero)[-1]
    assert ev.type == "correction" and ev.acteur == "claire" and ev.etat
    assert details(ev) == {"elu": {"avant": "", "apres": "fetes"}}
    assert registre.verifier() == []
    with pytest.raises(RegistreErreur, match="n'est pas dans les règles"):
        corriger_elu(registre, repartition, numero, "claire", "<script>x</script>")
    with pytest.raises(RegistreErreur, match="n'est pas au registre"):
        corriger_elu(registre, repartition, "2026-99999", "claire", "fetes")
    assert corriger_elu(registre, repartition, numero, "claire", "") is True  # plus d'élu
    assert registre.verifier() == []


def test_un_commentaire_est_garde_et_scelle_au_journal(registre: Registre) -> None:
    (numero,) = deposer(registre, etiquete("etat-civil-passeport"))
    commenter(registre, numero, "p.durand", "  <b>Vu</b>, je passe mardi.\x00  ")
    (m,) = commentaires(registre, numero)
    assert (m.auteur, m.texte) == ("p.durand", "<b>Vu</b>, je passe mardi.")
    ev = registre.evenements(numero)[-1]
    assert ev.type == "commentaire" and ev.acteur == "p.durand"
    assert details(ev)["longueur"] == len(m.texte)
    assert registre.verifier() == []
    avant = len(registre.evenements())
    for hostile, message in (("   \n ", "est vide"), ("x" * 4001, "trop long")):
        with pytest.raises(RegistreErreur, match=message):
            commenter(registre, numero, "p.durand", hostile)
    with pytest.raises(RegistreErreur, match="n'est pas au registre"):
        commenter(registre, "2026-99999", "p.durand", "Bonjour")
    assert len(registre.evenements()) == avant and len(commentaires(registre, numero)) == 1


def test_la_purge_de_conservation_efface_aussi_les_commentaires(registre: Registre) -> None:
    (numero,) = deposer(registre, etiquete("etat-civil-passeport"))
    commenter(registre, numero, "p.durand", "Mme Durand, 3 rue des Lilas, m'en a parlé.")
    bilan = purger(registre, Conservation(1, {}), date(2100, 1, 1))
    assert bilan.purges == [numero]
    assert [m.texte for m in commentaires(registre, numero)] == [""]
    assert registre.verifier() == []


def test_la_commande_cree_un_compte_d_elu_et_montrer_dit_l_elu(
    env_courrier: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    env_courrier.setenv("COURRIER_MOT_DE_PASSE", "mot-de-passe-solide")
    runner = CliRunner()
    sortie = runner.invoke(app, ["utilisateur", "ajouter", "p.durand", "--role", "elu"])
    assert sortie.exit_code == 0, sortie.output
    assert "Compte « p.durand » créé (élu)" in sortie.output
    faux = runner.invoke(app, ["utilisateur", "ajouter", "x.y", "--role", "adjoint"])
    assert faux.exit_code != 0 and "Traceback" not in faux.output
    registre = Registre.ouvrir(config.reglages().url_base, tmp_path / "donnees")
    try:
        compte = Comptes(registre).compte("p.durand")
        assert compte is not None and compte.role == "elu"
        (numero,) = deposer(registre, etiquete("injection-nid-de-poule"))
        regles = dossier_regles(tmp_path)
        analyser_en_attente(registre, analyseur(regles), parallele=1)
    finally:
        registre.fermer()
    env_courrier.setenv("COURRIER_REGLES", str(regles))
    config.reglages.cache_clear()
    texte = runner.invoke(app, ["montrer", numero])
    assert texte.exit_code == 0, texte.output
    assert "Élu référent : Paul Durand (adjoint à la voirie)" in texte.output
    brut = runner.invoke(app, ["montrer", numero, "--json"])
    assert json.loads(brut.output)["elu"] == "voirie"


# --- Le digest de chaque élu ------------------------------------------------------------------


@pytest.fixture
def smtp() -> Iterator[ServeurSmtp]:
    with serveur_smtp() as serveur:
        yield serveur


def _courrier(
    registre: Registre, ref: str, objet: str, texte: str, analyse: Analyse, elu: str = ""
) -> str:
    element = ElementRecu(
        source="depot_eml",
        canal=Canal.DEPOT,
        reference=ref,
        recu_le=MATIN - timedelta(hours=8),
        contenu=f"{ref} {objet}".encode(),
    )
    numero = registre.enregistrer(
        element, EntetesCourrier(expediteur="Mme Usagère <usagere@exemple.example>", objet=objet)
    ).numero
    ident = next(a.id for a in registre.a_extraire() if a.numero == numero)
    registre.consigner_extraction(ident, ResultatExtraction(texte=texte, methode="texte"))
    registre.consigner_analyse(ident, analyse, [], elu=elu)
    return numero


def reglages_digest(tmp_path: Path, smtp: ServeurSmtp) -> config.Reglages:
    """Le digest du maire et des élus envoyé au vrai serveur SMTP de test."""
    return config.charger(
        _env_file=None,
        commune="Saint-Aubin-sur-Loire",
        smtp_hote="127.0.0.1",
        smtp_port=smtp.port,
        smtp_securite="aucune",
        smtp_delai_s=5,
        adresse_mairie="mairie@saint-aubin.example",
        destinataires_digest="maire@saint-aubin.example",
        url_publique=URL,
        regles=dossier_regles(tmp_path),
    )


def test_chaque_elu_recoit_son_digest_et_le_maire_tout(
    url_base: str, tmp_path: Path, smtp: ServeurSmtp
) -> None:
    horloge = HorlogeDeTest(MATIN - timedelta(hours=9))
    registre = Registre.ouvrir(url_base, tmp_path / "donnees", horloge)
    r = reglages_digest(tmp_path, smtp)
    trou = _courrier(
        registre,
        "a",
        "Nid-de-poule rue Haute",
        "Un trou secret rue Haute.",
        Analyse(categorie="voirie", service="Services techniques", resume="Trou rue Haute."),
        elu="voirie",
    )
    cantine = _courrier(
        registre,
        "b",
        "Inscription cantine de Léo",
        "Léo, né le 3 mars, allergique.",
        Analyse(
            categorie="ecole",
            service="Affaires scolaires",
            resume="Cantine de Léo.",
            echeance=JOUR + timedelta(days=5),
        ),
        elu="ecoles",
    )
    incendie = _courrier(
        registre,
        "c",
        "Arrêté de péril imminent",
        "La façade menace de tomber.",
        Analyse(
            categorie="institutions",
            service="Secrétariat général",
            urgence=Urgence.HAUTE,
            resume="Péril imminent.",
        ),
    )
    acte = _courrier(
        registre,
        "d",
        "Acte de naissance",
        "Demande d'acte.",
        Analyse(categorie="etat_civil", service="Accueil – état civil", resume="Acte."),
    )
    horloge.regler(MATIN)
    envoyer = ClientSmtp(smtp.parametres()).envoyer
    assert publier_digest(registre, r, JOUR, envoyer).statut == "envoye"
    resultats = {x.elu: x for x in publier_digests_des_elus(registre, r, JOUR, envoyer)}
    assert resultats["voirie"].statut == resultats["ecoles"].statut == "envoye"
    assert resultats["fetes"].statut == "sans_adresse"  # pas de copie sans adresse

    messages = smtp.lus()
    assert len(messages) == 3  # le maire, puis un par élu qui a une adresse
    par_destinataire = {str(m["To"]): m for m in messages}
    maire = par_destinataire["maire@saint-aubin.example"]
    texte_maire = maire.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    for numero in (trou, cantine, incendie, acte):
        assert numero in texte_maire  # le maire reçoit tout, comme avant

    def corps(adresse: str) -> str:
        m: EmailMessage = next(v for k, v in par_destinataire.items() if adresse in k)
        assert not any(p.get_filename() for p in m.walk())  # aucune pièce jointe
        return m.get_body(("plain",)).get_content()  # type: ignore[union-attr,no-any-return]

    durand, martin = corps(DURAND), corps(MARTIN)
    assert trou in durand and incendie in durand
    assert cantine not in durand and acte not in durand
    assert cantine in martin and incendie in martin
    assert trou not in martin and acte not in martin
    assert f"{URL}elu/courrier/{trou}" in durand
    assert "échéance 28/11/2026" in martin and "URGENT" in martin
    # Données personnelles : ni objet, ni texte, ni résumé, ni expéditeur hors de la page.
    for texte in (durand, martin):
        for secret in ("Léo", "secret", "Nid-de-poule", "Usagère", "façade", "Trou rue"):
            assert secret not in texte
    assert "Paul Durand" in durand and "Claire Martin" in martin
    objet = str(next(v for k, v in par_destinataire.items() if DURAND in k)["Subject"])
    assert "1 courrier pour vous, 1 urgent" in objet

    # Relancé le même jour : rien ne repart.
    encore = publier_digests_des_elus(registre, r, JOUR, envoyer)
    assert {x.elu: x.statut for x in encore}["voirie"] == "deja_envoye"
    assert len(smtp.lus()) == 3
    assert registre.verifier() == []
    # La vue de l'élu : les siens et l'urgent, rien d'autre.
    assert {c.numero for c in courriers_de_l_elu(registre, "voirie")} == {trou, incendie}
    assert {c.numero for c in courriers_de_l_elu(registre, "")} == {incendie}
    registre.fermer()


def test_sans_elu_regle_seul_le_maire_recoit_le_digest(
    registre: Registre, smtp: ServeurSmtp
) -> None:
    r = config.charger(
        _env_file=None,
        smtp_hote="127.0.0.1",
        smtp_port=smtp.port,
        smtp_securite="aucune",
        adresse_mairie="mairie@saint-aubin.example",
        destinataires_digest="maire@saint-aubin.example",
    )
    envoyer = ClientSmtp(smtp.parametres()).envoyer
    assert publier_digests_des_elus(registre, r, JOUR, envoyer) == []
    assert smtp.lus() == []


def test_les_elus_recoivent_le_leur_meme_quand_le_digest_du_maire_ne_part_pas(
    url_base: str, tmp_path: Path, smtp: ServeurSmtp
) -> None:
    horloge = HorlogeDeTest(MATIN - timedelta(hours=9))
    registre = Registre.ouvrir(url_base, tmp_path / "donnees", horloge)
    r = reglages_digest(tmp_path, smtp)
    trou = _courrier(
        registre,
        "a",
        "Nid-de-poule rue Haute",
        "Un trou rue Haute.",
        Analyse(categorie="voirie", service="Services techniques", resume="Trou rue Haute."),
        elu="voirie",
    )
    horloge.regler(MATIN)
    # Le vrai serveur refuse la seule adresse du maire : son digest ne part pas.
    smtp.boite.refus_rcpt = "550 5.1.1 boite inconnue"
    smtp.boite.refuses = {"maire@saint-aubin.example"}
    with pytest.raises(ErreurSmtp, match="n'est pas parti"):
        publier_digests(registre, r, JOUR, ClientSmtp(smtp.parametres()).envoyer)
    recus = {str(m["To"]): m for m in smtp.lus()}
    assert "maire@saint-aubin.example" not in recus
    durand = next(m for k, m in recus.items() if DURAND in k)
    assert trou in durand.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    # Le digest du maire reste à envoyer : la relance le fait partir, sans doubler celui des élus.
    smtp.boite.refus_rcpt = None
    resultat = publier_digests(registre, r, JOUR, ClientSmtp(smtp.parametres()).envoyer)
    assert resultat.statut == "envoye"
    assert sum(1 for m in smtp.lus() if DURAND in str(m["To"])) == 1
    assert registre.verifier() == []
    registre.fermer()
