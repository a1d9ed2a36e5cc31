#!/usr/bin/env bash
# Make Debian's headless-capable Chromium available: the report page's test
# (tests/render.rs) and scripts/screenshot-report.sh draw pages with it.
# Installs the `chromium` package when the command is absent; does nothing otherwise.
set -euo pipefail

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

if ! command -v chromium >/dev/null; then
    echo "installing chromium from Debian's packages"
    as_root apt-get update -qq
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq chromium >/dev/null
fi
echo "chromium ready: $(chromium --version 2>/dev/null || echo unknown version)"
