#!/usr/bin/env bash
# Build the wheel and sdist, check them with twine, install the wheel NON-editable into a fresh
# venv (with --system-site-packages, so torch and PySide6 come from the machine; the wheel with
# --no-deps), and from a folder outside the checkout run what a user runs: `annotator --version`,
# `annotator demo --headless`, `annotator doctor`, `annotator install-desktop --user` and the
# screenshot script, checking that `annotator` and the window icon come from the installed copy.
#
#   bash packaging/check_wheel.sh            (needs: pip install build twine)
#
# Everything goes to a temporary folder that is removed at the end (KEEP=1 keeps it).
# Takes about a minute and a half on the 2-core development machine (most of it the screenshots).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PY=${PYTHON:-python3}
for mod in build twine; do
  "$PY" -c "import $mod" 2>/dev/null || {
    echo "check_wheel: the '$mod' module is missing: pip install build twine" >&2; exit 2; }
done
WORK=$(mktemp -d "${TMPDIR:-/tmp}/avs-check-wheel.XXXXXX")
[ "${KEEP:-}" = 1 ] || trap 'rm -rf "$WORK"' EXIT
START=$(date +%s)
step() { echo "== $* ($(( $(date +%s) - START )) s)"; }

step "build wheel and sdist"
"$PY" -m build --outdir "$WORK/dist" "$ROOT" > "$WORK/build.log" 2>&1 \
  || { tail -20 "$WORK/build.log"; echo "check_wheel: the build failed ($WORK/build.log)" >&2; exit 1; }
"$PY" -m twine check --strict "$WORK"/dist/*
WHEEL=$(ls "$WORK"/dist/*.whl)
"$PY" - "$WHEEL" <<'EOF'
import sys
import zipfile

names = set(zipfile.ZipFile(sys.argv[1]).namelist())
need = ["annotator/resources/icons/avs-annotator.svg", "annotator/resources/avs-annotator.desktop",
        "annotator/resources/avs-annotator-mime.xml", "annotator/resources/default-settings.json",
        "xmem/__init__.py"]
missing = [n for n in need if n not in names]
assert not missing, f"not in the wheel: {missing}"
EOF

step "fresh venv, the wheel installed non-editable"
"$PY" -m venv --system-site-packages "$WORK/venv"
VPY="$WORK/venv/bin/python"
"$VPY" -m pip install -q --no-deps --no-index "$WHEEL"
export PATH="$WORK/venv/bin:$PATH"
export AVS_ANNOTATOR_CONFIG_DIR="$WORK/config" AVS_ANNOTATOR_DATA_DIR="$WORK/data"
export AVS_ANNOTATOR_LOG_DIR="$WORK/logs" AVS_ANNOTATOR_SETTINGS="$WORK/qt-settings.ini"
export XDG_DATA_HOME="$WORK/share" QT_QPA_PLATFORM=offscreen TMPDIR="$WORK/tmp"
mkdir -p "$TMPDIR"   # the screenshot script leaves its temporary project there
mkdir -p "$WORK/outside" && cd "$WORK/outside"   # nothing of the checkout on sys.path

[ "$(command -v annotator)" = "$WORK/venv/bin/annotator" ] \
  || { echo "check_wheel: annotator resolves to $(command -v annotator), not the venv" >&2; exit 1; }
SITE=$("$VPY" -c "import sysconfig; print(sysconfig.get_paths()['purelib'])")
"$VPY" - "$SITE" <<'EOF'
import sys
from pathlib import Path

import annotator
import xmem

site = Path(sys.argv[1]).resolve()
for mod in (annotator, xmem):
    where = Path(mod.__file__).resolve()
    assert where.is_relative_to(site), f"{mod.__name__} comes from {where}, not {site}"
print(f"annotator {annotator.__version__} and xmem from {site}")
EOF

step "annotator --version"
annotator --version | tee "$WORK/version.txt"
grep -qx "annotator $("$VPY" -c 'import annotator; print(annotator.__version__)')" "$WORK/version.txt"

step "annotator demo --headless"
annotator demo --headless --dir "$WORK/demo" | tee "$WORK/demo.txt"
[ -f "$WORK/demo/demo.avsproj/project.avs" ] || { echo "check_wheel: no demo project" >&2; exit 1; }

step "annotator doctor"
annotator doctor --no-load

step "annotator install-desktop --user"
annotator install-desktop --user
grep -q "^Exec=$WORK/venv/bin/annotator open %f$" "$XDG_DATA_HOME/applications/avs-annotator.desktop"
if command -v desktop-file-validate > /dev/null; then
  desktop-file-validate "$XDG_DATA_HOME/applications/avs-annotator.desktop"
fi

step "window icon from the installed package"
"$VPY" - "$SITE" <<'EOF'
import sys
from pathlib import Path

from annotator.gui.app import application
from annotator.gui.main_window import MainWindow

app = application()
win = MainWindow()
win.show()
app.processEvents()
icon = Path(app.property("iconPath")).resolve()
site = Path(sys.argv[1]).resolve()
assert icon.is_relative_to(site / "annotator" / "resources"), f"icon from {icon}, not {site}"
assert not win.windowIcon().pixmap(64, 64).isNull(), "the window icon did not load"
print(f"window icon: {icon}")
win.close()
EOF

step "scripts/screenshots.py (offscreen)"
"$VPY" "$ROOT/scripts/screenshots.py" "$WORK/shots" --sizes 1024x640 > "$WORK/shots.txt"
n=$(ls "$WORK/shots"/*.png | wc -l)
[ "$n" -ge 6 ] || { cat "$WORK/shots.txt"; echo "check_wheel: only $n screenshots" >&2; exit 1; }
echo "$n screenshots"

step "check_wheel: all passed"
