#!/usr/bin/env bash
# Makes sure the binaries of the loopback Kubernetes test cluster (scripts/k8s-testcluster-lib.mjs) are in
# ${RALPH_K8S_BIN:-$HOME/.cache/ralph/k8s-v1.34.4/bin}, building the missing ones with Go:
#   kube-apiserver, kube-controller-manager, kube-scheduler, kubelet  (k8s.io/kubernetes v1.34.4)
#   etcd                                                              (go.etcd.io/etcd/server/v3 v3.6.16)
#   kwok                                                              (sigs.k8s.io/kwok v0.8.0)
# Each binary has a stamp file (.<name>.version) written after it was built and moved into place; a
# binary without a matching stamp, or one whose --version does not run, is rebuilt. Exits non-zero, with
# go's own error, when a build fails. Needs Go 1.26 or newer (kwok v0.8.0 and etcd v3.6.16 declare go 1.26).
# The real node (containerd, runc, the pause image) is installed by scripts/install-k8s-node.sh.
set -euo pipefail

K8S_VERSION="v1.34.4"
STAGING_VERSION="v0.34.4"
ETCD_VERSION="v3.6.16"
KWOK_VERSION="v0.8.0"
BIN_DIR="${RALPH_K8S_BIN:-$HOME/.cache/ralph/k8s-$K8S_VERSION/bin}"

K8S_BINARIES=(kube-apiserver kube-controller-manager kube-scheduler kubelet)

log() { echo "install-k8s: $*"; }
fail() {
  echo "install-k8s: FAILED: $*" >&2
  exit 1
}

# The version a binary must report in its --version output ('' = only that it runs).
expected_output() {
  case "$1" in
    kube-* | kubelet) echo "$K8S_VERSION" ;;
    etcd) echo "${ETCD_VERSION#v}" ;;
    *) echo "" ;;
  esac
}

expected_stamp() {
  case "$1" in
    kube-* | kubelet) echo "k8s.io/kubernetes $K8S_VERSION" ;;
    etcd) echo "go.etcd.io/etcd/server/v3 $ETCD_VERSION" ;;
    kwok) echo "sigs.k8s.io/kwok $KWOK_VERSION" ;;
  esac
}

# Succeeds when $1 is installed, stamped with the expected version and reports it.
is_current() {
  local name="$1" bin="$BIN_DIR/$1" stamp="$BIN_DIR/.$1.version" out want
  [ -x "$bin" ] && [ -f "$stamp" ] || return 1
  [ "$(cat "$stamp")" = "$(expected_stamp "$name")" ] || return 1
  out="$("$bin" --version 2>&1 | head -n 3)" || return 1
  want="$(expected_output "$name")"
  [ -z "$want" ] || [[ "$out" == *"$want"* ]] || return 1
}

# Moves freshly built binaries from $1 into BIN_DIR, then stamps them.
install_from() {
  local from="$1" name
  shift
  for name in "$@"; do
    [ -x "$from/$name" ] || fail "the build did not produce $name"
    rm -f "$BIN_DIR/.$name.version"
    mv -f "$from/$name" "$BIN_DIR/$name"
    expected_stamp "$name" >"$BIN_DIR/.$name.version"
    is_current "$name" || fail "$BIN_DIR/$name was built but does not report $(expected_output "$name"): $("$BIN_DIR/$name" --version 2>&1 | head -n 3)"
    log "installed $BIN_DIR/$name"
  done
}

# Runs a go command in $work with its output in $work/go.log; prints that log and fails when it fails.
run_go() {
  local what="$1"
  shift
  if ! (cd "$work" && "$@") >>"$work/go.log" 2>&1; then
    cat "$work/go.log" >&2
    fail "$what (go output above)"
  fi
}

# Sets `todo` to those of the named binaries that need building.
check() {
  local name
  todo=()
  for name in "$@"; do
    if is_current "$name"; then
      log "using $BIN_DIR/$name ($(expected_stamp "$name"))"
    else
      todo+=("$name")
    fi
  done
}

command -v go >/dev/null 2>&1 || fail "the Go toolchain (go) is not installed"
mkdir -p "$BIN_DIR"
export CGO_ENABLED=0 GOFLAGS=-mod=mod

workroot="$(mktemp -d)"
trap 'rm -rf "$workroot"' EXIT

