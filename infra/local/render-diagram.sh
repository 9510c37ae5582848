#!/usr/bin/env bash
# Renders the architecture picture of the README: docs/architecture.dot (Graphviz) →
# docs/architecture.png. Offline when Graphviz's `dot` is present; otherwise installs Debian's
# `graphviz` with apt-get first. Check in both files after a change of the source.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$HUB_ROOT"

SRC=docs/architecture.dot
OUT=docs/architecture.png

if ! command -v dot >/dev/null 2>&1; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  log "installing graphviz (apt)"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends graphviz >/dev/null \
    || die "apt-get could not install graphviz"
fi

# -Gdpi: sharp on high-density screens; GitHub scales the image down to the page's width.
dot -Tpng -Gdpi=144 "$SRC" -o "$OUT"
log "rendered $OUT from $SRC ($(dot -V 2>&1 | sed 's/^dot - //'))"
