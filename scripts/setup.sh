#!/usr/bin/env bash
# Create .venv and install ombuds with everything it needs, offline-safe at run time.
# torch is installed first, alone and pinned to the CPU build: an unpinned torch pulled in by
# sentence-transformers would be a multi-GB CUDA build.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet "torch==2.13.0"
# the test extra includes the milvus one (pymilvus, milvus-lite from PyPI): tests/test_milvus.py
# runs the Milvus backend on Milvus Lite, no server needed
.venv/bin/python -m pip install --quiet -e ".[test,milvus]"
