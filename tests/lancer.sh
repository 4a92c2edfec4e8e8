#!/usr/bin/env bash
# Lance la suite ; les artefacts (captures, exports) vont dans artefacts/.
set -euo pipefail
cd "$(dirname "$0")/.."
export OMP_THREAD_LIMIT=1 DO_NOT_TRACK=1 PREFECT_SERVER_ANALYTICS_ENABLED=false
mkdir -p artefacts
# Les 25 tests les plus longs en fin de passage : la suite vise moins de 20 minutes.
exec .venv/bin/python -m pytest --durations=25 "$@"
