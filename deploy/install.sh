#!/usr/bin/env bash
# Installs Conclave on a generic Linux BMC (or any systemd host): the `conclave` user, the two
# bundles, the systemd unit, the nftables snippet, and a config (from `conclave init`, or copied
# from the first BMC with --from). Idempotent: a second run changes nothing that is already right
# and never overwrites a config, secret or key.
#
#   deploy/install.sh [--bundle-dir DIR] [--prefix DIR] [--from DIR | --cluster-name NAME [--vip ADDR]] [--dry-run]
#
#   --bundle-dir DIR    where `pnpm bundle` wrote conclaved.mjs and conclave.mjs (default: dist/)
#   --prefix DIR        install under DIR instead of / (an image's staging root); the user is not
#                       created, ownership is not changed and systemd is not reloaded
#   --from DIR          copy conclave.yaml, cluster.key, facade.crt, facade.key and admin.yaml from DIR
#                       (the first BMC's /etc/conclave) instead of running `conclave init`
#   --cluster-name NAME, --vip ADDR
#                       passed to `conclave init` on the first BMC
#   --dry-run           print what would be done, change nothing
set -euo pipefail

readonly NODE_MAJOR_MIN=22
readonly SERVICE_USER=conclave
readonly SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
readonly CONFIG_FILES=(conclave.yaml cluster.key facade.crt facade.key admin.yaml)
readonly SECRET_FILES=(cluster.key facade.key admin.yaml)

bundle_dir="${SCRIPT_DIR}/../dist"
prefix=""
from_dir=""
cluster_name=""
vip=""
dry_run=0

usage() {
	sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed -e '$d' -e 's/^# \{0,1\}//'
}

fail() {
	echo "install: $*" >&2
	exit 1
}

while [[ $# -gt 0 ]]; do
	case "$1" in
	--bundle-dir) bundle_dir="${2:?--bundle-dir needs a directory}"; shift 2 ;;
	--prefix) prefix="${2:?--prefix needs a directory}"; shift 2 ;;
	--from) from_dir="${2:?--from needs a directory}"; shift 2 ;;
	--cluster-name) cluster_name="${2:?--cluster-name needs a name}"; shift 2 ;;
	--vip) vip="${2:?--vip needs an address}"; shift 2 ;;
	--dry-run) dry_run=1; shift ;;
	-h | --help) usage; exit 0 ;;
	*) echo "install: unknown option \"$1\"" >&2; usage >&2; exit 2 ;;
	esac
done

if [[ -n "$prefix" ]]; then
	prefix="$(cd "$prefix" 2>/dev/null && pwd)" || fail "--prefix $prefix: no such directory"
	[[ "$prefix" == "/" ]] && prefix=""
fi
[[ -n "$from_dir" && -n "$cluster_name$vip" ]] && fail "--from copies an existing config: --cluster-name and --vip are for a new one"

readonly lib_dir="${prefix}/usr/lib/conclave"
readonly bin_dir="${prefix}/usr/bin"
readonly unit_dir="${prefix}/etc/systemd/system"
readonly share_dir="${prefix}/usr/share/conclave"
readonly config_dir="${prefix}/etc/conclave"
readonly state_dir="${prefix}/var/lib/conclave"

# Runs a command, or only prints it with --dry-run.
run() {
	if [[ $dry_run -eq 1 ]]; then
		printf 'would run:'
		printf ' %q' "$@"
		printf '\n'
	else
		"$@"
	fi
}

note() {
	echo "install: $*"
}

# Installs $1 as $2 with mode $3 unless $2 already has the same content and mode.
install_file() {
	local source="$1" target="$2" mode="$3"
	if [[ -f "$target" ]] && cmp -s "$source" "$target" && [[ "$(stat -c %a "$target")" == "${mode#0}" ]]; then
		note "unchanged: $target"
		return
	fi
	run install -D -m "$mode" "$source" "$target"
	note "installed: $target"
}

link() {
	local target="$1" name="$2"
	if [[ -L "$name" && "$(readlink "$name")" == "$target" ]]; then
		note "unchanged: $name -> $target"
		return
	fi
	run mkdir -p "$(dirname "$name")"
	run ln -sfn "$target" "$name"
	note "linked: $name -> $target"
}

# --- checks ---
node_bin="$(command -v node || true)"
[[ -n "$node_bin" ]] || fail "node is not installed: Conclave needs Node.js ${NODE_MAJOR_MIN} or later"
node_major="$("$node_bin" -p 'process.versions.node.split(".")[0]')"
((node_major >= NODE_MAJOR_MIN)) || fail "node $("$node_bin" --version) is too old: Conclave needs Node.js ${NODE_MAJOR_MIN} or later"
for bundle in conclaved.mjs conclave.mjs; do
	[[ -f "${bundle_dir}/${bundle}" ]] || fail "${bundle_dir}/${bundle} is missing: run \`pnpm bundle\` first (or give --bundle-dir)"
