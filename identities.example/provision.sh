#!/usr/bin/env bash
# Provisions an OpenZiti network for one ralph daemon box and one laptop that may control it.
# Run `provision.sh --help` for the options; docs/remote-setup.md walks through a whole setup.
set -euo pipefail

usage() {
  cat <<'EOF'
Usage: provision.sh --box NAME --laptop NAME [options]

Creates on an OpenZiti controller what a ralph daemon on box NAME and a laptop need, skipping whatever
already exists (run it again after a failure, or with another --laptop to add a second laptop):

  identity                    ralph-<box>-daemon           the daemon on the box (Bind)
  identity                    <laptop>                     the laptop (Dial)
  service                     ralph-<box>                  end-to-end encrypted
  service-policy              ralph-<box>-bind             Bind: only @ralph-<box>-daemon
  service-policy              ralph-<box>-dial-<laptop>    Dial: only @<laptop>
  edge-router-policy          ralph-<box>-daemon-routers   the daemon may use the routers (--router-roles)
  edge-router-policy          ralph-<laptop>-routers       the laptop may use the routers
  service-edge-router-policy  ralph-<box>-routers          the service is reachable on the routers

It enrolls both identities into --out (mode 0600; skip with --no-enroll to enroll each on its own machine),
prints the laptop identity's id and name, and writes the daemon config (--daemon-config) with the laptop's
id in "roles" as "control" (or --role). An existing daemon config in plain JSON gets the entry added; one
with comments is left alone and the line to add is printed.

Options (environment variable in brackets):
  --controller ADDR      controller address, host:port or https://host:port [ZITI_CTRL]. With it the
                         script logs in with --username/password into a private, temporary CLI
                         configuration; without it, it uses your current `ziti edge login`.
  --username NAME        admin user [ZITI_USER, default admin]
  --password-file FILE   file holding the admin password [ZITI_PASSWORD_FILE]; or set ZITI_PASSWORD.
                         (`ziti edge login` gets it on its command line for the moment it runs.)
  --ca FILE              controller CA bundle to trust; without it the controller's certificate is
                         accepted as presented (first use) [ZITI_CA]
  --box NAME             the daemon box's name: service ralph-NAME [RALPH_BOX]
  --laptop NAME          the laptop identity's name [RALPH_LAPTOP]
  --daemon-name NAME     the daemon identity's name [default ralph-<box>-daemon]
  --role ROLE            the laptop's role in the daemon config: control or observe [default control]
  --out DIR              where identities and the daemon config go [OUT, default .]
  --no-enroll            write the one-time enrollment tokens (<name>.jwt) instead of enrolling
  --daemon-config FILE   the daemon config to write or update [default <out>/ralph-<box>.daemon.json]
  --daemon-identity-path PATH   the daemon identity file's path ON THE BOX, written into the daemon config
                         [default /home/ralph/.config/ralph/identities/ralph-<box>-daemon.json]
  --workspace DIR        the workspace ON THE BOX, written into a new daemon config [default /home/ralph/work]
  --router-roles ROLES   edge routers the policies name [default #all]
  -h, --help             this text

Needs the ziti CLI (or ZITI=/path/to/ziti) and node (JSON handling).
EOF
}

die() {
  printf 'provision.sh: %s\n' "$*" >&2
  exit 1
}

ZITI="${ZITI:-ziti}"
CTRL="${ZITI_CTRL:-}"
USERNAME="${ZITI_USER:-admin}"
PASSWORD_FILE="${ZITI_PASSWORD_FILE:-}"
CA="${ZITI_CA:-}"
BOX="${RALPH_BOX:-}"
LAPTOP="${RALPH_LAPTOP:-}"
DAEMON=""
ROLE="control"
OUT="${OUT:-.}"
ENROLL=1
DAEMON_CONFIG=""
DAEMON_IDENTITY_PATH=""
WORKSPACE="/home/ralph/work"
ROUTER_ROLES="#all"

while [ $# -gt 0 ]; do
  case "$1" in
    -h | --help) usage; exit 0 ;;
    --no-enroll) ENROLL=0; shift; continue ;;
  esac
  [ $# -ge 2 ] || die "$1 needs a value (see --help)"
  case "$1" in
    --controller) CTRL=$2 ;;
    --username) USERNAME=$2 ;;
    --password-file) PASSWORD_FILE=$2 ;;
    --ca) CA=$2 ;;
    --box) BOX=$2 ;;
    --laptop) LAPTOP=$2 ;;
    --daemon-name) DAEMON=$2 ;;
    --role) ROLE=$2 ;;
    --out) OUT=$2 ;;
    --daemon-config) DAEMON_CONFIG=$2 ;;
    --daemon-identity-path) DAEMON_IDENTITY_PATH=$2 ;;
    --workspace) WORKSPACE=$2 ;;
    --router-roles) ROUTER_ROLES=$2 ;;
    *) die "unknown option $1 (see --help)" ;;
  esac
  shift 2