# k8s.io/kubernetes replaces its staging modules (k8s.io/api, k8s.io/client-go, ...) with directories of its
# own repository, so `go install` refuses it. A throwaway main module requires it and points each staging
# module, as listed in its go.mod, at the published release of the same minor version.
build_kubernetes() {
  local names=("$@") work="$workroot/kubernetes" gomod go_line godebug_line staging pkgs=() name
  mkdir -p "$work/out"
  log "building ${names[*]} from k8s.io/kubernetes@$K8S_VERSION (a cold build takes about 10 minutes)"
  if ! (cd "$work" && go mod download -json "k8s.io/kubernetes@$K8S_VERSION") >"$work/download.json" 2>"$work/go.log"; then
    cat "$work/download.json" "$work/go.log" >&2
    fail "go mod download k8s.io/kubernetes@$K8S_VERSION (go output above)"
  fi
  gomod="$(sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",\{0,1\}$/\1/p' "$work/download.json")"
  [ -f "$gomod" ] || fail "cannot find the go.mod of k8s.io/kubernetes@$K8S_VERSION in go's output"
  staging="$(sed -n 's#^[[:space:]]*\(k8s\.io/[a-z0-9-]*\) => \./staging/src/k8s\.io/[a-z0-9-]*$#\1#p' "$gomod")"
  [ -n "$staging" ] || fail "no staging replace directives found in $gomod"
  go_line="$(grep -m1 '^go ' "$gomod")"
  godebug_line="$(grep -m1 '^godebug ' "$gomod" || true)"
  {
    echo "module ralph.local/k8sbuild"
    echo
    echo "$go_line"
    [ -z "$godebug_line" ] || echo "$godebug_line"
    echo
    echo "require k8s.io/kubernetes $K8S_VERSION"
    echo
    echo "replace ("
    while read -r mod; do echo "	$mod => $mod $STAGING_VERSION"; done <<<"$staging"
    echo ")"
  } >"$work/go.mod"
  {
    printf '//go:build tools\n\npackage tools\n\nimport (\n'
    for name in "${names[@]}"; do printf '\t_ "k8s.io/kubernetes/cmd/%s"\n' "$name"; done
    printf ')\n'
  } >"$work/tools.go"
  for name in "${names[@]}"; do pkgs+=("k8s.io/kubernetes/cmd/$name"); done
  run_go "go mod tidy for k8s.io/kubernetes@$K8S_VERSION" go mod tidy
  local major="${K8S_VERSION#v}"
  major="${major%%.*}"
  local minor="${K8S_VERSION#v*.}"
  minor="${minor%%.*}"
  local pkg="k8s.io/component-base/version"
  run_go "go build ${names[*]}" go build \
    -ldflags "-s -w -X $pkg.gitVersion=$K8S_VERSION -X $pkg.gitMajor=$major -X $pkg.gitMinor=$minor -X $pkg.gitTreeState=clean" \
    -o "$work/out/" "${pkgs[@]}"
  install_from "$work/out" "${names[@]}"
}

# etcd's server module replaces its sibling modules with relative paths as well; the throwaway module
# requires the released siblings of the same version instead.
build_etcd() {
  local work="$workroot/etcd"
  mkdir -p "$work/out"
  log "building etcd from go.etcd.io/etcd/server/v3@$ETCD_VERSION"
  cat >"$work/go.mod" <<GOMOD
module ralph.local/etcdbuild

go 1.26.0

require (
	go.etcd.io/etcd/api/v3 $ETCD_VERSION
	go.etcd.io/etcd/client/pkg/v3 $ETCD_VERSION
	go.etcd.io/etcd/client/v3 $ETCD_VERSION
	go.etcd.io/etcd/pkg/v3 $ETCD_VERSION
	go.etcd.io/etcd/server/v3 $ETCD_VERSION
)
GOMOD
  printf '//go:build tools\n\npackage tools\n\nimport _ "go.etcd.io/etcd/server/v3"\n' >"$work/tools.go"
  run_go "go mod tidy for go.etcd.io/etcd/server/v3@$ETCD_VERSION" go mod tidy
  run_go "go build etcd" go build -ldflags "-s -w" -o "$work/out/etcd" go.etcd.io/etcd/server/v3
  install_from "$work/out" etcd
}

build_kwok() {
  local work="$workroot/kwok"
  mkdir -p "$work/out"
  log "go install sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION"
  run_go "go install sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION" env GOBIN="$work/out" GOFLAGS= \
    go install -ldflags "-s -w" "sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION"
  install_from "$work/out" kwok
}

started=$SECONDS
check "${K8S_BINARIES[@]}"
[ "${#todo[@]}" -eq 0 ] || build_kubernetes "${todo[@]}"
check etcd
[ "${#todo[@]}" -eq 0 ] || build_etcd
check kwok
[ "${#todo[@]}" -eq 0 ] || build_kwok
log "binaries in $BIN_DIR (took $((SECONDS - started))s)"
