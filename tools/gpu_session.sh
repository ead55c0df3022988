#!/usr/bin/env bash
# One GPU session in one call (about 9 minutes): device and versions, the offline unit tests + the gpu tests, the
# training bench, and round 0 + one pruned round of the paper's batches on an ImageNet32-sized stand-in generated on
# the device, extrapolated to the full 11-round reproduction. Results: $OUT/bench/results/<device>-<YYYY-MM-DD>.json
# (OUT defaults to _build/gpu-session). Extra arguments go to tools/gpu_session.py (e.g. --smoke, --budget 120).
# Needs a Python with the CUDA build of torch and requirements.txt installed (.venv/bin/python if there is one).
set -euo pipefail
cd "$(dirname "$(readlink -f "$0")")/.."  # the repository root, also when called through a link
PYTHON=${PYTHON:-$( [ -x .venv/bin/python ] && echo .venv/bin/python || echo python3 )}
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONHASHSEED=0
exec timeout --signal=INT "${SESSION_TIMEOUT:-560}" "$PYTHON" tools/gpu_session.py "$@"
