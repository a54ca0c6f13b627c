#!/usr/bin/env bash
# Install what tests/test_browser.py needs: Debian's Chromium (apt, only when /usr/bin/chromium
# is missing) and the Playwright Python package (pip, into .venv). Playwright's own browser
# download is never used: the test drives /usr/bin/chromium.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x /usr/bin/chromium ]; then
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
    chromium fonts-dejavu-core >/dev/null
fi
if [ ! -x .venv/bin/python ]; then
  scripts/setup.sh
fi
.venv/bin/python -m pip install --quiet "playwright>=1.45"
