#!/usr/bin/env bash
# Lance la suite ; les artefacts (captures, exports) vont dans artefacts/.
# Deux processus de test par défaut (pytest-xdist, chacun prenant des fichiers entiers : les
# fixtures de module ne se font qu'une fois) dès que la machine a deux cœurs : ~21 min au lieu
# de ~35. TESTS_PROCESSUS=0 : un seul processus (pour lire un échec sans entrelacement) ;
# TESTS_PROCESSUS=N : N processus.
set -euo pipefail
cd "$(dirname "$0")/.."
export OMP_THREAD_LIMIT=1 DO_NOT_TRACK=1 PREFECT_SERVER_ANALYTICS_ENABLED=false
mkdir -p artefacts
# (nproc obéit à OMP_THREAD_LIMIT, posé plus haut pour Tesseract : on le lui retire.)
coeurs="$(env -u OMP_THREAD_LIMIT -u OMP_NUM_THREADS nproc 2>/dev/null || echo 1)"
processus="${TESTS_PROCESSUS:-$([ "$coeurs" -ge 2 ] && echo 2 || echo 0)}"
parallele=()
if [ "$processus" != 0 ]; then
    parallele=(--numprocesses "$processus" --dist loadfile)
fi
# Les 25 tests les plus longs en fin de passage : la suite vise moins de 20 minutes.
exec .venv/bin/python -m pytest "${parallele[@]}" --durations=25 "$@"
