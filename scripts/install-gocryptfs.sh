#!/usr/bin/env bash
# Installs a gocryptfs new enough for rekey running as root (>= 2.5.2, see MIN_GOCRYPTFS_AS_ROOT in
# src/db/volume.ts) as /usr/local/bin/gocryptfs, from Debian's trixie-backports, on a Debian
# machine whose own package is older (Debian 12 ships 2.3). Every download is checked: InRelease's
# signature with the machine's debian-archive-keyring (gpgv), Packages.xz against InRelease's
# SHA256, the .deb against Packages' SHA256. Only the binary is taken (it needs libcrypto.so.3 and
# glibc >= 2.34, both in Debian 12); the system package stays as it is.
set -euo pipefail
MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
SUITE="${GOCRYPTFS_SUITE:-trixie-backports}"
DEST="${1:-/usr/local/bin/gocryptfs}"
KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg
ARCH="$(dpkg --print-architecture)"
# curl and xz may be missing on a minimal Debian: install them when running as root
if { ! command -v curl >/dev/null || ! command -v xz >/dev/null || ! command -v gpgv >/dev/null; } && [ "$(id -u)" = 0 ]; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq curl xz-utils gpgv >/dev/null
fi
for tool in curl gpgv xz dpkg-deb sha256sum; do
  command -v "$tool" >/dev/null || { echo "install-gocryptfs: needs $tool" >&2; exit 1; }
done
[ -f "$KEYRING" ] || { echo "install-gocryptfs: needs $KEYRING (apt-get install debian-archive-keyring)" >&2; exit 1; }
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
curl -fsS --retry 3 --max-time 120 "$MIRROR/dists/$SUITE/InRelease" -o "$tmp/InRelease"
gpgv --quiet --keyring "$KEYRING" --output "$tmp/Release" "$tmp/InRelease" 2>/dev/null \
  || { echo "install-gocryptfs: $SUITE/InRelease: bad or unknown signature" >&2; exit 1; }
want="$(awk -v f="main/binary-$ARCH/Packages.xz" '/^SHA256:/{s=1;next} /^[^ ]/{s=0} s && $3==f {print $1}' "$tmp/Release")"
[ -n "$want" ] || { echo "install-gocryptfs: $SUITE has no main/binary-$ARCH/Packages.xz" >&2; exit 1; }
curl -fsS --retry 3 --max-time 300 "$MIRROR/dists/$SUITE/main/binary-$ARCH/Packages.xz" -o "$tmp/Packages.xz"
echo "$want  $tmp/Packages.xz" | sha256sum -c --quiet -
entry="$(xz -dc "$tmp/Packages.xz" | awk '/^Package: gocryptfs$/{p=1} p&&/^$/{p=0} p')"
file="$(printf '%s\n' "$entry" | awk '/^Filename:/{print $2}')"
sum="$(printf '%s\n' "$entry" | awk '/^SHA256:/{print $2}')"
[ -n "$file" ] && [ -n "$sum" ] || { echo "install-gocryptfs: no gocryptfs in $SUITE" >&2; exit 1; }
curl -fsS --retry 3 --max-time 300 "$MIRROR/$file" -o "$tmp/gocryptfs.deb"
echo "$sum  $tmp/gocryptfs.deb" | sha256sum -c --quiet -
dpkg-deb -x "$tmp/gocryptfs.deb" "$tmp/x"
install -D -m 0755 "$tmp/x/usr/bin/gocryptfs" "$DEST"
"$DEST" -version
