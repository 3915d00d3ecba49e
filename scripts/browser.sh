#!/usr/bin/env bash
# The headless browser the web app's tests drive: Debian's chromium, installed when missing
# (Playwright drives it through executable_path; no browser is downloaded from anywhere else).
# Prints the browser's path.
set -euo pipefail

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

find_browser() { command -v chromium || command -v chromium-browser || true; }

if [ -z "$(find_browser)" ]; then
    as_root apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >&2
fi
browser=$(find_browser)
[ -n "$browser" ] || { echo "error: chromium did not install" >&2; exit 1; }
echo "$browser"
