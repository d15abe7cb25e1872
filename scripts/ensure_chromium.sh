#!/usr/bin/env bash
# The web UI's browser tests drive Debian's Chromium at /usr/bin/chromium
# (Playwright's own browser download does not work offline). Install it with
# apt when it is missing and we may; otherwise say so, and those tests skip.
set -euo pipefail
[ -x /usr/bin/chromium ] && exit 0
if [ "$(id -u)" -eq 0 ]; then SUDO=""
elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then SUDO="sudo"
else
    echo "note: /usr/bin/chromium is missing and apt needs root; the browser tests will be skipped" \
         "(install it with: sudo apt-get install chromium)" >&2
    exit 0
fi
if ! command -v apt-get >/dev/null; then
    echo "note: no apt-get here to install chromium; the browser tests will be skipped" >&2
    exit 0
fi
echo "installing Debian's chromium for the browser tests (apt-get)..." >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq chromium >/dev/null
