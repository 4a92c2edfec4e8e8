"""Issue #10, point 2 : les pièces bureautiques et Outlook sont lues et servent à l'analyse.

Les documents (docx, odt, rtf, doc, xlsx, ods, xls) sont écrits ici par LibreOffice sans écran à
partir d'un texte ou d'un CSV du test, joints à un courriel déposé dans le dossier des .eml, et
relevés par le chemin normal (source, registre, processus d'extraction). Les winmail.dat sont de
vrais fichiers TNEF (tests/donnees/tnef/README.md) ; le .msg est celui du corpus
(../shared/corpus/emails/MANIFEST.tsv, ligne 79_spamscope_mail_outlook_1.msg).
"""

from __future__ import annotations

import hashlib
import random
import shutil
import signal
import subprocess
import time
from email.message import EmailMessage
from pathlib import Path

import pytest

from connecteurs.dossiers import SourceEml, SourceScans
from connecteurs.ocr import Tesseract
from courrier.extraction import extraire_courriel, extraire_document, lire_entetes
from courrier.extraction.bureautique import (
    OLE2,
    RESONNE_S,
    SONNERIES_MAX,
    DelaiDepasse,
    delai,
    lire_bureautique,
)
from courrier.extraction.outlook import lire_tnef
from courrier.releve import extraire_en_attente, relever_source
from noyau.analyse import CourrierALire
from noyau.domaine import Limites
from preuves.bureautique import bombe_deguisee_en_docx, classeur_d_un_million_de_cellules
from registre.registre import Registre
from tests.conftest import CORPUS

TNEF = Path(__file__).parent / "donnees" / "tnef"
MSG_DU_CORPUS = CORPUS / "emails" / "79_spamscope_mail_outlook_1.msg"
ENTREES_SOFFICE = "Text - txt - csv (StarCalc):44,34,76"

