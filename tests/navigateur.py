"""Pour les tests de la page web : un registre garni par la vraie extraction, la page servie par
uvicorn sur 127.0.0.1, un serveur SMTP (aiosmtpd) et un petit serveur HTTP « piège » sur
lequel pointe le courriel hostile (il ne doit jamais recevoir la moindre requête)."""

from __future__ import annotations

import email
import http.server
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from email.message import EmailMessage
from email.policy import default
from pathlib import Path
from typing import Any

import uvicorn
from aiosmtpd.controller import Controller

from courrier import config
from courrier.config import Reglages
from courrier.extraction import lire_entetes
from courrier.releve import extraire_un
from noyau.analyse import Alerte, Analyse, Brouillon, Expediteur, TypeBrouillon, Urgence
from noyau.domaine import Canal, ElementRecu, Limites, ResultatExtraction
from preuves.serveurs import attendre_port, port_libre
from registre.comptes import Comptes
from registre.registre import Registre
from tests.conftest import RACINE

MOT_DE_PASSE = "mot-de-passe-solide"
MAIRIE = "mairie@saint-aubin.example"
DEMANDEUR = "jean.dupont@exemple.example"
MESSAGE_ID_DEMANDE = "<demande-fuite-42@exemple.example>"
REFERENCES_DEMANDE = "<premier-echange@exemple.example>"
SCAN = RACINE / "courrier" / "demo" / "scans" / "lettre-aide-sociale.pdf"


# --- Les courriels ---------------------------------------------------------------------------


def eml_demande() -> bytes:
    m = EmailMessage()
    m["From"] = f"Jean Dupont <{DEMANDEUR}>"
    m["To"] = MAIRIE
    m["Subject"] = "Fuite d'eau rue des Lilas"
    m["Date"] = "Mon, 23 Nov 2026 08:12:00 +0100"
    m["Message-ID"] = MESSAGE_ID_DEMANDE
    m["In-Reply-To"] = REFERENCES_DEMANDE
    m["References"] = REFERENCES_DEMANDE
    m.set_content(
        "Bonjour,\n\nUne fuite d'eau inonde la chaussée devant le 12 rue des Lilas depuis ce "
        "matin.\nPouvez-vous envoyer quelqu'un ?\n\nJean Dupont\n"
    )
    m.add_attachment(
        b"%PDF-1.4\n% photo de la fuite\n",
        maintype="application",
        subtype="pdf",
        filename="../../photo fuite<1>.pdf",
    )
    return m.as_bytes()


def html_hostile(piege: str) -> str:
    """Tout ce qui, rendu tel quel, exécuterait un script ou chargerait une ressource."""
    return f"""<html><head>
<meta http-equiv="refresh" content="0;url={piege}/refresh">
<link rel="stylesheet" href="{piege}/style.css">
<style>@import url("{piege}/import.css"); body {{ background: url("{piege}/fond.png"); }}</style>
<script>window.pwned = 1; document.title = "PWNED"; alert("script");</script>
<script src="{piege}/script.js"></script>
</head><body onload="window.pwned = 2">
<p>Madame le Maire, voici ma demande de salle pour le loto.</p>
<img src="{piege}/pixel.png" alt="pixel" onerror="window.pwned = 3; alert('onerror')">
<img src="x" onerror="window.pwned = 4">
<svg onload="window.pwned = 5"><image href="{piege}/svg.png"/></svg>
<iframe src="{piege}/cadre.html"></iframe>
<form action="{piege}/vol" method="post"><input name="mot_de_passe"><button>Valider</button></form>
<a href="javascript:window.pwned = 6">cliquez ici</a>
<video poster="{piege}/video.png"></video>
<object data="{piege}/objet.swf"></object>
</body></html>"""


def eml_hostile(piege: str) -> bytes:
    m = EmailMessage()
    m["From"] = 'Association "Loto & Cie" <loto@asso.example>'
    m["To"] = MAIRIE
    m["Subject"] = '<img src="x" onerror="window.pwned=7">Réservation <script>alert(1)</script>'
    m["Date"] = "Sun, 22 Nov 2026 20:00:00 +0100"
    m["Message-ID"] = "<hostile-1@asso.example>"
    m.set_content(html_hostile(piege), subtype="html")
    m.add_attachment(
        html_hostile(piege).encode(),
        maintype="text",
        subtype="html",
        filename="<script>alert(1)</script>.html",
    )
    return m.as_bytes()


# --- Le registre garni -------------------------------------------------------------------------


