#!/usr/bin/env bash
# Builds the test control plane (etcd, kube-apiserver, kube-controller-manager,
# kube-scheduler), the fake-node simulator (kwok) and the S3 server (versitygw) from
# the Go module proxy. kwok's default Stage manifests (node-initialize, node heartbeat
# with lease, pod ready/complete/delete), taken from the pinned kwok module, are
# written beside the binaries as kwok-stages.yaml. Argo's workflow-controller is built from
# the module in argo/ (Argo pins k8s.io/* v0.33, this module v0.35) and helm v3 by
# `go install`; both carry their release's version ldflags. The Prometheus Pushgateway
# (for `check --push-gateway`) is built the same way, with its version ldflags. Argo's executor,
# argoexec, is built from the same module as the controller (argo/tools.go keeps its packages in
# the build list), against a copy of Argo's module with the symlinks its zip drops restored. decodecheck
# (argo/cmd/decodecheck) decodes Argo's configuration with that same Argo module's code, and
# decodecheck-v4 the same source with Argo v4.0.5's (argo-v4/go.mod).
# Binaries are cached outside the repo, keyed by the pinned versions:
#   ${ARGODOCTOR_CACHE:-~/.cache/argodoctor}/controlplane/<key>/
# Prints that directory on stdout; progress goes to stderr.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
K8S_VERSION=v1.35.4
ETCD_VERSION=v3.6.5
VERSITYGW_VERSION=v1.8.0
KWOK_VERSION=v0.8.0  # no replace directives in its go.mod: `go install pkg@version` works
ARGO_VERSION=v3.7.18  # must match the require in argo/go.mod
HELM_VERSION=v3.22.0  # no replace directives in its go.mod: `go install pkg@version` works
PUSHGATEWAY_VERSION=v1.11.3  # newest the module proxy serves; no replace directives either
if ! grep -Eq "^(require )?[[:space:]]*github.com/argoproj/argo-workflows/v3 $ARGO_VERSION\$" "$here/argo/go.mod"; then
  echo "ARGO_VERSION=$ARGO_VERSION but argo/go.mod requires another version" >&2; exit 1
