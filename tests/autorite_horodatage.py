"""Une vraie autorité d'horodatage RFC 3161 sur 127.0.0.1, pour les tests : `openssl ts -reply`
derrière un petit serveur HTTP.

Une autorité racine et un certificat d'horodatage (usage étendu timeStamping, critique) sont
fabriqués par `openssl` dans un dossier du test ; chaque requête POST est passée telle quelle à
`openssl ts -reply`, qui signe avec l'heure de la machine. Le serveur s'arrête avec le bloc
`with`. `refuser` fait répondre 503 (service en panne), `compteur` compte les jetons rendus.
"""

from __future__ import annotations

import subprocess
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

CONFIG = """\
[ req ]
distinguished_name = dn
prompt = no
[ dn ]
CN = {cn}
O = Autorite de test
[ ext_racine ]
basicConstraints = critical,CA:true
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
[ ext_tsa ]
basicConstraints = critical,CA:false
keyUsage = critical,digitalSignature,nonRepudiation
extendedKeyUsage = critical,timeStamping
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[ tsa ]
default_tsa = tsa_config
[ tsa_config ]
dir = {dossier}
serial = $dir/serie
crypto_device = builtin
signer_cert = $dir/tsa.pem
signer_key = $dir/tsa.key
signer_digest = sha256
default_policy = 1.2.3.4.1
other_policies = 1.2.3.4.5
digests = sha256, sha384, sha512
accuracy = secs:1
ordering = yes
tsa_name = yes
ess_cert_id_chain = no
ess_cert_id_alg = sha256
"""


@dataclass
class Autorite:
    url: str
    racine: Path  # le certificat racine (PEM), ce que l'intégrateur donnerait à Courrier
    dossier: Path
    refuser: bool = False
    jetons: list[bytes] = field(default_factory=list)


def _openssl(*args: str, dossier: Path) -> None:
    subprocess.run(["openssl", *args], cwd=dossier, check=True, capture_output=True, timeout=60)


def fabriquer_certificats(dossier: Path, nom: str = "Autorite de test") -> None:
    (dossier / "openssl.cnf").write_text(CONFIG.format(cn=nom, dossier=dossier), encoding="utf-8")
    (dossier / "serie").write_text("01\n")
    cnf = str(dossier / "openssl.cnf")
    _openssl("genrsa", "-out", "racine.key", "2048", dossier=dossier)
    _openssl(
        "req", "-new", "-x509", "-key", "racine.key", "-out", "racine.pem", "-days", "36500",
        "-config", cnf, "-extensions", "ext_racine", "-subj", f"/CN={nom} racine",
        dossier=dossier,
    )  # fmt: skip
    _openssl("genrsa", "-out", "tsa.key", "2048", dossier=dossier)
    _openssl(
        "req", "-new", "-key", "tsa.key", "-out", "tsa.csr", "-config", cnf,
        "-subj", f"/CN={nom} horodatage", dossier=dossier,
    )  # fmt: skip
    _openssl(
        "x509", "-req", "-in", "tsa.csr", "-CA", "racine.pem", "-CAkey", "racine.key",
        "-CAcreateserial", "-out", "tsa.pem", "-days", "36500", "-extfile", cnf,
        "-extensions", "ext_tsa", dossier=dossier,
    )  # fmt: skip


@contextmanager
def autorite_horodatage(nom: str = "Autorite de test") -> Iterator[Autorite]:
    with tempfile.TemporaryDirectory(prefix="courrier-tsa-") as tmp:
        dossier = Path(tmp)
        fabriquer_certificats(dossier, nom)
        etat: dict[str, Autorite] = {}

        class Guichet(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                autorite = etat["a"]
                longueur = int(self.headers.get("Content-Length") or 0)
                requete = self.rfile.read(longueur)
                if autorite.refuser:
                    self.send_error(503, "en panne")
                    return
                with tempfile.TemporaryDirectory(dir=dossier) as passage:
                    entree, sortie = Path(passage) / "q.tsq", Path(passage) / "r.tsr"
                    entree.write_bytes(requete)
                    fait = subprocess.run(
                        [
                            "openssl", "ts", "-reply", "-config", str(dossier / "openssl.cnf"),
                            "-queryfile", str(entree), "-out", str(sortie),
                        ],
                        capture_output=True,
                        timeout=60,
                    )  # fmt: skip
                    if fait.returncode != 0 or not sortie.exists():
                        self.send_error(400, "requete refusee")
                        return
                    jeton = sortie.read_bytes()
                autorite.jetons.append(jeton)
                self.send_response(200)
                self.send_header("Content-Type", "application/timestamp-reply")
                self.send_header("Content-Length", str(len(jeton)))
                self.end_headers()
                self.wfile.write(jeton)

            def log_message(self, *args: object) -> None:
                pass

        serveur = ThreadingHTTPServer(("127.0.0.1", 0), Guichet)
        etat["a"] = Autorite(
            url=f"http://127.0.0.1:{serveur.server_address[1]}/tsa",
            racine=dossier / "racine.pem",
            dossier=dossier,
        )
        fil = threading.Thread(target=serveur.serve_forever, daemon=True)
        fil.start()
        try:
            yield etat["a"]
        finally:
            serveur.shutdown()
            serveur.server_close()