done

NAME_RE='^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$'
[ -n "$BOX" ] || die "--box is required (see --help)"
[ -n "$LAPTOP" ] || die "--laptop is required (see --help)"
[[ "$BOX" =~ $NAME_RE ]] || die "--box '$BOX': use letters, digits, '.', '_' and '-'"
[[ "$LAPTOP" =~ $NAME_RE ]] || die "--laptop '$LAPTOP': use letters, digits, '.', '_' and '-'"
DAEMON="${DAEMON:-ralph-$BOX-daemon}"
[[ "$DAEMON" =~ $NAME_RE ]] || die "--daemon-name '$DAEMON': use letters, digits, '.', '_' and '-'"
case "$ROLE" in control | observe) ;; *) die "--role must be control or observe, not '$ROLE'" ;; esac
SERVICE="ralph-$BOX"
DAEMON_CONFIG="${DAEMON_CONFIG:-$OUT/ralph-$BOX.daemon.json}"
DAEMON_IDENTITY_PATH="${DAEMON_IDENTITY_PATH:-/home/ralph/.config/ralph/identities/$DAEMON.json}"

command -v "$ZITI" >/dev/null 2>&1 || die "the ziti CLI ($ZITI) was not found; set ZITI=/path/to/ziti"
command -v node >/dev/null 2>&1 || die "node was not found (it reads the controller's JSON answers)"

umask 077
mkdir -p "$OUT"

# With --controller: log in into a private CLI configuration, removed on exit, so the operator's own
# `ziti edge login` is neither used nor changed.
if [ -n "$CTRL" ]; then
  PASSWORD="${ZITI_PASSWORD:-}"
  if [ -n "$PASSWORD_FILE" ]; then
    PASSWORD=$(head -n 1 "$PASSWORD_FILE") || die "cannot read --password-file $PASSWORD_FILE"
  fi
  [ -n "$PASSWORD" ] || die "--controller needs the admin password: --password-file FILE or ZITI_PASSWORD"
  CLI_DIR=$(mktemp -d "${TMPDIR:-/tmp}/ralph-provision.XXXXXX")
  trap 'rm -rf "$CLI_DIR"' EXIT
  export ZITI_CONFIG_DIR="$CLI_DIR"
  login=("$ZITI" edge login "$CTRL" -u "$USERNAME" -p "$PASSWORD")
  if [ -n "$CA" ]; then login+=(--ca "$CA"); else login+=(-y); fi
  "${login[@]}" >/dev/null || die "login to $CTRL as $USERNAME failed"
fi

# json EXPR: evaluates EXPR with `d` bound to the JSON read from stdin, prints the result.
json() {
  node -e '
    let s = "";
    process.stdin.on("data", (c) => (s += c)).on("end", () => {
      const d = JSON.parse(s);
      const v = eval(process.argv[1]);
      process.stdout.write(v === undefined || v === null ? "" : String(v));
    });' "$1"
}

# find TYPE NAME: the JSON list of entities of TYPE (plural) named NAME.
find_entity() {
  "$ZITI" edge list "$1" "name=\"$2\"" -j
}

# lookup PLURAL NAME EXPR: EXPR over the controller's answer for entities of that type and name.
lookup() {
  local out
  out=$(find_entity "$1" "$2") || die "ziti edge list $1 name=\"$2\" failed"
  printf '%s' "$out" | json "$3" || die "unexpected answer to ziti edge list $1: $out"
}

exists() {
  local count
  # Explicit exit: errexit is off inside the `if` that calls exists.
  count=$(lookup "$1" "$2" 'd.data.length') || exit 1
  [ "$count" != 0 ]
}

# create KIND PLURAL NAME ARGS...: `ziti edge create KIND NAME ARGS...` unless it exists.
create() {
  local kind=$1 plural=$2 name=$3
  shift 3
  if exists "$plural" "$name"; then
    echo "exists:   $kind $name"
  else
    "$ZITI" edge create "$kind" "$name" "$@" >/dev/null
    echo "created:  $kind $name"
  fi
}