fi
sums=$(cat "$here/go.sum" "$here/argo/go.sum" | sha256sum | cut -c1-12)
key="k8s-${K8S_VERSION}_etcd-${ETCD_VERSION}_versitygw-${VERSITYGW_VERSION}_kwok-${KWOK_VERSION}_argo-${ARGO_VERSION}_helm-${HELM_VERSION}_pushgateway-${PUSHGATEWAY_VERSION}_$sums"
out="${ARGODOCTOR_CACHE:-$HOME/.cache/argodoctor}/controlplane/$key"
want="etcd kube-apiserver kube-controller-manager kube-scheduler versitygw kwok kwok-stages.yaml workflow-controller argoexec decodecheck decodecheck-v4 helm pushgateway"
missing=""
for b in $want; do [ -s "$out/$b" ] || missing="$missing $b"; done
# decodecheck (Argo v3.7.18, module argo/) and decodecheck-v4 (v4.0.5, module argo-v4/) are this repo's
# own code: rebuilt when their sources or module pins change (a stamp beside each), without changing
# the key (which would rebuild everything)
stamp() { cat "$here"/argo/cmd/decodecheck/*.go "$here/$1/go.mod" "$here/$1/go.sum" | sha256sum | cut -c1-12; }
declare -A stamps=([decodecheck]=$(stamp argo) [decodecheck-v4]=$(stamp argo-v4))
for b in "${!stamps[@]}"; do
  if [ "$(cat "$out/$b.src" 2>/dev/null)" != "${stamps[$b]}" ] && [[ " $missing " != *" $b "* ]]; then
    missing="$missing $b"
  fi
done
if [ -z "$missing" ]; then echo "$out"; exit 0; fi

mkdir -p "$out.tmp"
start=$(date +%s)
# Argo's binaries: argo's Makefile's version ldflags (version, buildDate, gitCommit, gitTreeState,
# gitTag: a clean tagged build reports the tag as its version); commit and date from the module
# proxy's record of the release; adir = the module's (read-only) directory in the module cache
av=github.com/argoproj/argo-workflows/v3
argo_ldflags() {
  local info commit date
  info=$(cd / && GOFLAGS= go mod download -json "$av@$ARGO_VERSION")
  commit=$(sed -n 's/^[[:space:]]*"Hash": "\(.*\)",*$/\1/p' <<<"$info")
  date=$(sed -n 's/.*"Time":"\([^"]*\)".*/\1/p' "$(sed -n 's/^[[:space:]]*"Info": "\(.*\)",$/\1/p' <<<"$info")")
  adir=$(sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p' <<<"$info")
  aflags="-s -w -X $av.version=$ARGO_VERSION -X $av.buildDate=${date:-1970-01-01T00:00:00Z} -X $av.gitCommit=$commit -X $av.gitTreeState=clean -X $av.gitTag=$ARGO_VERSION"
}
minor=${K8S_VERSION#v1.}; minor=${minor%%.*}
kv=k8s.io/component-base/version
kflags="-s -w -X $kv.gitVersion=$K8S_VERSION -X $kv.gitMajor=1 -X $kv.gitMinor=$minor -X $kv.gitTreeState=clean -X $kv.buildDate=1970-01-01T00:00:00Z"
cd "$here"
export CGO_ENABLED=0 GOFLAGS=-mod=mod
for b in $missing; do
  echo "building $b ..." >&2
  case $b in
    etcd) go build -trimpath -ldflags "-s -w" -o "$out.tmp/etcd" go.etcd.io/etcd/server/v3 ;;
    versitygw) GOBIN="$out.tmp" go install -trimpath -ldflags "-s -w" "github.com/versity/versitygw/cmd/versitygw@$VERSITYGW_VERSION" ;;
    kwok) GOBIN="$out.tmp" go install -trimpath -ldflags "-s -w" "sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION" ;;
    kwok-stages.yaml)
      src=$(cd / && GOFLAGS= go mod download -json "sigs.k8s.io/kwok@$KWOK_VERSION" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
      st="$src/kustomize/stage"
      for f in node/fast/node-initialize.yaml node/heartbeat-with-lease/node-heartbeat-with-lease.yaml \
               pod/fast/pod-ready.yaml pod/fast/pod-complete.yaml pod/fast/pod-delete.yaml; do
        echo "---"; cat "$st/$f"
      done > "$out.tmp/kwok-stages.yaml" ;;
    workflow-controller)
      argo_ldflags
      (cd "$here/argo" && GOFLAGS="-mod=readonly -buildvcs=false" go build -trimpath -o "$out.tmp/workflow-controller" \
        -ldflags "$aflags" "$av/cmd/workflow-controller") ;;
    argoexec)
      # The module zip lacks what Argo's repository holds as symlinks (module zips drop them):
      # at v3.7.18 (`git ls-tree -r v3.7.18 | grep ^120000`) the only one in Go code is
      # workflow/executor/osspecific/signal_linux.go -> signal_darwin.go (without it: "undefined:
      # Setpgid"); the others are test/e2e YAML files and workflow/executor/testdata/link. So
      # argoexec is built against a copy of the module with that file restored as what the symlink
      # means (a copy of its target), by a `replace` in a copy of argo/'s go.mod (a local directory
      # needs no go.sum lines; every other module keeps argo/go.sum's pins, the controller's).
      argo_ldflags
      src=$(mktemp -d)
      cp -r "$adir" "$src/argo-workflows" && chmod -R u+w "$src/argo-workflows"
      for link in workflow/executor/osspecific/signal_linux.go=signal_darwin.go; do
        f="$src/argo-workflows/${link%%=*}"
        if [ -e "$f" ]; then echo "argoexec: $f is in the module zip; is it still a symlink at $ARGO_VERSION?" >&2; exit 1; fi
        cp "$(dirname "$f")/${link#*=}" "$f"
      done
      mkdir "$src/mod" && cp "$here/argo/go.mod" "$here/argo/go.sum" "$here/argo/tools.go" "$src/mod/"
      (cd "$src/mod" && go mod edit -replace "$av=$src/argo-workflows" && \
        GOFLAGS="-mod=readonly -buildvcs=false" go build -trimpath -o "$out.tmp/argoexec" -ldflags "$aflags" "$av/cmd/argoexec")
      rm -rf "$src" ;;
    decodecheck)
      # the test helper that decodes Argo's configuration with Argo's own code (argo/cmd/decodecheck)
      (cd "$here/argo" && GOFLAGS="-mod=readonly -buildvcs=false" go build -trimpath -ldflags "-s -w" \
        -o "$out.tmp/decodecheck" ./cmd/decodecheck) ;;
    decodecheck-v4)
      # the same helper against Argo v4.0.5: its sources with the v4 module path, built in argo-v4's pins
      src=$(mktemp -d)
      for f in "$here"/argo/cmd/decodecheck/*.go; do
        sed 's#github.com/argoproj/argo-workflows/v3#github.com/argoproj/argo-workflows/v4#g' "$f" > "$src/${f##*/}"
      done
      cp "$here/argo-v4/go.mod" "$here/argo-v4/go.sum" "$src/"
      (cd "$src" && GOFLAGS="-mod=readonly -buildvcs=false" go build -trimpath -ldflags "-s -w" \
        -o "$out.tmp/decodecheck-v4" .)
      rm -rf "$src" ;;
    helm)
      # helm's Makefile: its version, and the Kubernetes version of its client-go (major + 1)
      # as the default capabilities of `helm template` and of the deprecation lint
      mod=$(cd / && GOFLAGS= go mod download -json "helm.sh/helm/v3@$HELM_VERSION" | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",$/\1/p')
      kminor=$(sed -n 's/^[[:space:]]*k8s.io\/client-go v0\.\([0-9]*\)\..*/\1/p' "$mod")
      hv=helm.sh/helm/v3
      GOFLAGS= GOBIN="$out.tmp" go install -trimpath -ldflags \
        "-s -w -X $hv/internal/version.version=$HELM_VERSION -X $hv/internal/version.gitTreeState=clean -X $hv/pkg/lint/rules.k8sVersionMajor=1 -X $hv/pkg/lint/rules.k8sVersionMinor=$kminor -X $hv/pkg/chartutil.k8sVersionMajor=1 -X $hv/pkg/chartutil.k8sVersionMinor=$kminor" \
        "$hv/cmd/helm@$HELM_VERSION" ;;
    pushgateway)
      # its .promu.yml: the version and revision into prometheus/common/version
      # Built inside its downloaded module (with its go.sum): `go install pkg@version` would also
      # read the module's version list for deprecations, which the proxy does not serve for it.
      info=$(cd / && GOFLAGS= go mod download -json "github.com/prometheus/pushgateway@$PUSHGATEWAY_VERSION")
      commit=$(sed -n 's/^[[:space:]]*"Hash": "\(.*\)",*$/\1/p' <<<"$info")
      dir=$(sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p' <<<"$info")
      pv=github.com/prometheus/common/version
      (cd "$dir" && GOFLAGS=-mod=readonly go build -trimpath -o "$out.tmp/pushgateway" -ldflags \
        "-s -w -X $pv.Version=${PUSHGATEWAY_VERSION#v} -X $pv.Revision=$commit -X $pv.Branch=HEAD -X $pv.BuildUser=argodoctor -X $pv.BuildDate=19700101-00:00:00" \
        .) ;;
    *) go build -trimpath -ldflags "$kflags" -o "$out.tmp/$b" "k8s.io/kubernetes/cmd/$b" ;;
  esac
done
mkdir -p "$out"
for b in $missing; do mv "$out.tmp/$b" "$out/$b"; done
for b in "${!stamps[@]}"; do [[ " $missing " != *" $b "* ]] || echo "${stamps[$b]}" > "$out/$b.src"; done
rmdir "$out.tmp" 2>/dev/null || true
echo "built$missing in $(( $(date +%s) - start ))s" >&2
echo "$out"
