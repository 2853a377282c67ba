#!/usr/bin/env bash
# The one test command: installs what the tests need (Python packages into .venv, the
# Go-built etcd, kube-apiserver, S3 server and Pushgateway into ~/.cache/argodoctor, Debian's
# chromium for tests/browser, buildah and mmdebstrap for the image test, Microsoft's SARIF
# validator from npm into ~/.cache/argodoctor) and runs the whole suite. Each install step is
# skipped when its result is already there. Extra arguments go to pytest; `bash tests/run.sh
# tests/unit` needs no Go (the servers are built only when integration tests are selected).
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e '.[test]'
# The Go-built servers, Chromium and buildah serve tests/integration and tests/browser only: when
# every path given is under tests/unit (`bash tests/run.sh tests/unit`), none of them is needed.
only_unit=false
paths=()
for a in "$@"; do [[ "$a" == -* ]] || paths+=("$a"); done
if [ ${#paths[@]} -gt 0 ]; then
  only_unit=true
  for p in "${paths[@]}"; do [[ "$p" == tests/unit* ]] || only_unit=false; done
fi
bin_dir=""
if ! $only_unit; then
  bin_dir=$(bash tests/controlplane/build.sh)
  echo "test servers: $bin_dir"
fi

# tests/browser: headless Chromium from Debian (installing it needs root).
if ! $only_unit && ! command -v chromium >/dev/null; then
  if [ "$(id -u)" -eq 0 ]; then
    echo "installing chromium (apt-get) ..." >&2
    if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }; then
      echo "apt-get install chromium failed: tests/browser will skip (a failure under CI=true)" >&2
    fi
  else
    echo "chromium is not installed and this is not root: run 'sudo apt-get install chromium'," \
         "else tests/browser skip (a failure under CI=true)" >&2
  fi
fi

# tests/integration/test_image.py: buildah (builds and runs the image without a Docker engine) and
# mmdebstrap (a Debian base with python3 when the default base image cannot be pulled), from Debian.
if ! $only_unit && { ! command -v buildah >/dev/null || ! command -v mmdebstrap >/dev/null; }; then
  if [ "$(id -u)" -eq 0 ]; then
    echo "installing buildah and mmdebstrap (apt-get) ..." >&2
    if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq buildah mmdebstrap >/dev/null; }; then
      echo "apt-get install buildah mmdebstrap failed: the image test will skip (a failure under CI=true)" >&2
    fi
  else
    echo "buildah or mmdebstrap is not installed and this is not root: run 'sudo apt-get install buildah" \
         "mmdebstrap', else the image test skips (a failure under CI=true)" >&2
  fi
fi

# tests/unit/test_table_terminal.py: tmux, the real terminal the table is captured in (Debian's).
if ! command -v tmux >/dev/null; then
  if [ "$(id -u)" -eq 0 ]; then
    echo "installing tmux (apt-get) ..." >&2
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq tmux >/dev/null; } ||
      echo "apt-get install tmux failed: the terminal test will skip (a failure under CI=true)" >&2
  else
    echo "tmux is not installed and this is not root: run 'sudo apt-get install tmux'" >&2
  fi
fi

# tests/unit/test_formats.py: Microsoft's SARIF validator, pinned, both the wrapper and the
# platform package that holds the self-contained .NET binary (the test runs that binary directly).
SARIF_MULTITOOL_VERSION=5.7.0
sarif_dir="${ARGODOCTOR_CACHE:-$HOME/.cache/argodoctor}/sarif-multitool/$SARIF_MULTITOOL_VERSION"
sarif_bin="$sarif_dir/node_modules/@microsoft/sarif-multitool-linux/Sarif.Multitool"
if [ ! -x "$sarif_bin" ]; then
  if command -v npm >/dev/null; then
    echo "installing @microsoft/sarif-multitool@$SARIF_MULTITOOL_VERSION (npm) ..." >&2
    rm -rf "$sarif_dir.tmp" && mkdir -p "$sarif_dir.tmp"
    # --ignore-scripts: its only script is `chmod u+x` on the binary, done here instead
    if npm install --prefix "$sarif_dir.tmp" --no-save --no-package-lock --no-audit --no-fund --ignore-scripts \
         --loglevel=error "@microsoft/sarif-multitool@$SARIF_MULTITOOL_VERSION" \
         "@microsoft/sarif-multitool-linux@$SARIF_MULTITOOL_VERSION" >&2; then
      chmod u+x "$sarif_dir.tmp/node_modules/@microsoft/sarif-multitool-linux/Sarif.Multitool"
      rm -rf "$sarif_dir" && mv "$sarif_dir.tmp" "$sarif_dir"
    else
      rm -rf "$sarif_dir.tmp"
      echo "npm install of the SARIF validator failed: its test will skip (a failure under CI=true)" >&2
    fi
  else
    echo "npm is not installed: the SARIF validator test will skip (a failure under CI=true)" >&2
  fi
fi

.venv/bin/ruff check .
if [ -n "$bin_dir" ]; then export ARGODOCTOR_BIN_DIR="$bin_dir"; fi
ARGODOCTOR_SARIF_MULTITOOL="$sarif_bin" .venv/bin/python -m pytest -ra "$@"
