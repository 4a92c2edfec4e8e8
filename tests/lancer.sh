#!/usr/bin/env bash
# Lance la suite ; les artefacts (captures, exports) vont dans artefacts/.
# TESTS_PROCESSUS=2 : deux processus de test (pytest-xdist), chacun prenant des fichiers
# entiers (~21 min au lieu de ~35 sur 2 cœurs). Pas par défaut : deux tests s'y gênent encore
# (test_planification : deux relèves demandées ensemble ne se chevauchent plus quand la machine
# est chargée ; test_hostiles : il guette tout fichier nouveau dans /tmp et le dépôt pendant sa
# relève, et l'autre processus en écrit).
set -euo pipefail
cd "$(dirname "$0")/.."
export OMP_THREAD_LIMIT=1 DO_NOT_TRACK=1 PREFECT_SERVER_ANALYTICS_ENABLED=false
mkdir -p artefacts
processus="${TESTS_PROCESSUS:-0}"
parallele=()
if [ "$processus" != 0 ]; then
    parallele=(--numprocesses "$processus" --dist loadfile)
fi
# Les 25 tests les plus longs en fin de passage : la suite vise moins de 20 minutes.
exec .venv/bin/python -m pytest "${parallele[@]}" --durations=25 "$@"
