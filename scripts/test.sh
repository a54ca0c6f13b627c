#!/usr/bin/env bash
# Set up and run the test suite (slow tests excluded; run them with: scripts/test.sh -m slow).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/install-browser.sh   # Debian's chromium (apt, if missing) and playwright (pip) for the browser test
scripts/install-ocr.sh       # Debian's Tesseract with English and Russian (apt, if missing) for OCR
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
.venv/bin/ruff check .
.venv/bin/python -m pytest -m "not slow" -q "$@"
