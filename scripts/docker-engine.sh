#!/usr/bin/env bash
# A Docker engine for the tests, the docker-executor pipeline run and CI: Debian's docker.io `dockerd`, started in
# the background with a runc wrapper so that `docker run --privileged` (docker:dind) works on kernels whose
# capability bounding set lacks CAP_SYS_RESOURCE.
#
# Usage: scripts/docker-engine.sh start|stop|status
#   start   installs docker.io and docker-compose when missing (apt-get update + apt-get install -y), writes the
#           runtime wrapper and the compose v2 CLI plugin shim, starts dockerd unless it already answers, and waits
#           (up to SLIPWAY_DOCKERD_WAIT seconds, default 60) until `docker info` answers.
#   stop    sends SIGTERM to the dockerd this script started (pid file) and waits for it to exit.
#   status  prints whether the engine answers.
# Every action prints one line "docker-engine: ...". Running a subcommand twice does nothing the second time.
# Exit codes: 0 done (status: the engine answers), 1 an error (message on stderr), 2 usage, 3 status: not running.
#
# Environment (all optional):
#   SLIPWAY_DOCKERD_LOG      dockerd's log file                      (/var/log/slipway-dockerd.log)
#   SLIPWAY_DOCKERD_PIDFILE  dockerd's pid file                      (/run/slipway-dockerd.pid)
#   SLIPWAY_RUNTIME_DIR      where the runtime wrapper is written    (/usr/local/libexec/slipway)
#   DOCKER_CONFIG            the client's config dir; the compose shim goes to $DOCKER_CONFIG/cli-plugins ($HOME/.docker)
#
# Why each piece (all tried on these machines; see issue 9):
# - Installing docker.io does not start dockerd here (no systemd), so this script starts it.
# - runc fails privileged containers with "unable to apply caps: operation not permitted" when the spec asks for a
#   capability the bounding set lacks. The wrapper deletes CAP_SYS_RESOURCE from the OCI spec only on such kernels.
#   It edits the JSON textually: jq would turn the 64-bit rlimit -1 (memlock) into a float, which runc rejects.
# - Debian has no compose v2 plugin; the shim makes `docker compose ...` run Debian's docker-compose (v1.29).
# - The first `docker` on PATH may be a static client without buildx; /usr/bin/docker (Debian's) has BuildKit.
set -euo pipefail

log=${SLIPWAY_DOCKERD_LOG:-/var/log/slipway-dockerd.log}
pidfile=${SLIPWAY_DOCKERD_PIDFILE:-/run/slipway-dockerd.pid}
runtime_dir=${SLIPWAY_RUNTIME_DIR:-/usr/local/libexec/slipway}
runtime_name=slipway-runc
runtime_path=$runtime_dir/runc-within-bounding-set
docker_config=${DOCKER_CONFIG:-$HOME/.docker}
compose_shim=$docker_config/cli-plugins/docker-compose
wait_seconds=${SLIPWAY_DOCKERD_WAIT:-60}
docker=/usr/bin/docker

say() { echo "docker-engine: $*"; }
die() { echo "docker-engine: error: $*" >&2; exit 1; }

engine_answers() { [[ -x $docker ]] && "$docker" info >/dev/null 2>&1; }

dockerd_pid() {
  local pid
  [[ -s $pidfile ]] || return 1
  pid=$(<"$pidfile")
  [[ $pid =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null && [[ $(cat "/proc/$pid/comm" 2>/dev/null) == dockerd ]] &&
    echo "$pid"
}

install_packages() {
  local missing=() pkg
  for pkg in docker.io docker-compose; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
  done
  if ((${#missing[@]} == 0)); then
    say "packages docker.io and docker-compose already installed"
    return
  fi
  [[ $(id -u) == 0 ]] || die "installing ${missing[*]} needs root"
  apt-get update >/dev/null || die "apt-get update failed"
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null ||
    die "apt-get install ${missing[*]} failed"
  say "installed ${missing[*]}"
}

# Writes $2 (mode $3) with the content on stdin unless it already holds exactly that; says which.
write_if_changed() {
  local path=$1 mode=$2 what=$3 content
  content=$(cat)
  if [[ -f $path && $(<"$path") == "$content" && -x $path ]]; then
    say "$what up to date at $path"
    return
  fi
  mkdir -p "$(dirname "$path")"
  printf '%s\n' "$content" >"$path.tmp"
  chmod "$mode" "$path.tmp"
  mv "$path.tmp" "$path"
  say "wrote $what to $path"
}

write_runtime_wrapper() {
  write_if_changed "$runtime_path" 0755 "runtime wrapper" <<'WRAPPER'
#!/bin/sh
# Written by scripts/docker-engine.sh. dockerd runs this as its default OCI runtime; it forwards to runc after
# deleting CAP_SYS_RESOURCE from the container's spec (create/run: <bundle>/config.json; exec: the --process file)
# when this kernel's capability bounding set lacks it (bit 24 of CapBnd), because runc cannot grant a capability
# outside the bounding set and fails privileged containers with "unable to apply caps".
# The JSON is edited textually so 64-bit integers (memlock -1) stay exact.
set -e
capbnd=$(sed -n 's/^CapBnd:[[:space:]]*//p' /proc/self/status)
if [ -n "$capbnd" ] && [ $(( 0x$capbnd >> 24 & 1 )) -eq 0 ]; then
  bundle= process= command= expect=
  for arg in "$@"; do
    case $expect in
      bundle) bundle=$arg; expect=; continue ;;
      process) process=$arg; expect=; continue ;;
    esac
    case $arg in
      --bundle | -b) expect=bundle ;;
      --bundle=*) bundle=${arg#--bundle=} ;;
      --process | -p) expect=process ;;
      --process=*) process=${arg#--process=} ;;
      create | run) [ -n "$command" ] || command=$arg ;;
      exec) [ -n "$command" ] || command=$arg ;;
    esac
  done
  case $command in
    create | run) spec=${bundle:-.}/config.json ;;
    exec) spec=$process ;;
    *) spec= ;;
  esac
  if [ -n "$spec" ] && [ -f "$spec" ] && grep -q '"CAP_SYS_RESOURCE"' "$spec"; then
    perl -0777 -pi -e 's/"CAP_SYS_RESOURCE"\s*,\s*//g; s/\s*,\s*"CAP_SYS_RESOURCE"//g; s/"CAP_SYS_RESOURCE"//g' "$spec"
  fi
