#!/usr/bin/env bash
# Installe les paquets Debian dont Courrier et ses tests ont besoin, en sautant ceux déjà là.
# Usage : deploiement/installer-paquets.sh [demo|production|test]
set -euo pipefail

cible="${1:-demo}"
paquets=(tesseract-ocr tesseract-ocr-fra tesseract-ocr-osd fonts-dejavu-core)
if [ "$cible" = "production" ] || [ "$cible" = "test" ]; then
  # LibreOffice sans écran : lit les .doc et .xls anciens joints aux courriels (aucune
  # bibliothèque Python ne les lit) ; les tests y fabriquent aussi les docx/odt/rtf/xlsx/ods
  # qu'ils joignent. La démo n'en a pas besoin (~200 Mo) : sans lui, ces pièces sont gardées
  # avec la raison « LibreOffice n'est pas installé ».
  paquets+=(libreoffice-writer-nogui libreoffice-calc-nogui)
fi
if [ "$cible" = "test" ]; then
  # chromium : les tests de la page web le pilotent sans écran (Playwright, executablePath).
  # nginx, caddy : les mandataires HTTPS de deploiement/, démarrés par les tests sur 127.0.0.1.
  # faketime : la suite rejouée avec la date système décalée (aucun test ne dépend du jour).
  paquets+=(dovecot-imapd postgresql chromium nginx-light caddy faketime)
fi
# Sur une Debian neuve, le module venv de Python vient d'un paquet à part.
if ! python3 -c 'import ensurepip, venv' >/dev/null 2>&1; then
  paquets+=(python3-venv)
fi

manquants=()
for p in "${paquets[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    manquants+=("$p")
  fi
done
[ ${#manquants[@]} -eq 0 ] && exit 0

echo "Installation des paquets Debian : ${manquants[*]}"
sudo_=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then
    sudo_="sudo"
  else
    echo "Il faut être root (ou avoir sudo) pour installer : ${manquants[*]}" >&2
    exit 1
  fi
fi
export DEBIAN_FRONTEND=noninteractive
$sudo_ apt-get update -qq
# Dans un conteneur sans systemd, les services installés ne doivent pas démarrer d'eux-mêmes :
# les tests lancent leurs propres serveurs sur 127.0.0.1.
if [ ! -e /usr/sbin/policy-rc.d ] && [ "$(id -u)" -eq 0 ] && [ ! -d /run/systemd/system ]; then
  printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
  trap 'rm -f /usr/sbin/policy-rc.d' EXIT
fi
$sudo_ apt-get install -y -qq --no-install-recommends "${manquants[@]}"
