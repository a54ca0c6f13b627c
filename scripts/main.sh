#!/usr/bin/env bash
# The main job: set up, ingest the shipped corpus and the legal texts, and show the result.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
.venv/bin/ombuds ingest corpus ../shared/corpus
.venv/bin/ombuds documents