done
for tool in ip arping; do
	command -v "$tool" >/dev/null || note "warning: $tool is not installed: vip.mode interface needs it (iproute2, iputils-arping)"
done
[[ -z "$prefix" && $dry_run -eq 0 && $EUID -ne 0 ]] && fail "installing into / needs root (or use --prefix / --dry-run)"

# --- user ---
if [[ -z "$prefix" ]]; then
	if id -u "$SERVICE_USER" >/dev/null 2>&1; then
		note "unchanged: user $SERVICE_USER"
	else
		run useradd --system --user-group --no-create-home --home-dir /var/lib/conclave \
			--shell /usr/sbin/nologin --comment "Conclave agent" "$SERVICE_USER"
		note "created: user $SERVICE_USER"
	fi
else
	note "skipped under --prefix: creating user $SERVICE_USER (the image's recipe does it)"
fi

# --- bundles, unit, firewall snippet ---
install_file "${bundle_dir}/conclaved.mjs" "${lib_dir}/conclaved.mjs" 0755
install_file "${bundle_dir}/conclave.mjs" "${lib_dir}/conclave.mjs" 0755
# Node picks ES module or CommonJS by the real file's extension: the links keep `.mjs` behind them.
link ../lib/conclave/conclaved.mjs "${bin_dir}/conclaved"
link ../lib/conclave/conclave.mjs "${bin_dir}/conclave"
install_file "${SCRIPT_DIR}/systemd/conclaved.service" "${unit_dir}/conclaved.service" 0644
install_file "${SCRIPT_DIR}/nftables/conclave.nft" "${share_dir}/conclave.nft" 0644

# --- directories ---
for dir in "$config_dir" "$state_dir"; do
	if [[ -d "$dir" ]]; then note "unchanged: $dir"; else run mkdir -p "$dir"; note "created: $dir"; fi
done
run chmod 0750 "$config_dir"
run chmod 0700 "$state_dir"

# --- config ---
if [[ -f "${config_dir}/conclave.yaml" ]]; then
	note "kept: ${config_dir}/conclave.yaml (an existing config is never overwritten)"
elif [[ -n "$from_dir" ]]; then
	for file in "${CONFIG_FILES[@]}"; do
		[[ -f "${from_dir}/${file}" ]] || fail "--from ${from_dir}: ${file} is missing (copy the first BMC's /etc/conclave)"
	done
	for file in "${CONFIG_FILES[@]}"; do
		mode=0640
		[[ " ${SECRET_FILES[*]} " == *" ${file} "* ]] && mode=0600
		run install -m "$mode" "${from_dir}/${file}" "${config_dir}/${file}"
		note "copied: ${config_dir}/${file}"
	done
else
	init_args=(init --dir "$config_dir")
	[[ -n "$cluster_name" ]] && init_args+=(--cluster-name "$cluster_name")
	[[ -n "$vip" ]] && init_args+=(--vip "$vip")
	run "$node_bin" "${bundle_dir}/conclave.mjs" "${init_args[@]}"
	# init writes absolute paths of the directory it was given: under --prefix, they must name the
	# installed system's paths, not the staging root's.
	if [[ -n "$prefix" ]]; then
		run sed -i "s|${config_dir}/|/etc/conclave/|g" "${config_dir}/conclave.yaml"
	fi
fi

# --- ownership and systemd (a real root only) ---
if [[ -z "$prefix" ]]; then
	run chown -R "root:${SERVICE_USER}" "$config_dir"
	for file in "${SECRET_FILES[@]}"; do
		if [[ -f "${config_dir}/${file}" || $dry_run -eq 1 ]]; then run chown "${SERVICE_USER}:${SERVICE_USER}" "${config_dir}/${file}"; fi
	done
	run chown "${SERVICE_USER}:${SERVICE_USER}" "$state_dir"
	if command -v systemctl >/dev/null && [[ -d /run/systemd/system ]]; then
		run systemctl daemon-reload
	else
		note "skipped: systemctl daemon-reload (systemd is not running here)"
	fi
fi

cat <<EOF
install: done. Next:
  1. Review ${config_dir}/conclave.yaml (vip, interface, peers, bootstrapExpect) and put what differs
     on this BMC (nodeName, role, priority, labels) in ${config_dir}/conclave.local.yaml.
  2. Write ${config_dir}/bmc-credentials (mode 0600, owner ${SERVICE_USER}): username and password
     of a local Redfish account of this BMC.
  3. Load the firewall rules if this host filters: nft -f ${share_dir#"$prefix"}/conclave.nft
  4. systemctl enable --now conclaved && conclave status
EOF