fi
exec runc "$@"
WRAPPER
}

write_compose_shim() {
  local compose
  compose=$(command -v docker-compose) || die "docker-compose is not installed"
  # https://github.com/docker/cli/blob/master/cli-plugins/manager/metadata.go: the CLI runs every plugin with
  # `docker-cli-plugin-metadata` and expects this JSON; anything else is the plugin's own command line.
  write_if_changed "$compose_shim" 0755 "compose v2 CLI plugin shim" <<SHIM
#!/bin/sh
# Written by scripts/docker-engine.sh: \`docker compose ...\` runs Debian's docker-compose (v1), which has no v2 plugin.
if [ "\$1" = docker-cli-plugin-metadata ]; then
  echo '{"SchemaVersion":"0.1.0","Vendor":"Slipway","Version":"v1-shim","ShortDescription":"Debian docker-compose as a CLI plugin"}'
  exit 0
fi
shift # the CLI passes the plugin's own name ("compose") first
exec $compose "\$@"
SHIM
}

start() {
  install_packages
  command -v perl >/dev/null || die "perl is not installed (the runtime wrapper needs it)"
  write_runtime_wrapper
  write_compose_shim
  local pid
  if engine_answers; then
    pid=$(dockerd_pid || true)
    say "dockerd already answers${pid:+ (pid $pid)}"
    local runtime
    runtime=$("$docker" info --format '{{.DefaultRuntime}}' 2>/dev/null || true)
    # An engine this script did not start may lack the wrapper; privileged containers would then fail.
    [[ $runtime == "$runtime_name" ]] ||
      say "warning: its default runtime is '$runtime', not $runtime_name: --privileged may fail; stop it and run start again"
    return
  fi
  if pid=$(dockerd_pid); then
    say "dockerd (pid $pid) is running but does not answer yet; waiting"
  else
    [[ $(id -u) == 0 ]] || die "starting dockerd needs root"
    mkdir -p "$(dirname "$log")" "$(dirname "$pidfile")"
    # The engine's default ulimits stay within this host's hard limits: a container asking for more fails to start.
    local nofile
    nofile=$(ulimit -Hn)
    [[ $nofile == unlimited ]] && nofile=1048576
    setsid dockerd \
      --add-runtime "$runtime_name=$runtime_path" \
      --default-runtime "$runtime_name" \
      --default-ulimit "nofile=$nofile:$nofile" \
      --pidfile "$pidfile" \
      >>"$log" 2>&1 </dev/null &
    pid=$!
    say "started dockerd (pid $pid, default runtime $runtime_name, log $log)"
  fi
  local waited=0
  until engine_answers; do
    if ! kill -0 "$pid" 2>/dev/null; then
      tail -n 20 "$log" >&2
      die "dockerd exited before it answered; see $log"
    fi
    ((waited++ < wait_seconds * 4)) || die "dockerd did not answer within ${wait_seconds}s; see $log"
    sleep 0.25
  done
  say "dockerd answers ($("$docker" version --format 'server {{.Server.Version}}, API {{.Server.APIVersion}}'))"
}

stop() {
  local pid
  if ! pid=$(dockerd_pid); then
    say "dockerd is not running (no live pid in $pidfile)"
    return
  fi
  kill -TERM "$pid"
  local waited=0
  while kill -0 "$pid" 2>/dev/null; do
    ((waited++ < 120)) || die "dockerd (pid $pid) did not exit within 30s"
    sleep 0.25
  done
  say "stopped dockerd (pid $pid)"
}

status() {
  local pid
  pid=$(dockerd_pid || true)
  if engine_answers; then
    say "dockerd answers${pid:+ (pid $pid)}: $("$docker" version --format 'server {{.Server.Version}}')"
    return 0
  fi
  say "dockerd does not answer${pid:+ (pid $pid is running)}"
  return 3
}

case ${1:-} in
  start) start ;;
  stop) stop ;;
  status) status ;;
  *)
    echo "usage: $0 start|stop|status" >&2
    exit 2
    ;;
esac
