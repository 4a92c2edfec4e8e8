#!/usr/bin/env bash
# Lance la suite ; les artefacts (captures, exports) vont dans artefacts/.
# Deux processus de test (pytest-xdist), chacun prenant des fichiers entiers : les fixtures d'un
# module (la relève du corpus, les documents LibreOffice…) ne se font qu'une fois, et les tests
# d'un fichier s'enchaînent comme avant. TESTS_PROCESSUS=0 pour un seul processus, sans xdist.
set -euo pipefail
cd "$(dirname "$0")/.."
export OMP_THREAD_LIMIT=1 DO_NOT_TRACK=1 PREFECT_SERVER_ANALYTICS_ENABLED=false
mkdir -p artefacts
processus="${TESTS_PROCESSUS:-2}"
parallele=()
if [ "$processus" != 0 ]; then
    parallele=(--numprocesses "$processus" --dist loadfile)
fi
# Les 25 tests les plus longs en fin de passage : la suite vise moins de 20 minutes.
exec .venv/bin/python -m pytest "${parallele[@]}" --durations=25 "$@"
