#!/usr/bin/env bash
# Installs the Debian tools the network tests use (VIP in network namespaces, the chaos rack's
# partitions and packet loss with nft), when they
# are missing. Idempotent and quiet: does nothing when every tool is there, or when not root or
# without apt-get (the tests then skip with a message saying which tool is missing).
set -euo pipefail

# command -> Debian package that provides it
declare -A PACKAGE_OF=(
  [ip]=iproute2
  [arping]=iputils-arping
  [ping]=iputils-ping
  [na6]=ipv6toolkit
  [nft]=nftables
)

missing=()
for command in "${!PACKAGE_OF[@]}"; do
  # iputils' arping is the one the VIP manager speaks to (-U, -c, -I); Habets' arping differs.
  if [[ "$command" == arping ]] && command -v arping >/dev/null 2>&1 && arping -V 2>&1 | grep -q iputils; then
    continue
  fi
  if [[ "$command" != arping ]] && command -v "$command" >/dev/null 2>&1; then
    continue
  fi
  missing+=("${PACKAGE_OF[$command]}")
done

if [[ ${#missing[@]} -eq 0 ]]; then
  exit 0
fi
if [[ "$(id -u)" -ne 0 ]] || ! command -v apt-get >/dev/null 2>&1; then
  echo "ensure-test-tools: missing ${missing[*]} (not root or no apt-get; the network tests will skip)" >&2
  exit 0
fi

export DEBIAN_FRONTEND=noninteractive
if ! apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null 2>&1; then
  apt-get update -qq >/dev/null 2>&1 || true
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null 2>&1 ||
    echo "ensure-test-tools: could not install ${missing[*]} (the network tests will skip)" >&2
fi
