"""Les mandataires de deploiement/ pour de vrai : nginx et Caddy (paquets Debian) démarrés sur
127.0.0.1 en HTTPS (certificat de test fait ici) devant `courrier serveur`, avec les fichiers
livrés dans deploiement/mandataires/ (seuls l'adresse d'écoute, le certificat et le port de
Courrier y sont remplacés). Les attaques de l'issue #15 sont rejouées au travers : un
X-Forwarded-For écrit par le visiteur ne change pas son adresse, un compte bloqué le reste, les
autres comptes ne le sont pas ; la page sait qu'elle est servie en HTTPS (HSTS, cookies
Secure) et accepte les formulaires de sa propre origine."""

from __future__ import annotations

import html
import os
import re
import shutil
import ssl
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from preuves.serveurs import attendre_port, port_libre, processus_journalise
from registre.registre import Registre
from tests import navigateur as nv
from tests.conftest import RACINE

MANDATAIRES = RACINE / "deploiement" / "mandataires"


def remplacer(texte: str, motif: str, par: str, fois: int = 1) -> str:
    """Remplace `motif` (expression régulière) ; échoue si le fichier livré a changé de forme."""
    nouveau, n = re.subn(motif, par, texte, flags=re.MULTILINE)
    assert n == fois, f"« {motif} » trouvé {n} fois dans le fichier livré, {fois} attendu"
    return nouveau


@pytest.fixture(scope="module")
def certificat(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    dossier = tmp_path_factory.mktemp("tls")
    cle, cert = dossier / "cle.pem", dossier / "cert.pem"
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes"),
            *("-keyout", str(cle), "-out", str(cert), "-days", "2", "-subj", "/CN=courrier-test"),
            *("-addext", "subjectAltName=IP:127.0.0.1"),
        ],
        check=True,
        capture_output=True,
    )
    return cert, cle


@pytest.fixture
def courrier(tmp_path: Path) -> Iterator[int]:
    """`courrier serveur` sur 127.0.0.1, qui croit le mandataire local (COURRIER_MANDATAIRES)."""
    donnees = tmp_path / "donnees"
    registre = Registre.ouvrir(f"sqlite:///{donnees / 'registre.sqlite3'}", donnees)
    nv.creer_comptes(registre)
    registre.fermer()
    port = port_libre()
    env = {k: v for k, v in os.environ.items() if not k.startswith("COURRIER_")} | {
        "COURRIER_DONNEES": str(donnees),
        "COURRIER_MANDATAIRES": "127.0.0.1",
    }
    commande = [str(RACINE / ".venv" / "bin" / "courrier"), "serveur", "--port", str(port)]
    with processus_journalise(commande, tmp_path / "courrier.log", env):
        attendre_port(port, 60)
        yield port


def nginx(tmp_path: Path, cert: tuple[Path, Path], amont: int) -> tuple[list[str], int]:
    binaire = shutil.which("nginx") or "/usr/sbin/nginx"
    if not Path(binaire).exists():
        pytest.fail(
            "nginx est introuvable : installez le paquet Debian « nginx-light » "
            "(make test le fait)."
        )
    port, port_clair = port_libre(), port_libre()
    site = (MANDATAIRES / "nginx-courrier.conf").read_text(encoding="utf-8")
    site = remplacer(site, r"^\s*listen \[::\]:\d+( ssl)?;\n", "", fois=2)
    site = remplacer(site, r"listen 80;", f"listen 127.0.0.1:{port_clair};")
    site = remplacer(site, r"listen 443 ssl;", f"listen 127.0.0.1:{port} ssl;")
    site = remplacer(site, r"ssl_certificate\s+\S+;", f"ssl_certificate {cert[0]};")
    site = remplacer(site, r"ssl_certificate_key\s+\S+;", f"ssl_certificate_key {cert[1]};")
    site = remplacer(
        site, r"proxy_pass http://127\.0\.0\.1:8000;", f"proxy_pass http://127.0.0.1:{amont};"
    )
    (tmp_path / "courrier.conf").write_text(site, encoding="utf-8")
    for sous in ("corps", "proxy"):
        (tmp_path / sous).mkdir()
    (tmp_path / "nginx.conf").write_text(
        f"""daemon off;
master_process off;
pid {tmp_path}/nginx.pid;
error_log {tmp_path}/erreurs.log;
events {{}}
http {{
    access_log off;
    client_body_temp_path {tmp_path}/corps;
    proxy_temp_path {tmp_path}/proxy;
    include {tmp_path}/courrier.conf;
}}
""",
        encoding="utf-8",
    )
    commande = [binaire, "-p", str(tmp_path), "-e", str(tmp_path / "erreurs.log")]
    return [*commande, "-c", str(tmp_path / "nginx.conf")], port