@dataclass(frozen=True)
class Jeu:
    demande: str  # numéro du courriel de la fuite (urgent, réponse à valider)
    brouillon_demande: int
    hostile: str
    brouillon_hostile: int
    scan: str
    brouillon_scan: int
    autres: list[str] = field(default_factory=list)


def _enregistrer(
    registre: Registre,
    contenu: bytes,
    canal: Canal,
    reference: str,
    recu_le: datetime,
    nom_fichier: str = "",
) -> tuple[str, int]:
    element = ElementRecu(
        source="depot_eml" if canal != Canal.SCAN else "depot_scans",
        canal=canal,
        reference=reference,
        recu_le=recu_le,
        contenu=contenu,
        nom_fichier=nom_fichier,
    )
    entetes = lire_entetes(contenu) if canal != Canal.SCAN else None
    numero = registre.enregistrer(element, entetes).numero
    a_lire = next(a for a in registre.a_extraire() if a.numero == numero)
    return numero, a_lire.id


def _lire(registre: Registre, numero: str) -> None:
    """La vraie extraction (MIME, HTML en texte, pièces), dans ce processus."""
    a_lire = next(a for a in registre.a_extraire() if a.numero == numero)
    registre.consigner_extraction(
        a_lire.id, extraire_un(str(registre.archive.racine), a_lire, Limites())
    )


def _brouillon(registre: Registre, numero: str) -> int:
    courrier = registre.courrier(numero)
    assert courrier is not None
    return courrier.brouillons[0].id


def garnir(registre: Registre, piege: str, jour: date) -> Jeu:
    nuit = datetime.combine(jour, datetime.min.time(), tzinfo=UTC) + timedelta(hours=1)

    demande, ident = _enregistrer(registre, eml_demande(), Canal.DEPOT, "fuite.eml", nuit)
    _lire(registre, demande)
    registre.consigner_analyse(
        ident,
        Analyse(
            categorie="voirie",
            service="Services techniques",
            urgence=Urgence.HAUTE,
            resume="Une fuite d'eau inonde la chaussée devant le 12 rue des Lilas.",
            demande="Intervention sur une fuite d'eau",
            reponse_attendue=True,
            echeance=jour + timedelta(days=2),
            moteur="llm:mistral-small",
            confiance=0.8,
        ),
        [
            Brouillon(
                TypeBrouillon.REPONSE,
                "Re: Fuite d'eau rue des Lilas",
                "Monsieur,\n\nNous avons bien reçu votre signalement.\n\nLe Maire",
                "llm:mistral-small",
                prepare_par_ia=True,
                destinataire=DEMANDEUR,
            )
        ],
    )

    hostile, ident = _enregistrer(
        registre, eml_hostile(piege), Canal.DEPOT, "hostile.eml", nuit - timedelta(days=1)
    )
    _lire(registre, hostile)
    registre.consigner_analyse(
        ident,
        Analyse(
            categorie="salles_associations",
            service="Vie associative",
            resume=f'Réservation <script>window.pwned=8</script><img src="{piege}/resume.png">',
            demande="<b>Salle</b> des fêtes",
            echeance=jour + timedelta(days=10),
            alertes=[Alerte.INJECTION_SUSPECTEE],
        ),
        [
            Brouillon(
                TypeBrouillon.REPONSE,
                "Re: réservation",
                "Madame, Monsieur,\n\n<script>window.pwned=9</script>\n\nLe Maire",
                "modele:salles",
                destinataire="loto@asso.example",
            )
        ],
    )

    scan, ident = _enregistrer(
        registre,
        SCAN.read_bytes(),
        Canal.SCAN,
        SCAN.name,
        nuit - timedelta(days=2),
        nom_fichier=SCAN.name,
    )
    registre.consigner_extraction(
        ident,
        ResultatExtraction(
            texte="Madame le Maire,\nje sollicite une aide du CCAS.\nMme Claire Martin",
            methode="ocr",
            pages=1,
            confiance_ocr=91.0,
        ),
    )
    registre.consigner_analyse(
        ident,
        Analyse(
            categorie="social",
            service="CCAS",
            resume="Demande d'aide sociale.",
            expediteur=Expediteur(
                nom="Claire Martin", adresse="3 rue des Écoles\n45000 Saint-Aubin"
            ),
            est_demande_usager=True,
            reponse_attendue=True,
            echeance=jour + timedelta(days=20),
        ),
        [
            Brouillon(
                TypeBrouillon.ACCUSE_RECEPTION,
                "Accusé de réception de votre demande",
                "Madame,\n\nVotre demande a bien été reçue.\n\nLe Maire",
                "modele:accuse_reception",
            )
        ],
    )

    autres = []
    for i, (categorie, objet) in enumerate(
        [
            ("etat_civil", "Demande d'acte de naissance"),
            ("urbanisme", "Déclaration préalable de travaux"),
            ("publicite", "Illuminations de Noël à prix cassés"),
        ]
    ):
        m = EmailMessage()
        m["From"] = f"Expéditeur {i} <expediteur{i}@exemple.example>"
        m["Subject"] = objet
        m["Message-ID"] = f"<autre-{i}@exemple.example>"
        m.set_content(f"Texte du courrier {i} : {objet}.")
        numero, ident = _enregistrer(
            registre, m.as_bytes(), Canal.DEPOT, f"autre{i}.eml", nuit - timedelta(days=30 * i)
        )
        _lire(registre, numero)
        registre.consigner_analyse(ident, Analyse(categorie=categorie, resume=objet), [])
        autres.append(numero)

    return Jeu(
        demande=demande,
        brouillon_demande=_brouillon(registre, demande),
        hostile=hostile,
        brouillon_hostile=_brouillon(registre, hostile),
        scan=scan,
        brouillon_scan=_brouillon(registre, scan),
        autres=autres,
    )


