#!/usr/bin/env bash
# Install what OCR of scanned PDFs needs (ingest/ocr.py): Debian's Tesseract with its English and
# Russian models (apt, only when the tesseract command is missing). The Python side (pytesseract,
# pypdfium2) comes with the project's dependencies.
set -euo pipefail
if ! command -v tesseract >/dev/null 2>&1; then
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
    tesseract-ocr tesseract-ocr-eng tesseract-ocr-rus >/dev/null
fi
