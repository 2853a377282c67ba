#!/usr/bin/env bash
# Build popeye v0.22.1 from the Go module proxy via the wrapper module in this
# directory (a plain `go install github.com/derailed/popeye@v0.22.1` fails here:
# it queries the proxy's @v/list, which is refused). Result is cached; the
# binary path is printed as the last stdout line.
set -euo pipefail

VERSION=v0.22.1
COMMIT=35b5549   # tag v0.22.1 = 35b554961dcdabfa7aba6bd070673c6c24c70884
OUT_DIR="${XDG_CACHE_HOME:-$HOME/.cache}/argodoctor/popeye-${VERSION}"
BIN="$OUT_DIR/popeye"

if [[ ! -x "$BIN" ]]; then
  mkdir -p "$OUT_DIR"
  cd "$(dirname "${BASH_SOURCE[0]}")"
  # Same ldflags as popeye's Makefile so `popeye version` reports the release.
  PKG=github.com/derailed/popeye/cmd
  # Build to a temp name, then rename, so an interrupted build leaves no binary.
  GOFLAGS=-mod=mod CGO_ENABLED=0 nice go build -trimpath -tags netgo \
    -ldflags "-s -w -X $PKG.version=$VERSION -X $PKG.commit=$COMMIT -X $PKG.date=n/a" \
    -o "$BIN.tmp.$$" . >&2
  mv -f "$BIN.tmp.$$" "$BIN"
fi
echo "$BIN"
