#!/usr/bin/env bash
# The one test command: installs what the tests need (Python packages into .venv, the
# Go-built etcd, kube-apiserver and S3 server into ~/.cache/argodoctor) and runs the whole
# suite. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e '.[test]'
bin_dir=$(bash tests/controlplane/build.sh)
echo "test servers: $bin_dir"
.venv/bin/ruff check .
ARGODOCTOR_BIN_DIR="$bin_dir" .venv/bin/python -m pytest -ra "$@"
