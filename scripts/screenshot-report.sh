#!/usr/bin/env bash
# The README's picture of the DPO's report (docs/report.png): `derbes report` run
# against a database with data (by default the demo's, made by scripts/demo.sh), the
# page drawn by headless Chromium at 1280 pixels wide, its first screens.
#
#   bash scripts/screenshot-report.sh [--db URL] [--map FILE] [--since DATE]
#       [--until DATE] [--lang kk|ru|en] [--out docs/report.png] [--height PX]
#   bash scripts/screenshot-report.sh --html PAGE.html [--out FILE.png]
#
# --html draws a page already written (any derbes page) instead of running the report.
# The period defaults to the 180 days up to today, so the demo's jobs, blocks and
# archives, made when it ran, fall inside it.
set -euo pipefail
cd "$(dirname "$0")/.."

db=${DATABASE_URL:-"postgres://postgres@127.0.0.1:5432/derbes_demo?sslmode=disable"}
map=${DERBES_MAP:-examples/datamap.toml}
until=$(date -u +%F)
since=$(date -u -d "$until - 180 days" +%F)
lang=en
out=docs/report.png
width=1280
height=2400
html=

while [ $# -gt 0 ]; do
    case "$1" in
        --db) db=$2; shift 2 ;;
        --map) map=$2; shift 2 ;;
        --since) since=$2; shift 2 ;;
        --until) until=$2; shift 2 ;;
        --lang) lang=$2; shift 2 ;;
        --out) out=$2; shift 2 ;;
        --height) height=$2; shift 2 ;;
        --html) html=$2; shift 2 ;;
        -h|--help) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "unknown argument: $1 (see --help)" >&2; exit 2 ;;
    esac
done

command -v chromium >/dev/null || {
    echo "chromium is not installed: run bash scripts/ensure-chromium.sh" >&2
    exit 1
}

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

if [ -z "$html" ]; then
    cargo build --locked --quiet
    derbes=${CARGO_TARGET_DIR:-target}/debug/derbes
    html=$scratch/report.html
    DERBES_MAP=$map "$derbes" --db "$db" report \
        --since "$since" --until "$until" --lang "$lang" --out "$html"
fi
[ -s "$html" ] || { echo "no page at $html" >&2; exit 1; }

mkdir -p "$(dirname "$out")"
page=$(realpath "$html")
# --no-sandbox: Chromium's sandbox cannot start as root in a container, as in CI.
timeout 120 chromium --headless --no-sandbox --disable-gpu --hide-scrollbars \
    --no-first-run --disable-extensions --disable-dev-shm-usage \
    --user-data-dir="$scratch/profile" \
    --screenshot="$scratch/page.png" --window-size="$width,$height" \
    "file://$page" 2>"$scratch/chromium.log" || {
    cat "$scratch/chromium.log" >&2
    exit 1
}
[ -s "$scratch/page.png" ] || { echo "chromium wrote no screenshot" >&2; cat "$scratch/chromium.log" >&2; exit 1; }
mv "$scratch/page.png" "$out"
echo "wrote $out (${width}x${height}) from $html"
