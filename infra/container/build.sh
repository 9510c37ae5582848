#!/usr/bin/env bash
# Builds the long-running Kafka bridge's container image, offline and without a Docker daemon
# (buildah): FROM scratch, the kafka-bridge binary (stripped), the shared libraries it links,
# taken from this Debian machine (glibc, OpenSSL, zlib, libgcc), the CA certificates and a
# non-root user (65532). Checks that the staged root file system runs the binary on its own,
# and prints the build time, the binary's and the image's size.
#
#   infra/container/build.sh [--profile container|release|dev] [--tag NAME:TAG] [--archive FILE]
#
#   --profile  the cargo profile of the binary. `container` (the default) is release with thin
#              LTO: the image to ship. `dev` reuses the test build's binary, which is how CI
#              checks the image in seconds.
#   --tag      the image's name (default sap-sync-hub/kafka-bridge:latest).
#   --archive  also writes the image as an OCI archive (skopeo, podman, `docker load` read it;
#              `skopeo copy oci-archive:FILE docker://<account>.dkr.ecr.<region>.amazonaws.com/…`
#              pushes it to ECR).
set -euo pipefail
source "$(dirname "$0")/../local/lib.sh"
cd "$HUB_ROOT"

profile=container
tag=sap-sync-hub/kafka-bridge:latest
archive=""
while [ $# -gt 0 ]; do
  case "$1" in
    --profile) profile="$2"; shift 2 ;;
    --tag) tag="$2"; shift 2 ;;
    --archive) archive="$2"; shift 2 ;;
    -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
    *) die "unknown argument: $1 (see --help)" ;;
  esac
done
command -v buildah >/dev/null || die "buildah is needed (apt install buildah; infra/local/install.sh installs it)"

started=$(date +%s.%N)
if [ "$profile" = dev ]; then
  # The test build's own command, so its binary is taken as it is (nothing to compile in CI).
  timed cargo cargo build --locked --workspace --all-targets
else
  # --workspace with --bin: the workspace's features, only what the bridge needs compiled.
  timed cargo cargo build --locked --workspace --bin kafka-bridge --profile "$profile"
fi
target_dir=$(cargo metadata --format-version 1 --no-deps \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
case "$profile" in dev|test) out=debug ;; *) out="$profile" ;; esac
binary="$target_dir/$out/kafka-bridge"
[ -x "$binary" ] || die "$binary was not built"

context="$HUB_LOCAL/container"
rootfs="$context/rootfs"
rm -rf "$context"
mkdir -p "$rootfs/etc/ssl/certs" "$rootfs/tmp"
chmod 1777 "$rootfs/tmp"
cp "$binary" "$rootfs/kafka-bridge"
strip "$rootfs/kafka-bridge"
# The shared libraries and the dynamic loader, at the paths the binary looks for them.
ldd "$binary" | awk '/=> \// { print $3 } /^[[:space:]]*\// { print $1 }' | while read -r lib; do
  mkdir -p "$rootfs$(dirname "$lib")"
  cp -L "$lib" "$rootfs$lib"
done
cp -L /etc/ssl/certs/ca-certificates.crt "$rootfs/etc/ssl/certs/" \
  || die "no CA bundle (apt install ca-certificates)"
printf 'root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n' \
  > "$rootfs/etc/passwd"
printf 'root:x:0:\nnonroot:x:65532:\n' > "$rootfs/etc/group"
cp infra/container/Dockerfile "$context/Dockerfile"

# The staged file system must run the binary with nothing from this machine: chroot into it.
if [ "$(id -u)" -eq 0 ]; then
  chroot "$rootfs" /kafka-bridge --help >/dev/null || die "the image's binary does not run on its own"
elif unshare -r true 2>/dev/null; then
  unshare -r chroot "$rootfs" /kafka-bridge --help >/dev/null \
    || die "the image's binary does not run on its own"
else
  log "warning: neither root nor user namespaces: the staged image was not run"
fi

# vfs storage and chroot isolation: no kernel overlay or runtime needed (CI machines, containers).
export STORAGE_DRIVER="${STORAGE_DRIVER:-vfs}" BUILDAH_ISOLATION="${BUILDAH_ISOLATION:-chroot}"
timed buildah buildah bud --quiet --format docker --layers=false -t "$tag" -f "$context/Dockerfile" "$context" >/dev/null
user=$(buildah inspect --type image --format '{{.Docker.Config.User}}' "$tag")
[ "$user" = "65532:65532" ] || die "the image runs as '$user', not 65532:65532"
if [ -n "$archive" ]; then
  rm -f "$archive"
  buildah push --quiet "$tag" "oci-archive:$archive:$tag" >/dev/null
  log "image written to $archive"
fi

ended=$(date +%s.%N)
size() { numfmt --to=iec --suffix=B "$1"; }
binary_bytes=$(stat -c %s "$rootfs/kafka-bridge")
rootfs_bytes=$(du -sb "$rootfs" | cut -f1)
image_size=$(buildah images --format '{{.Size}}' "$tag" | head -1)
log "image $tag (profile $profile): user 65532, binary $(size "$binary_bytes") stripped, root file system $(size "$rootfs_bytes"), image $image_size"
printf '[hub] container build took %.1f s\n' "$(echo "$ended - $started" | bc)" >&2