def creer_comptes(registre: Registre) -> Comptes:
    comptes = Comptes(registre)
    comptes.creer("secretaire", "secretaire", MOT_DE_PASSE, "test")
    comptes.creer("maire", "maire", MOT_DE_PASSE, "test")
    comptes.creer("admin", "admin", MOT_DE_PASSE, "test")
    return comptes


def reglages_web(
    donnees: Path, url: str, smtp_port: int | None = None, **autres: object
) -> Reglages:
    return config.charger(
        **autres,
        _env_file=None,
        donnees=donnees,
        base_de_donnees=url,
        commune="Saint-Aubin",
        maire="Hélène Moreau",
        commune_adresse="1 place de la Mairie\\n45000 Saint-Aubin",
        commune_email=MAIRIE,
        smtp_hote="127.0.0.1",
        smtp_port=smtp_port or port_libre(),
        smtp_securite="aucune",
        smtp_delai_s=5,
        adresse_mairie=MAIRIE,
    )


# --- Serveurs ---------------------------------------------------------------------------------


@dataclass
class Boite:
    messages: list[bytes] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(envelope.content)
        return "250 Message accepte"

    def lus(self) -> list[EmailMessage]:
        return [email.message_from_bytes(c, policy=default) for c in self.messages]  # type: ignore[misc]


@contextmanager
def serveur_smtp() -> Iterator[tuple[Boite, int]]:
    boite = Boite()
    controleur = Controller(boite, hostname="127.0.0.1", port=port_libre())
    controleur.start()
    try:
        yield boite, controleur.port
    finally:
        controleur.stop()


@dataclass
class Piege:
    url: str
    requetes: list[str]


@contextmanager
def serveur_piege() -> Iterator[Piege]:
    """Un serveur HTTP qui note chaque requête : le courriel hostile pointe vers lui."""
    requetes: list[str] = []

    class Gestionnaire(http.server.BaseHTTPRequestHandler):
        def _noter(self) -> None:
            requetes.append(f"{self.command} {self.path}")
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.end_headers()

        do_GET = do_POST = do_HEAD = _noter

        def log_message(self, *args: Any) -> None:
            pass

    serveur = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Gestionnaire)
    fil = threading.Thread(target=serveur.serve_forever, daemon=True)
    fil.start()
    try:
        yield Piege(f"http://127.0.0.1:{serveur.server_address[1]}", requetes)
    finally:
        serveur.shutdown()
        serveur.server_close()


@contextmanager
def serveur_web(app: Any) -> Iterator[str]:
    """La page servie par uvicorn dans un fil, sur un port libre de 127.0.0.1."""
    port = port_libre()
    serveur = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    fil = threading.Thread(target=serveur.run, daemon=True)
    fil.start()
    try:
        attendre_port(port)
        yield f"http://127.0.0.1:{port}"
    finally:
        serveur.should_exit = True
        fil.join(10)


def attendre(condition: Any, delai: float = 15.0) -> bool:
    fin = time.monotonic() + delai
    while time.monotonic() < fin:
        if condition():
            return True
        time.sleep(0.1)
    return bool(condition())