# identity NAME: creates the identity if needed, then enrolls it into $OUT/NAME.json (or leaves its token
# in $OUT/NAME.jwt with --no-enroll).
identity() {
  local name=$1 file="$OUT/$1.json" jwt="$OUT/$1.jwt"
  if ! exists identities "$name"; then
    "$ZITI" edge create identity "$name" -o "$jwt" >/dev/null
    echo "created:  identity $name"
  else
    echo "exists:   identity $name"
  fi
  if [ -s "$file" ]; then
    echo "enrolled: $file (kept)"
    return
  fi
  if [ ! -s "$jwt" ]; then
    # Created earlier: its token is still on the controller unless it was enrolled meanwhile.
    local token
    token=$(lookup identities "$name" 'd.data[0].enrollment?.ott?.jwt') || exit 1
    [ -n "$token" ] || die "identity $name is already enrolled, and $file is not here. Use the file made when it was enrolled, or delete the identity (ziti edge delete identity $name) and run again."
    printf '%s' "$token" >"$jwt"
  fi
  if [ "$ENROLL" = 1 ]; then
    local log
    if ! log=$("$ZITI" edge enroll --jwt "$jwt" --out "$file" --keyAlg EC --rm 2>&1); then
      printf '%s\n' "$log" >&2
      die "enrolling $name failed"
    fi
    chmod 600 "$file"
    echo "enrolled: $file"
  else
    echo "token:    $jwt (enroll on its machine: ziti edge enroll --jwt $name.jwt --out $name.json)"
  fi
}

identity "$DAEMON"
identity "$LAPTOP"
create service services "$SERVICE" --encryption ON
create service-policy service-policies "$SERVICE-bind" Bind \
  --service-roles "@$SERVICE" --identity-roles "@$DAEMON"
create service-policy service-policies "$SERVICE-dial-$LAPTOP" Dial \
  --service-roles "@$SERVICE" --identity-roles "@$LAPTOP"
create edge-router-policy edge-router-policies "ralph-$BOX-daemon-routers" \
  --edge-router-roles "$ROUTER_ROLES" --identity-roles "@$DAEMON"
create edge-router-policy edge-router-policies "ralph-$LAPTOP-routers" \
  --edge-router-roles "$ROUTER_ROLES" --identity-roles "@$LAPTOP"
create service-edge-router-policy service-edge-router-policies "ralph-$BOX-routers" \
  --edge-router-roles "$ROUTER_ROLES" --service-roles "@$SERVICE"

LAPTOP_ID=$(lookup identities "$LAPTOP" 'd.data[0].id') || exit 1
[ -n "$LAPTOP_ID" ] || die "cannot read the id of identity $LAPTOP"

# The daemon config: roles map the laptop's id (the CN of its certificate) to its role.
update=$(
  DAEMON_CONFIG="$DAEMON_CONFIG" ROLE_ID="$LAPTOP_ID" ROLE="$ROLE" SERVICE="$SERVICE" \
    IDENTITY_PATH="$DAEMON_IDENTITY_PATH" WORKSPACE="$WORKSPACE" node -e '
    const fs = require("fs");
    const e = process.env;
    let config;
    if (fs.existsSync(e.DAEMON_CONFIG)) {
      try {
        config = JSON.parse(fs.readFileSync(e.DAEMON_CONFIG, "utf8"));
      } catch {
        process.stdout.write("jsonc");
        process.exit(0);
      }
    } else {
      config = { identity: e.IDENTITY_PATH, service: e.SERVICE, workspace: e.WORKSPACE, maxLoops: 8,
                 roles: {}, socket: null, audit: null, journal: null };
    }
    config.roles = { ...(config.roles ?? {}), [e.ROLE_ID]: e.ROLE };
    const tmp = e.DAEMON_CONFIG + ".tmp";
    fs.writeFileSync(tmp, JSON.stringify(config, null, 2) + "\n", { mode: 0o600 });
    fs.renameSync(tmp, e.DAEMON_CONFIG);
    process.stdout.write("written");'
)

echo
echo "laptop identity: name $LAPTOP, id $LAPTOP_ID"
if [ "$update" = written ]; then
  echo "daemon config:   $DAEMON_CONFIG (roles: \"$LAPTOP_ID\": \"$ROLE\")"
else
  echo "daemon config:   $DAEMON_CONFIG has comments; add to its \"roles\":"
  echo "  \"$LAPTOP_ID\": \"$ROLE\",   // $LAPTOP"
fi
echo
echo "next:"
echo "  box:    copy $OUT/$DAEMON.json to $DAEMON_IDENTITY_PATH (mode 0600) and the daemon config to the box"
echo "  laptop: ralph remote add $BOX --identity <path of $LAPTOP.json> --service $SERVICE"
