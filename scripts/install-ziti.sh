#!/usr/bin/env bash
# Makes sure the OpenZiti `ziti` CLI (used by the Ziti integration tests, see docs/ziti-testnet.md)
# is installed: keeps a v1.x `ziti` found on PATH or in the Go bin directory, otherwise runs
# `go install github.com/openziti/ziti/ziti@$ZITI_VERSION`. Exits non-zero, with go's own error,
# when that fails.
set -euo pipefail

ZITI_VERSION="${ZITI_VERSION:-v1.5.17}"
MODULE="github.com/openziti/ziti/ziti"

go_bin_dir() {
  if command -v go >/dev/null 2>&1; then
    local gopath
    gopath="$(go env GOPATH)"
    echo "${gopath%%:*}/bin"
  else
    echo "${HOME}/go/bin"
  fi
}

find_ziti() {
  if command -v ziti >/dev/null 2>&1; then
    command -v ziti
  elif [ -x "$(go_bin_dir)/ziti" ]; then
    echo "$(go_bin_dir)/ziti"
  fi
}

# A release build prints its version (v1.x); a plain `go install` build carries no version stamp
# and prints v0.0.0.
acceptable_version() {
  case "$1" in
    v1.*) return 0 ;;
    v0.0.0) return 0 ;;
    *) return 1 ;;
  esac
}

existing="$(find_ziti || true)"
if [ -n "$existing" ]; then
  version="$("$existing" version 2>/dev/null | head -n 1 || true)"
  if acceptable_version "$version"; then
    echo "install-ziti: using $existing ($version)"
    exit 0
  fi
  echo "install-ziti: $existing reports version '${version}', not v1.x; installing $ZITI_VERSION" >&2
fi

if ! command -v go >/dev/null 2>&1; then
  echo "install-ziti: ziti CLI not found and the Go toolchain is not installed; cannot run go install $MODULE@$ZITI_VERSION" >&2
  exit 1
fi

# The pinned release first. When the module proxy does not serve it, build the nearest release it serves
# completely through a throwaway module: `go install` ignores the replace directive in ziti's own go.mod,
# a main module of ours can carry it.
FALLBACK_VERSION="${ZITI_FALLBACK_VERSION:-v1.7.2}"
FALLBACK_REPLACE="github.com/michaelquigley/pfxlog => github.com/michaelquigley/pfxlog v0.6.10"

echo "install-ziti: go install $MODULE@$ZITI_VERSION (this compiles the OpenZiti CLI and takes several minutes)"
log="$(mktemp)"
work="$(mktemp -d)"
trap 'rm -rf "$log" "$work"' EXIT
if ! go install "$MODULE@$ZITI_VERSION" >"$log" 2>&1; then
  cat "$log" >&2
  echo "install-ziti: go install $MODULE@$ZITI_VERSION failed (above); building $FALLBACK_VERSION instead" >&2
  cat >"$work/go.mod" <<GOMOD
module ralph.local/zitibuild

go 1.24

replace $FALLBACK_REPLACE

require github.com/openziti/ziti $FALLBACK_VERSION
GOMOD
  printf '//go:build tools\n\npackage tools\n\nimport _ "%s"\n' "$MODULE" >"$work/tools.go"
  mkdir -p "$(go_bin_dir)"
  if ! (cd "$work" && GOFLAGS=-mod=mod GONOSUMDB=github.com/openziti go mod tidy >"$log" 2>&1 &&
    GOFLAGS=-mod=mod go build -ldflags "-X github.com/openziti/ziti/common/version.Version=$FALLBACK_VERSION" \
      -o "$(go_bin_dir)/ziti" "$MODULE" >>"$log" 2>&1); then
    cat "$log" >&2
    echo "install-ziti: FAILED: neither $ZITI_VERSION nor $FALLBACK_VERSION could be built (errors above)" >&2
    exit 1
  fi
fi

installed="$(go_bin_dir)/ziti"
if ! version="$("$installed" version 2>&1 | head -n 1)"; then
  echo "install-ziti: $installed was installed but does not run: $version" >&2
  exit 1
fi
echo "install-ziti: installed $installed ($version)"
