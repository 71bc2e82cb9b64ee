#!/bin/sh
# The deploy target of `npm run e2e`: the deploy template's `script` driver runs
#   sh docker/test/local-deploy-target.sh deploy     (deploy-command)
#   sh docker/test/local-deploy-target.sh rollback   (rollback-command)
# to run an app image on this machine, as a Kubernetes Deployment or a compose host would elsewhere. There is no
# container engine here, so the image runs with `buildah run --isolation chroot` (host network, loopback port),
# detached in its own session so it outlives the deploy job.
#
# Environment (set by the template and by the e2e run's CI/CD variables):
#   IMAGE_DIGEST              <registry>/<repository>@sha256:... to run (deploy)
#   SLIPWAY_APP, SLIPWAY_ENVIRONMENT
#   SLIPWAY_VERIFY_URL        http://127.0.0.1:<port>, the deploy's url input: the app listens on that port
#   SLIPWAY_LOCAL_TARGET_DIR  where each <environment>-<app> keeps pid, container, log and the image records:
#                             current (running now), previous (what a rollback restores), failed (rolled back from)
#   SLIPWAY_REGISTRY_TLS_VERIFY  false for the plain-HTTP loopback registry (default true)
set -eu

die() {
  echo "local-deploy-target: $*" >&2
  exit 1
}

action="${1:-}"
[ -n "${SLIPWAY_LOCAL_TARGET_DIR:-}" ] || die "SLIPWAY_LOCAL_TARGET_DIR is not set (the directory that records what runs)"
[ -n "${SLIPWAY_APP:-}" ] || die "SLIPWAY_APP is not set"
[ -n "${SLIPWAY_ENVIRONMENT:-}" ] || die "SLIPWAY_ENVIRONMENT is not set"
url="${SLIPWAY_VERIFY_URL:-}"
case "$url" in
  http://127.0.0.1:[0-9]*) ;;
  *) die "the url input must be http://127.0.0.1:<port> for the local target, got \"$url\"" ;;
esac
port="${url#http://127.0.0.1:}"
port="${port%%/*}"
case "$port" in
  '' | *[!0-9]*) die "no port in the url input \"$url\"" ;;
esac
tls_verify="${SLIPWAY_REGISTRY_TLS_VERIFY:-true}"
state="$SLIPWAY_LOCAL_TARGET_DIR/$SLIPWAY_ENVIRONMENT-$SLIPWAY_APP"
mkdir -p "$state"

# The processes of the session start_image created. buildah run puts the app in a process group of its own, and the app
# outlives buildah run, so the session (the id start_image recorded) is what holds them all.
session_pids() {
  ps -eo pid=,sid= | awk -v sid="$1" '$2 == sid { print $1 }'
}

# Stops what runs now (SIGTERM, the app's graceful shutdown; SIGKILL after 15 s), then removes its container.
stop_running() {
  [ -f "$state/pid" ] || return 0
  session="$(cat "$state/pid")"
  pids="$(session_pids "$session")"
  if [ -n "$pids" ]; then
    # shellcheck disable=SC2086 # one pid per word
    kill -TERM $pids 2>/dev/null || true
    waited=0
    while [ -n "$(session_pids "$session")" ] && [ "$waited" -lt 15 ]; do
      sleep 1
      waited=$((waited + 1))
    done
    pids="$(session_pids "$session")"
    # shellcheck disable=SC2086
    if [ -n "$pids" ]; then kill -KILL $pids 2>/dev/null || true; fi
  fi
  if [ -f "$state/container" ]; then buildah rm "$(cat "$state/container")" >/dev/null 2>&1 || true; fi
  rm -f "$state/pid" "$state/container"
}

# Starts IMAGE's own entrypoint and command as its configured user, listening on 127.0.0.1:$port.
start_image() {
  container="$(buildah from --quiet --pull=missing --tls-verify="$tls_verify" "$1")"
  echo "$container" >"$state/container"
  command="$(buildah inspect --type container \
    --format '{{range .Docker.Config.Entrypoint}}{{.}} {{end}}{{range .Docker.Config.Cmd}}{{.}} {{end}}' "$container")"
  [ -n "$command" ] || die "$1 has neither ENTRYPOINT nor CMD"
  # setsid: a session of its own, so stop_running can find everything it started and the job's end does not stop it.
  # shellcheck disable=SC2086 # the command is the image's exec-form words, none containing spaces
  setsid buildah run --isolation chroot --env "PORT=$port" --env HOST=127.0.0.1 "$container" -- $command \
    >"$state/log" 2>&1 </dev/null &
  echo "$!" >"$state/pid"
  echo "local-deploy-target: $SLIPWAY_ENVIRONMENT/$SLIPWAY_APP runs $1 on 127.0.0.1:$port (pid $!, log $state/log)"
}

case "$action" in
  deploy)
    [ -n "${IMAGE_DIGEST:-}" ] || die "IMAGE_DIGEST is not set"
    stop_running
    if [ -f "$state/current" ] && [ "$(cat "$state/current")" != "$IMAGE_DIGEST" ]; then
      cp "$state/current" "$state/previous"
    fi
    printf '%s\n' "$IMAGE_DIGEST" >"$state/current"
    start_image "$IMAGE_DIGEST"
    ;;
  rollback)
    [ -f "$state/previous" ] || die "no previous image recorded for $SLIPWAY_ENVIRONMENT/$SLIPWAY_APP; nothing to roll back to"
    previous="$(cat "$state/previous")"
    stop_running
    if [ -f "$state/current" ]; then mv "$state/current" "$state/failed"; fi
    mv "$state/previous" "$state/current"
    start_image "$previous"
    echo "local-deploy-target: rolled $SLIPWAY_ENVIRONMENT/$SLIPWAY_APP back to $previous"
    ;;
  *) die "usage: local-deploy-target.sh deploy|rollback (got \"$action\")" ;;
esac