def caddy(tmp_path: Path, cert: tuple[Path, Path], amont: int) -> tuple[list[str], int]:
    binaire = shutil.which("caddy") or "/usr/bin/caddy"
    if not Path(binaire).exists():
        pytest.fail(
            "Caddy est introuvable : installez le paquet Debian « caddy » (make test le fait)."
        )
    port = port_libre()
    site = (MANDATAIRES / "Caddyfile").read_text(encoding="utf-8")
    site = remplacer(
        site,
        r"^courrier\.mairie\.example \{",
        f"https://127.0.0.1:{port} {{\n\ttls {cert[0]} {cert[1]}",
    )
    site = remplacer(site, r"reverse_proxy 127\.0\.0\.1:8000", f"reverse_proxy 127.0.0.1:{amont}")
    # Pour le test seulement : ni API d'administration, ni redirection sur le port 80.
    globales = (
        f"{{\n\tadmin off\n\tauto_https disable_redirects\n"
        f"\tstorage file_system {tmp_path}/stockage\n}}\n"
    )
    (tmp_path / "Caddyfile").write_text(globales + site, encoding="utf-8")
    commande = [binaire, "run", "--adapter", "caddyfile", "--config", str(tmp_path / "Caddyfile")]
    return commande, port


def essayer(http: httpx.Client, nom: str, mot_de_passe: str, **entetes: str) -> httpx.Response:
    page = http.get("/connexion")
    jeton = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert jeton, page.text
    return http.post(
        "/connexion",
        data={"nom": nom, "mot_de_passe": mot_de_passe, "csrf": jeton.group(1)},
        headers={"Origin": str(http.base_url).rstrip("/"), **entetes},
    )


@pytest.mark.parametrize("mandataire", ["nginx", "caddy"])
def test_les_attaques_de_l_issue_15_echouent_au_travers_du_mandataire_livre(
    mandataire: str, tmp_path: Path, certificat: tuple[Path, Path], courrier: int
) -> None:
    dossier = tmp_path / mandataire
    dossier.mkdir()
    commande, port = (nginx if mandataire == "nginx" else caddy)(dossier, certificat, courrier)
    env = dict(
        os.environ, HOME=str(dossier), XDG_DATA_HOME=str(dossier), XDG_CONFIG_HOME=str(dossier)
    )
    contexte = ssl.create_default_context(cafile=str(certificat[0]))
    with processus_journalise(commande, dossier / "sortie.log", env):
        attendre_port(port, 30)
        base = f"https://127.0.0.1:{port}"
        with httpx.Client(base_url=base, verify=contexte, timeout=30) as http:
            page = http.get("/connexion")
            assert page.status_code == 200, (dossier / "sortie.log").read_text()
            # La page se sait servie en HTTPS : HSTS, cookie de pré-session __Host- et Secure.
            assert page.headers["strict-transport-security"].startswith("max-age=")
            assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
            assert page.headers["set-cookie"].startswith("__Host-courrier_csrf=")
            assert "Secure" in page.headers["set-cookie"]
            # 30 mauvais mots de passe, chacun avec un X-Forwarded-For différent.
            codes = [
                essayer(
                    http, "maire", "mauvais-mot", **{"X-Forwarded-For": f"10.8.0.{i}"}
                ).status_code
                for i in range(30)
            ]
            assert codes == [401] * 5 + [429] * 25, codes
            assert essayer(http, "maire", nv.MOT_DE_PASSE).status_code == 429
            bloque = essayer(http, "maire", nv.MOT_DE_PASSE, **{"X-Forwarded-For": "10.8.0.1"})
            assert bloque.status_code == 429
            assert "Trop d'essais manqués" in html.unescape(bloque.text)
            # Le verrou ne touche que ce compte.
            reponse = essayer(http, "secretaire", nv.MOT_DE_PASSE)
            assert reponse.status_code == 303, reponse.text
            session = next(
                v
                for k, v in reponse.headers.multi_items()
                if k == "set-cookie" and "courrier_session" in v
            )
            assert "Secure" in session and "HttpOnly" in session
            assert http.get("/").status_code == 200
            # Un formulaire venu d'ailleurs est refusé, même au travers du mandataire.
            autre = essayer(http, "admin", nv.MOT_DE_PASSE, Origin="https://ailleurs.example")
            assert autre.status_code == 403
