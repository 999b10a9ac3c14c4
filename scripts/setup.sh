#!/usr/bin/env bash
# Sets up a fresh machine for Skiff: the OS packages its components and tests use (from Debian,
# only when missing, only as root), then Node 24 and the npm dependencies (npm ci).
set -euo pipefail
cd "$(dirname "$0")/.."

# containerd + runc: the CRI interoperability tests drive containerd's CRI plugin.
PACKAGES=(containerd runc runsc conmon tini busybox-static containernetworking-plugins iproute2 iptables nftables etcd-server etcd-client docker-registry skopeo apache2-utils attr)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null; then
    echo "skiff setup: missing OS packages: ${missing[*]} (run this script as root on Debian to install them)" >&2
  else
    echo "skiff setup: installing ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
fi

npm ci --no-audit --no-fund