# Une phrase par format : le texte retrouvé dit de quelle pièce il vient, accents compris.
PHRASES = {
    "docx": "Madame Éloïse Brûlé demande la réfection du trottoir de la rue de l’Église (docx).",
    "odt": "Monsieur Gaël Noël signale un lampadaire éteint place de la Mairie (odt).",
    "rtf": "Le comité des fêtes d’Aÿ sollicite la salle polyvalente en août (rtf).",
    "doc": "Requête de Mme Françoise Lefèvre : certificat d’hérédité, déjà payé 12 € (doc).",
}
TABLEURS = {
    "xlsx": [("Bénéficiaire", "Montant"), ("École Jules-Ferry", "1250"), ("Crèche", "830")],
    "ods": [("Élément", "Quantité"), ("Chaises pliées", "40"), ("Tréteaux", "12")],
    "xls": [("Ligne", "Coût"), ("Élagage des platanes", "2400")],
}
FILTRES = {
    "docx": "docx:MS Word 2007 XML",
    "odt": "odt",
    "rtf": "rtf",
    "doc": "doc:MS Word 97",
    "xlsx": "xlsx",
    "ods": "ods",
    "xls": "xls:MS Excel 97",
}
TYPES = {
    "docx": ("application", "vnd.openxmlformats-officedocument.wordprocessingml.document"),
    "odt": ("application", "vnd.oasis.opendocument.text"),
    "rtf": ("application", "rtf"),
    "doc": ("application", "msword"),
    "xlsx": ("application", "vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    "ods": ("application", "vnd.oasis.opendocument.spreadsheet"),
    "xls": ("application", "vnd.ms-excel"),
}


def libreoffice(source: Path, filtre: str, sortie: Path, entree: str | None = None) -> bytes:
    """Convertit `source` par LibreOffice sans écran, avec un profil jetable ; rend les octets."""
    profil = sortie / "profil-libreoffice"
    commande = [
        "soffice",
        f"-env:UserInstallation={profil.as_uri()}",
        "--headless",
        "--norestore",
        *([f"--infilter={entree}"] if entree else []),
        "--convert-to",
        filtre,
        "--outdir",
        str(sortie),
        str(source),
    ]
    subprocess.run(commande, check=True, capture_output=True, timeout=180)
    return (sortie / f"{source.stem}.{filtre.split(':')[0]}").read_bytes()


@pytest.fixture(scope="module")
def documents(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    dossier = tmp_path_factory.mktemp("libreoffice")
    faits: dict[str, bytes] = {}
    for genre, phrase in PHRASES.items():
        source = dossier / f"lettre-{genre}.txt"
        source.write_text(f"Objet : courrier de test\n\n{phrase}\n", encoding="utf-8")
        faits[genre] = libreoffice(source, FILTRES[genre], dossier, "Text (encoded):UTF8")
    for genre, lignes in TABLEURS.items():
        source = dossier / f"tableau-{genre}.csv"
        source.write_text("\n".join(",".join(ligne) for ligne in lignes) + "\n", encoding="utf-8")
        faits[genre] = libreoffice(source, FILTRES[genre], dossier, ENTREES_SOFFICE)
    return faits


def courriel(objet: str, *pieces: tuple[bytes, str, str, str]) -> bytes:
    message = EmailMessage()
    message["From"] = "Jean Dupont <jean.dupont@exemple.example>"
    message["To"] = "mairie@saint-aubin.example"
    message["Subject"] = objet
    message["Message-ID"] = f"<{hashlib.sha256(objet.encode()).hexdigest()[:16]}@exemple.example>"
    message.set_content("Bonjour, veuillez trouver mon courrier en pièce jointe.")
    for octets, principal, secondaire, nom in pieces:
        message.add_attachment(octets, maintype=principal, subtype=secondaire, filename=nom)
    return message.as_bytes()


# --- Entrées hostiles, faites ici -------------------------------------------------------------


def hostiles(documents: dict[str, bytes]) -> dict[str, tuple[bytes, str, str, str]]:
    hasard = random.Random(10)
    msg = MSG_DU_CORPUS.read_bytes()
    return {
        "corrompu": (
            documents["docx"][: len(documents["docx"]) // 2],
            *TYPES["docx"],
            "abime.docx",
        ),
        "bombe": (bombe_deguisee_en_docx(), *TYPES["docx"], "lettre.docx"),
        "million": (classeur_d_un_million_de_cellules(), *TYPES["xlsx"], "grand.xlsx"),
        "rtf_tronque": (
            documents["rtf"][: len(documents["rtf"]) * 2 // 3],
            *TYPES["rtf"],
            "coupe.rtf",
        ),
        "msg_corrompu": (msg[:4096] + bytes(4096), "application", "vnd.ms-outlook", "abime.msg"),
        "doc_aleatoire": (hasard.randbytes(30_000), *TYPES["doc"], "hasard.doc"),
        "doc_ole2_aleatoire": (OLE2 + hasard.randbytes(30_000), *TYPES["doc"], "faux.doc"),
        "dat": (
            b"donnees brutes d'un appareil\x00\x01\x02",
            "application",
            "octet-stream",
            "mesures.dat",
        ),
    }


# --- La relève de bout en bout ----------------------------------------------------------------


@pytest.fixture(scope="module")
def releve(
    documents: dict[str, bytes], tmp_path_factory: pytest.TempPathFactory
) -> tuple[Registre, dict[str, CourrierALire], dict[str, str]]:
    tmp = tmp_path_factory.mktemp("releve-bureautique")
    eml, scans = tmp / "eml", tmp / "scans"
    eml.mkdir()
    scans.mkdir()
    for genre, octets in documents.items():
        nom = f"courrier.{genre}"
        (eml / f"{genre}.eml").write_bytes(courriel(f"Pièce {genre}", (octets, *TYPES[genre], nom)))
    winmail = (TNEF / "winmail.dat").read_bytes()
    (eml / "winmail.eml").write_bytes(
        courriel("Pièce winmail", (winmail, "application", "ms-tnef", "winmail.dat"))
    )
    msg = MSG_DU_CORPUS.read_bytes()
    (eml / "msg-joint.eml").write_bytes(
        courriel("Pièce msg", (msg, "application", "vnd.ms-outlook", "transfert.msg"))
    )
    shutil.copy(MSG_DU_CORPUS, eml / "depose.msg")
    for cle, piece in hostiles(documents).items():
        (eml / f"hostile-{cle}.eml").write_bytes(courriel(f"Hostile {cle}", piece))
    (scans / "lettre-scannee.docx").write_bytes(documents["docx"])
    (scans / "lettre-scannee.odt").write_bytes(documents["odt"])

    registre = Registre.ouvrir(f"sqlite:///{tmp / 'registre.sqlite3'}", tmp / "donnees")
    bilans = [
        relever_source(SourceEml(eml, 0), registre, lire_entetes),
        relever_source(SourceScans(scans, 0), registre, lire_entetes),
    ]
    assert all(not b.erreurs for b in bilans)
    extraire_en_attente(registre, Limites(), processus=1)
    lus = {c.objet or c.expediteur: c for _, c in registre.a_analyser()}
    statuts = {c.objet or c.nom_fichier: c.statut for c in registre.courriers()}
    return registre, lus, statuts


def texte_pour_l_analyse(courrier: CourrierALire) -> str:
    return "\n".join([courrier.texte, *(texte for _, texte in courrier.pieces)])


@pytest.mark.parametrize("genre", list(PHRASES))
def test_une_lettre_jointe_est_lue_avec_ses_accents(
    releve: tuple[Registre, dict[str, CourrierALire], dict[str, str]], genre: str
) -> None:
    _, lus, _ = releve
    texte = texte_pour_l_analyse(lus[f"Pièce {genre}"])
    assert PHRASES[genre] in " ".join(texte.split())


@pytest.mark.parametrize("genre", list(TABLEURS))
def test_un_tableau_joint_est_lu_cellule_par_cellule(
    releve: tuple[Registre, dict[str, CourrierALire], dict[str, str]], genre: str
) -> None:
    _, lus, _ = releve
    texte = texte_pour_l_analyse(lus[f"Pièce {genre}"])
    for ligne in TABLEURS[genre]:
        for cellule in ligne:
            assert cellule in texte, (genre, cellule)


def test_un_winmail_dat_joint_livre_les_pieces_qu_il_emballe(
    releve: tuple[Registre, dict[str, CourrierALire], dict[str, str]],
) -> None:
    _, lus, _ = releve
    texte = texte_pour_l_analyse(lus["Pièce winmail"])
    assert "Pièces jointes : AUTHORS, README" in texte
    assert "Authors of tnef" in texte and "Mark Simpson" in texte


def test_un_msg_joint_ou_depose_est_lu(
    releve: tuple[Registre, dict[str, CourrierALire], dict[str, str]],
) -> None:
    registre, lus, _ = releve
    joint = texte_pour_l_analyse(lus["Pièce msg"])
    assert "Objet : Newsletter Prüfung Personalwesen / Prüfung Eröffnungsbilanz" in joint
    assert "Sehr geehrte Frau Gaiser-Schönenborn" in joint
    depose = lus["Newsletter Prüfung Personalwesen / Prüfung Eröffnungsbilanz"]
    assert depose.expediteur_adresse == "nueblingv@w-vwa.de"
    assert "Sehr geehrte Frau Gaiser-Schönenborn" in depose.texte
    (courrier,) = [c for c in registre.courriers() if c.nom_fichier == "depose.msg"]
    assert courrier.statut == "analyse" or courrier.statut == "extrait"
    assert registre.archive.lire(courrier.empreinte) == MSG_DU_CORPUS.read_bytes()


def test_un_document_depose_avec_les_scans_est_lu(
    releve: tuple[Registre, dict[str, CourrierALire], dict[str, str]],
) -> None:
    registre, _, _ = releve
    par_nom = {c.nom_fichier: c for c in registre.courriers()}
    assert PHRASES["docx"] in " ".join(par_nom["lettre-scannee.docx"].texte.split())
    assert PHRASES["odt"] in " ".join(par_nom["lettre-scannee.odt"].texte.split())


RAISONS = {
    "corrompu": "Document Word illisible ou abîmé",
    "bombe": "Document Word trop volumineux une fois décompressé (200,0 Mo",
    "million": "Seules les 200\u00a0000 premières cellules du classeur ont été lues",
    "rtf_tronque": "Document RTF incomplet (fichier tronqué ?)",
    "msg_corrompu": "Message Outlook .msg illisible ou abîmé",
    "doc_aleatoire": "signature OLE2 absente",
    "doc_ole2_aleatoire": "Document Word ancien format (.doc) illisible ou abîmé (structure OLE2",
    "dat": "Fichier de données (.dat, souvent winmail.dat d'Outlook) : conservé, non lu.",
}


@pytest.mark.parametrize("cle", list(RAISONS))
def test_une_piece_hostile_est_gardee_avec_sa_raison_et_le_courrier_enregistre(
    releve: tuple[Registre, dict[str, CourrierALire], dict[str, str]], cle: str
) -> None:
    registre, lus, _ = releve
    courrier = lus[f"Hostile {cle}"]
    assert courrier.texte.startswith("Bonjour, veuillez trouver mon courrier")
    (ligne,) = [c for c in registre.courriers() if c.objet == f"Hostile {cle}"]
    (piece,) = ligne.pieces
    assert RAISONS[cle] in piece.erreur, piece.erreur
    assert "Traceback" not in piece.erreur
    assert registre.archive.lire(piece.empreinte)  # octets d'origine gardés


def test_la_releve_va_jusqu_au_bout_et_chaque_fichier_a_sa_ligne(
    releve: tuple[Registre, dict[str, CourrierALire], dict[str, str]],
    documents: dict[str, bytes],
) -> None:
    registre, _, _ = releve
    attendus = len(documents) + 2 + 1 + len(RAISONS) + 2
    assert registre.nombre() == attendus
    assert registre.a_extraire() == []
    # Tous lus, aucun en erreur : chacun attend l'analyse, hostiles compris.
    assert len(registre.a_analyser()) == attendus
    # Les profils LibreOffice et les fichiers convertis ne survivent pas à la lecture.
    assert list((registre.archive.racine.parent / "tmp").iterdir()) == []
    assert registre.verifier() == []


# --- Sans relève : les winmail.dat et le .msg en direct ---------------------------------------


def test_un_winmail_dat_au_corps_html_est_lu() -> None:
    lu = lire_tnef((TNEF / "body.tnef").read_bytes(), Limites(), Tesseract())
    assert lu.texte.startswith("THE BILL OF RIGHTS\nAmendments 1-10 of the Constitution")
    assert not lu.echec and lu.erreurs == []


def test_un_winmail_dat_sans_la_signature_tnef_garde_sa_raison() -> None:
    resultat = extraire_courriel(
        courriel("Faux", (b"ni TNEF ni rien : " * 4, "application", "ms-tnef", "winmail.dat")),
        lambda octets: hashlib.sha256(octets).hexdigest(),
        Limites(),
        Tesseract(),
    )
    (piece,) = resultat.pieces
    assert (
        piece.erreur
        == "Fichier de données (.dat, souvent winmail.dat d'Outlook) : conservé, non lu."
    )


def test_un_msg_depose_avec_les_scans_est_lu() -> None:
    # Les mêmes octets que depose.msg ci-dessus seraient un doublon au registre : lu en direct.
    resultat = extraire_document(
        MSG_DU_CORPUS.read_bytes(), "message.msg", lambda o: "", Limites(), Tesseract()
    )
    assert not resultat.echec
    assert resultat.texte.startswith(
        "De : <NueblingV@w-vwa.de>\nÀ : <gaiser-schoenenborn@kreis-tuebingen.de>\n"
        "Date : 18/09/2017 10:00 UTC\n"
        "Objet : Newsletter Prüfung Personalwesen / Prüfung Eröffnungsbilanz\n"
        "Pièces jointes : newsletter.png, spacer.gif, image004.jpg, image006.jpg, image008.jpg"
    )
    assert "Sehr geehrte Frau Gaiser-Schönenborn" in resultat.texte


# --- LibreOffice absent ou trop lent : le .doc est gardé, la raison est dite -----------------


def test_sans_libreoffice_un_doc_est_garde_avec_une_raison_claire(
    documents: dict[str, bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", "/nulle-part")  # un serveur où LibreOffice n'est pas installé
    lu = lire_bureautique(documents["doc"], "doc", Limites(), Tesseract())
    assert lu.echec
    assert lu.erreurs == [
        "Document Word ancien format (.doc) conservé, non lu : LibreOffice n'est pas installé "
        "sur ce serveur (paquets libreoffice-writer-nogui et libreoffice-calc-nogui)."
    ]


def test_une_conversion_trop_longue_est_arretee(documents: dict[str, bytes]) -> None:
    lu = lire_bureautique(documents["doc"], "doc", Limites(bureautique_delai_s=0), Tesseract())
    assert lu.echec
    assert lu.erreurs == [
        "Document Word ancien format (.doc) conservé, non lu : la conversion par LibreOffice a "
        "dépassé 0 secondes et a été arrêtée."
    ]


def test_un_classeur_trop_long_a_lire_est_arrete_et_garde() -> None:
    # Plafond de cellules levé : seul le délai arrête la lecture du million de cellules.
    limites = Limites(cellules_max=10_000_000, bureautique_delai_s=1)
    lu = lire_bureautique(classeur_d_un_million_de_cellules(), "xlsx", limites, Tesseract())
    assert lu.echec
    assert lu.erreurs == [
        "Classeur Excel trop long à lire (plus de 1 secondes) : lecture arrêtée ; conservé, non lu."
    ]


def test_une_alarme_avalee_une_fois_resonne_et_arrete_la_lecture() -> None:
    # La première alarme tombe là où Python l'ignore (un rappel du ramasse-miettes) ; la
    # lecture continuerait jusqu'à sa fin. L'alarme suivante l'arrête avant.
    avalees, finie = 0, False
    with pytest.raises(DelaiDepasse), delai(1):
        fin = time.monotonic() + 10
        while time.monotonic() < fin:
            try:
                time.sleep(0.05)
            except DelaiDepasse:
                if avalees:
                    raise
                avalees += 1
        finie = True
    assert avalees == 1
    assert not finie, "la lecture est allée à son terme malgré le délai dépassé"


def test_une_lecture_qui_avale_toutes_les_alarmes_les_fait_taire_puis_est_jugee_a_sa_fin() -> None:
    """L'alarme ne resonne pas sans fin : après SONNERIES_MAX, elle se tait et le gestionnaire
    de SIGALRM d'avant est remis ; la lecture, finie hors délai, échoue quand même (en CI,
    l'alarme est tombée dans un rappel du ramasse-miettes, où Python ignore l'exception)."""
    avant = signal.getsignal(signal.SIGALRM)
    avalees = 0
    with pytest.raises(DelaiDepasse), delai(1):
        fin = time.monotonic() + 1 + (SONNERIES_MAX + 4) * RESONNE_S
        while time.monotonic() < fin:
            try:
                time.sleep(0.02)
            except DelaiDepasse:
                avalees += 1
    assert avalees == SONNERIES_MAX
    assert signal.getsignal(signal.SIGALRM) == avant


def test_une_sonnerie_a_la_sortie_du_bloc_n_empeche_pas_l_arret_de_la_minuterie(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Une sonnerie traitée juste quand le bloc se ferme (ici : au premier arrêt de la
    minuterie) ne laisse ni l'alarme armée ni son gestionnaire en place."""
    import courrier.extraction.bureautique as bureautique

    vrai = signal.setitimer
    sonneries = []

    def setitimer(quelle: int, secondes: float, intervalle: float = 0.0) -> tuple[float, float]:
        if secondes == 0 and not sonneries:
            sonneries.append(1)
            raise DelaiDepasse  # ce que ferait le gestionnaire à cet instant-là
        return vrai(quelle, secondes, intervalle)

    avant = signal.getsignal(signal.SIGALRM)
    restant_avant = signal.getitimer(signal.ITIMER_REAL)[0]  # celle de pytest-timeout, s'il y a
    monkeypatch.setattr(bureautique.signal, "setitimer", setitimer)
    with delai(30):
        pass
    monkeypatch.undo()
    assert sonneries == [1]
    assert signal.getsignal(signal.SIGALRM) == avant
    restant = signal.getitimer(signal.ITIMER_REAL)[0]
    if restant_avant:
        assert 0 < restant <= restant_avant  # la minuterie d'avant, remise, pas la nôtre
    else:
        assert restant == 0
