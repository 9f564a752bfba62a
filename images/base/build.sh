#!/usr/bin/env bash
# Builds the local base image (a minimal Debian bookworm root) with debootstrap, because no container
# registry can be assumed reachable. Skipped when the image exists. Usage: build.sh IMAGE_NAME
set -euo pipefail
image=${1:?usage: build.sh IMAGE_NAME}
if podman image exists "$image"; then exit 0; fi
# Take the mirror this machine already uses, so that the build works wherever apt works, unless
# NBH_DEBIAN_MIRROR names one.
mirror=${NBH_DEBIAN_MIRROR:-}
for sources in /etc/apt/sources.list /etc/apt/sources.list.d/*; do
    if [ -n "$mirror" ]; then break; fi
    [ -f "$sources" ] || continue
    # One-line (deb URL ...) and deb822 (URIs: URL) formats alike; `|| true`: no match is no error.
    found=$(sed -nE 's#^(deb|URIs:)[[:space:]]+(https?://[^ ]+/debian/?)([[:space:]].*)?$#\2#p' "$sources" || true)
    mirror=${found%%$'\n'*}
done
mirror=${mirror:-http://deb.debian.org/debian}
work=$(mktemp -d /var/tmp/nbh-base.XXXXXX)
trap 'rm -rf "$work"' EXIT
echo "base image: debootstrap bookworm from $mirror"
debootstrap --variant=minbase --include=ca-certificates bookworm "$work/root" "$mirror" > "$work/log" 2>&1 \
    || { tail -n 20 "$work/log" >&2; echo "debootstrap failed (mirror $mirror)" >&2; exit 1; }
tar -C "$work/root" -c . | podman import --change 'CMD ["/bin/bash"]' - "$image" > /dev/null \
    || { echo "podman could not import the debootstrap root as $image" >&2; exit 1; }
echo "base image: $image imported"
