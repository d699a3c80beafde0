#!/usr/bin/env bash
# Installs the peers of bench/run into bench/peers/ (git-ignored), from
# their registries through npm and pip, at the versions pinned in
# bench/peer-src/: node-oidc-provider and jose (npm, package-lock.json) and
# Authlib, Flask and gunicorn (PyPI, requirements.txt, in a venv). Does
# nothing when what is installed already matches the pins. Needs node >= 20
# and python3 >= 3.10.
set -euo pipefail
cd "$(dirname "$0")/.."
SRC=bench/peer-src
DEST=bench/peers
mkdir -p "$DEST/node"

command -v node >/dev/null && command -v npm >/dev/null || { echo "bench/peers.sh needs node and npm" >&2; exit 1; }
if ! cmp -s "$SRC/node/package-lock.json" "$DEST/node/.installed-lock"; then
  echo "installing the node peers (oidc-provider, jose) into $DEST/node…" >&2
  rm -rf "$DEST/node/node_modules"
  cp "$SRC/node/package.json" "$SRC/node/package-lock.json" "$DEST/node/"
  (cd "$DEST/node" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
  cp "$SRC/node/package-lock.json" "$DEST/node/.installed-lock"
fi
cp "$SRC"/node/*.mjs "$DEST/node/"

if ! cmp -s "$SRC/authlib/requirements.txt" "$DEST/authlib/.installed-requirements"; then
  echo "installing Authlib, Flask and gunicorn into $DEST/authlib (a venv)…" >&2
  rm -rf "$DEST/authlib"
  python3 -m venv "$DEST/authlib"
  "$DEST/authlib/bin/pip" install -q --disable-pip-version-check -r "$SRC/authlib/requirements.txt"
  cp "$SRC/authlib/requirements.txt" "$DEST/authlib/.installed-requirements"
fi
cp "$SRC/authlib/app.py" "$DEST/authlib/"
