#!/usr/bin/env bash
# Provisions an OpenZiti network for ralph: one remote machine running the ralph daemon, and one
# laptop that may reach it. Run it as a network operator, after `ziti edge login <controller>`.
#
#   REMOTE=vps1 LAPTOP=laptop OUT=./jwts bash identities.example/provision.sh
#
# It creates (and skips what already exists):
#   identity  ralph-$REMOTE        the daemon on the remote box   attribute #ralph-daemons
#   identity  $LAPTOP              the machine you run ralph on   attribute #ralph-clients
#   service   ralph-$REMOTE        the daemon's one service       attribute #ralph-services, end-to-end encrypted
#   service-policy  ralph-$REMOTE-bind   Bind: only identity ralph-$REMOTE
#   service-policy  ralph-$REMOTE-dial   Dial: every #ralph-clients identity
#   edge-router-policy          ralph-endpoints   #ralph-daemons and #ralph-clients may use every router
#   service-edge-router-policy  ralph-services    #ralph-services are reachable on every router
# and writes each new identity's one-time enrollment token to $OUT/<name>.jwt. Enroll them with
#   ziti edge enroll --jwt $OUT/<name>.jwt --out <name>.json
# on the machine that will hold the identity (the private key never leaves it), then point
# remotes.json at the laptop's identity file (see identities.example/remotes.json).
set -euo pipefail

REMOTE="${REMOTE:?set REMOTE to the remote's name, e.g. REMOTE=vps1}"
LAPTOP="${LAPTOP:?set LAPTOP to the client identity's name, e.g. LAPTOP=laptop}"
OUT="${OUT:-.}"
ZITI="${ZITI:-ziti}"

DAEMON="ralph-${REMOTE}"
SERVICE="ralph-${REMOTE}"

mkdir -p "$OUT"

# exists <entity-type> <name>: whether an entity of that type and name is already there.
exists() {
  local out
  out="$("$ZITI" edge list "$1" "name=\"$2\"" --output-json)"
  [[ "$out" == *"\"name\":\"$2\""* || "$out" == *"\"name\": \"$2\""* ]]
}

create() {
  local type="$1" name="$2"
  shift 2
  if exists "$(plural "$type")" "$name"; then
    echo "exists:  $type $name"
  else
    "$ZITI" edge create "$type" "$name" "$@" >/dev/null
    echo "created: $type $name"
  fi
}

plural() {
  case "$1" in
    identity) echo identities ;;
    edge-router-policy) echo edge-router-policies ;;
    service-edge-router-policy) echo service-edge-router-policies ;;
    service-policy) echo service-policies ;;
    *) echo "${1}s" ;;
  esac
}

create identity "$DAEMON" --role-attributes ralph-daemons --jwt-output-file "$OUT/$DAEMON.jwt"
create identity "$LAPTOP" --role-attributes ralph-clients --jwt-output-file "$OUT/$LAPTOP.jwt"
create service "$SERVICE" --encryption ON --role-attributes ralph-services
create service-policy "$SERVICE-bind" Bind --service-roles "@$SERVICE" --identity-roles "@$DAEMON"
create service-policy "$SERVICE-dial" Dial --service-roles "@$SERVICE" --identity-roles '#ralph-clients'
create edge-router-policy ralph-endpoints --edge-router-roles '#all' --identity-roles '#ralph-daemons,#ralph-clients'
create service-edge-router-policy ralph-services --edge-router-roles '#all' --service-roles '#ralph-services'

echo
echo "next: enroll each identity on its own machine, e.g."
echo "  remote: ziti edge enroll --jwt $DAEMON.jwt --out ~/.config/ralph/identities/$DAEMON.json"
echo "  laptop: ziti edge enroll --jwt $LAPTOP.jwt --out ~/.config/ralph/identities/$LAPTOP.json"
echo "(only tokens of identities created just now were written to $OUT)"
