#!/usr/bin/env bash
# Renders a report directory's report.html in headless Chromium with the
# network cut off (every host name unresolvable, a dead proxy), and saves a
# screenshot: the page must draw everything from its own bytes.
# Installs Debian's chromium if missing.
#
#   scripts/render-report.sh REPORT_DIR [SCREENSHOT.png]
set -euo pipefail

dir=${1:?usage: render-report.sh REPORT_DIR [SCREENSHOT.png]}
png=${2:-$dir/report.png}
page=$(cd "$dir" && pwd)/report.html
[ -f "$page" ] || { echo "render-report: no report.html in $dir" >&2; exit 2; }
command -v chromium >/dev/null || { [ "$(id -u)" = 0 ] && apt-get install -y -qq chromium >/dev/null; }

chromium --headless --no-sandbox --disable-gpu --hide-scrollbars \
  --host-resolver-rules='MAP * ~NOTFOUND' --proxy-server='127.0.0.1:9' \
  --window-size=1000,3000 --screenshot="$png" "file://$page" >/dev/null 2>&1
[ -s "$png" ] || { echo "render-report: no screenshot" >&2; exit 1; }
echo "render-report: $png ($(stat -c %s "$png") bytes)"
