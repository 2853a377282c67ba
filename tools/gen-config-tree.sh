#!/usr/bin/env bash
# Regenerates argodoctor/argo/config-tree-<version>.json: the struct trees encoding/json decodes
# Argo's configuration into (config.Config, v1alpha1.ArtifactRepository), walked with reflect by
# `decodecheck schema` (tests/controlplane/argo/cmd/decodecheck/schema.go) at each pinned release:
#  - the controller oracle's release (tests/controlplane/argo/go.mod): built in that module, so the
#    tree comes from exactly the build list of the workflow-controller the integration tests run;
#  - each of $ARGO_RELEASES (module@version): schema.go in a throwaway module that requires
#    that release (the Go module proxy this project uses serves argo-workflows v3.7.18 and v4.0.5,
#    not v3.4-v3.6 or v4.1: their trees are not generated, see argodoctor/argo/go_decode.py).
# Needs Go and the module proxy; takes minutes per release (it compiles Argo's packages).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
src="$root/tests/controlplane/argo"
out="$root/argodoctor/argo"
ARGO_RELEASES=${ARGO_RELEASES-github.com/argoproj/argo-workflows/v4@v4.0.5}
export CGO_ENABLED=0 GOFLAGS=-buildvcs=false

write() {  # version, then the command printing the tree
  local version=$1; shift
  "$@" > "$out/config-tree-$version.json.tmp"
  mv "$out/config-tree-$version.json.tmp" "$out/config-tree-$version.json"
  echo "wrote argodoctor/argo/config-tree-$version.json" >&2
}

pinned=$(sed -n 's/^require github.com\/argoproj\/argo-workflows\/v3 \(v[^ ]*\)$/\1/p' "$src/go.mod")
(cd "$src" && write "$pinned" go run -mod=readonly ./cmd/decodecheck schema "$pinned")

for release in $ARGO_RELEASES; do
  module=${release%@*} version=${release#*@}
  tmp=$(mktemp -d)
  # schema.go alone (main.go calls APIs that change between releases, e.g. v4 has no Controller.Parse)
  sed "s#github.com/argoproj/argo-workflows/v3#$module#g" "$src/cmd/decodecheck/schema.go" > "$tmp/schema.go"
  printf 'package main\n\nimport "os"\n\nfunc main() { dumpSchema(os.Args[2]) }\n' > "$tmp/main.go"
  (cd "$tmp" && go mod init argodoctor.gen/configtree >/dev/null 2>&1 && GOFLAGS=-mod=mod go get "$release" \
     && GOFLAGS=-mod=mod go mod tidy && write "$version" go run -mod=mod . schema "$version")
  rm -rf "$tmp"
done
