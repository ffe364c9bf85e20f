#!/usr/bin/env bash
# Regenerates docs/render.png: the bundled model's real output on examples/sample.txt, as
# `viextract extract --format html` renders it, screenshotted by headless Chromium.
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python -c "import sys; from viextract.cli import main; sys.exit(main())" \
    extract examples/sample.txt --format html > "$work/sample.html"
timeout 120 chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync \
    --user-data-dir="$work/profile" --hide-scrollbars --window-size=1000,610 \
    --screenshot="$work/render.png" "file://$work/sample.html" > /dev/null 2>&1
cp "$work/render.png" docs/render.png
ls -l docs/render.png
