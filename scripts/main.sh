#!/usr/bin/env bash
# The main job: set up, build the index from the shipped corpus and the legal texts, serve the app
# on http://127.0.0.1:7860 (OMBUDS_HOST / OMBUDS_PORT to change).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/install-ocr.sh  # Tesseract for scanned PDFs (apt, if missing)
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
.venv/bin/ombuds ingest corpus ../shared/corpus
exec .venv/bin/ombuds serve --host "${OMBUDS_HOST:-127.0.0.1}" --port "${OMBUDS_PORT:-7860}"
