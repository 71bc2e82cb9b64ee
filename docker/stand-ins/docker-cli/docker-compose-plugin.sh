#!/bin/sh
# `docker compose ...` for a Debian docker client: Debian bookworm has no compose v2 plugin, so this CLI plugin runs
# Debian's docker-compose (v1.29). The CLI calls every plugin with `docker-cli-plugin-metadata` first and expects
# this JSON (github.com/docker/cli cli-plugins/manager/metadata.go); otherwise the plugin's own name comes first.
if [ "$1" = docker-cli-plugin-metadata ]; then
  echo '{"SchemaVersion":"0.1.0","Vendor":"Slipway","Version":"v1-shim","ShortDescription":"Debian docker-compose as a CLI plugin"}'
  exit 0
fi
shift
exec /usr/bin/docker-compose "$@"
