# Shared by scripts/app and scripts/test: make .venv with a known interpreter and pinned packages.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
# Debian's interpreter first, so CI and developers test the same Python (TESTING-NOTES).
PYTHON="${IONTO_PYTHON:-}"
if [ -z "$PYTHON" ]; then
  for candidate in /usr/bin/python3.11 /usr/bin/python3 python3.11 python3; do
    if command -v "$candidate" >/dev/null 2>&1; then PYTHON="$candidate"; break; fi
  done
fi
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
# Install (quietly) only when the project or the pins changed since the last install.
stamp=.venv/.ionto-installed
want="$(cat pyproject.toml constraints.txt | sha256sum | cut -d' ' -f1)"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  .venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip
  .venv/bin/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e ".[test]"
  echo "$want" > "$stamp"
fi
