#!/usr/bin/env bash
# `make test-decale` : toute la suite, la date avancée de TEMPS_DECALE_JOURS jours dans chaque
# programme Python. Ce dossier (et son sitecustomize.py) entre dans le sys.path de chaque
# interpréteur du venv par un .pth, le temps du passage, et non par PYTHONPATH : bien des tests
# donnent le leur aux programmes qu'ils lancent (serveur Prefect, workers), qui tourneraient
# sinon à la date réelle face à des exécutions créées un an plus tard.
set -euo pipefail
cd "$(dirname "$0")/../.."
export TEMPS_DECALE_JOURS="${TEMPS_DECALE_JOURS:-366}"
pth="$(.venv/bin/python -c "import sysconfig; print(sysconfig.get_paths()['purelib'])")/courrier-decalage.pth"
echo "$PWD/tests/decalage" > "$pth"
trap 'rm -f "$pth"' EXIT
bash tests/lancer.sh "$@"
