#!/usr/bin/env bash
# Makes sure the real node of the loopback Kubernetes test cluster (startTestCluster({ realNode: true }) in
# scripts/k8s-testcluster-lib.mjs) can run on this machine:
#   containerd, runc      Debian/Ubuntu packages, installed with apt-get when missing (needs root)
#   busybox-static        the same way: the real-node test builds its container image from /bin/busybox
#   pause                 a static Go program (sleeps until SIGTERM/SIGINT, reaps children), built into
#                         ${RALPH_K8S_BIN:-$HOME/.cache/ralph/k8s-v1.34.4/bin}/pause
#   pause.oci.tar         the sandbox image localhost/ralph/pause:1.0 holding it, as an OCI archive next to it:
#                         no registry is needed, the cluster imports it into its containerd
# The kubelet itself is built by scripts/install-k8s.sh (run that first). Running the real node needs root too.
# Exits non-zero, with the failing command's output, when something cannot be installed or built.
set -euo pipefail

K8S_VERSION="v1.34.4"
BIN_DIR="${RALPH_K8S_BIN:-$HOME/.cache/ralph/k8s-$K8S_VERSION/bin}"
PAUSE_STAMP="ralph pause 1"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

log() { echo "install-k8s-node: $*"; }
fail() {
  echo "install-k8s-node: FAILED: $*" >&2
  exit 1
}

# Debian package names of the commands the node needs.
missing_packages=()
command -v containerd >/dev/null 2>&1 && command -v ctr >/dev/null 2>&1 &&
  command -v containerd-shim-runc-v2 >/dev/null 2>&1 || missing_packages+=(containerd)
command -v runc >/dev/null 2>&1 || [ -x /usr/sbin/runc ] || missing_packages+=(runc)
# A static one: the test image holds nothing else (Debian's busybox package is linked dynamically).
[ -x /bin/busybox ] && ! ldd /bin/busybox >/dev/null 2>&1 || missing_packages+=(busybox-static)

if [ "${#missing_packages[@]}" -gt 0 ]; then
  [ "$(id -u)" -eq 0 ] || fail "missing packages ${missing_packages[*]}; run as root, or: sudo apt-get install -y ${missing_packages[*]}"
  command -v apt-get >/dev/null 2>&1 || fail "missing packages ${missing_packages[*]} and no apt-get to install them"
  log "apt-get install ${missing_packages[*]}"
  export DEBIAN_FRONTEND=noninteractive
  out="$(apt-get install -y --no-install-recommends "${missing_packages[@]}" 2>&1)" || {
    out="$(apt-get update 2>&1 && apt-get install -y --no-install-recommends "${missing_packages[@]}" 2>&1)" ||
      fail "apt-get install ${missing_packages[*]}: $out"
  }
fi
# The package starts containerd as a system service where systemd runs; the test cluster runs its own, with
# its own sockets and folders, and does not use that one.
log "containerd: $(containerd --version)"
log "runc: $(runc --version | head -n 1)"

mkdir -p "$BIN_DIR"
if [ -x "$BIN_DIR/pause" ] && [ "$(cat "$BIN_DIR/.pause.version" 2>/dev/null)" = "$PAUSE_STAMP" ]; then
  log "using $BIN_DIR/pause"
else
  command -v go >/dev/null 2>&1 || fail "the Go toolchain (go) is not installed: it builds the pause program"
  work="$(mktemp -d)"
  trap 'rm -rf "$work"' EXIT
  cat >"$work/go.mod" <<'GOMOD'
module ralph.local/pause

go 1.22
GOMOD
  cat >"$work/main.go" <<'GO'
// The sandbox container of a pod: holds its namespaces, sleeping until SIGTERM or SIGINT, and reaps the
// children it inherits as the pod's PID 1.
package main

import (
	"os"
	"os/signal"
	"syscall"
)

func main() {
	signals := make(chan os.Signal, 8)
	signal.Notify(signals, syscall.SIGTERM, syscall.SIGINT, syscall.SIGCHLD)
	for sig := range signals {
		if sig != syscall.SIGCHLD {
			os.Exit(0)
		}
		for {
			pid, err := syscall.Wait4(-1, nil, syscall.WNOHANG, nil)
			if pid <= 0 || err != nil {
				break
			}
		}
	}
}
GO
  log "building $BIN_DIR/pause"
  if ! (cd "$work" && CGO_ENABLED=0 GOFLAGS= go build -trimpath -ldflags "-s -w" -o "$work/pause" .) >"$work/go.log" 2>&1; then
    cat "$work/go.log" >&2
    fail "go build of the pause program (go output above)"
  fi
  rm -f "$BIN_DIR/.pause.version"
  mv -f "$work/pause" "$BIN_DIR/pause"
  echo "$PAUSE_STAMP" >"$BIN_DIR/.pause.version"
fi

node "$HERE/k8s-testcluster.mjs" pause-image --binary "$BIN_DIR/pause" --out "$BIN_DIR/pause.oci.tar" ||
  fail "writing $BIN_DIR/pause.oci.tar"
log "pause image archive in $BIN_DIR/pause.oci.tar"
