#!/usr/bin/env bash
# Install or update mwi-agent on a device over SSH.
#
#   scripts/deploy.sh [options] user@host
#
#   --config FILE   also install FILE as /etc/mwi-agent/config.yaml (checked
#                   on the device with "mwi-agent check-config" first; owner
#                   mwi-agent, mode 0600)
#   --deb FILE      the package to install (default: dist/mwi-agent_*_ARCH.deb,
#                   built with scripts/package.sh ARCH when missing)
#   --arch ARCH     armhf|arm64|amd64: skip detection
#   --port N        SSH port (default 22)
#   -i FILE         SSH identity file
#   -o OPTION       extra ssh/scp option, repeatable (e.g. -o StrictHostKeyChecking=accept-new)
#   --root DIR      install into DIR on the device instead of / (dpkg --root,
#                   maintainer scripts run chrootless); no service restart.
#                   For preparing a root file system, and for the test
#                   (scripts/integration/ship-deploy.sh).
#   --dry-run       print each step and its command; runs nothing on the
#                   device except the read-only architecture detection
#                   (give --arch to skip that too)
#
# Steps: detect the architecture (uname -m; dpkg --print-architecture wins,
# since 32-bit Raspberry Pi OS on a Pi 4/5 runs a 64-bit kernel), copy the
# .deb, dpkg -i it, copy the config if given, restart the service and show
# "mwi-agent status" (or systemctl status) from the device. Non-root users
# need sudo on the device.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)

usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; exit "${1:-2}"; }

config= deb= arch= port= dry=0 target= droot=
sshopts=(-o BatchMode=yes -o ConnectTimeout=10)
while [ $# -gt 0 ]; do
	case $1 in
	--config) config=$2; shift 2 ;;
	--deb) deb=$2; shift 2 ;;
	--arch) arch=$2; shift 2 ;;
	--port) port=$2; shift 2 ;;
	-i) sshopts+=(-i "$2"); shift 2 ;;
	-o) sshopts+=(-o "$2"); shift 2 ;;
	--root) droot=$2; shift 2 ;;
	--dry-run) dry=1; shift ;;
	-h | --help) usage 0 ;;
	-*) echo "deploy.sh: unknown option $1" >&2; usage ;;
	*) [ -z "$target" ] || { echo "deploy.sh: more than one target" >&2; usage; }; target=$1; shift ;;
	esac
done
[ -n "$target" ] || usage
[ -z "$config" ] || [ -f "$config" ] || { echo "deploy.sh: config $config not found" >&2; exit 1; }
[ -z "$port" ] || sshopts+=(-o "Port=$port")
case $droot in "" | /*) ;; *) echo "deploy.sh: --root needs an absolute path" >&2; exit 2 ;; esac

n=0
step() { n=$((n + 1)); printf '[%d] %s\n' "$n" "$*"; }
q() { printf '%q ' "$@"; }
# remote CMD: run a shell command on the device (printed in dry-run).
remote() {
	if [ $dry = 1 ]; then
		echo "    ssh $target $1"
	else
		ssh "${sshopts[@]}" "$target" "$1"
	fi
}
copy() { # local remote-path
	if [ $dry = 1 ]; then
		echo "    scp $1 $target:$2"
	else
		scp -q "${sshopts[@]}" "$1" "$target:$2"
	fi
}

step "detect the device's architecture"
# read-only probe: machine, dpkg architecture, uid (for sudo)
if [ -n "$arch" ] && [ $dry = 1 ]; then
	echo "    given: $arch"
	sudo="sudo "
else
	m=$(ssh "${sshopts[@]}" "$target" 'uname -m; dpkg --print-architecture 2>/dev/null || echo; id -u') || {
		echo "deploy.sh: cannot reach $target over SSH" >&2
		exit 1
	}
	machine=$(sed -n 1p <<<"$m") dpkgarch=$(sed -n 2p <<<"$m") uid=$(sed -n 3p <<<"$m")
	sudo="sudo "
	[ "$uid" != 0 ] || sudo=
	if [ -n "$arch" ]; then
		echo "    given: $arch"
	else
		case $machine in
		aarch64 | arm64) arch=arm64 ;;
		armv6l | armv7l | armv8l) arch=armhf ;;
		x86_64) arch=amd64 ;;
		*) echo "deploy.sh: unsupported machine $machine" >&2; exit 1 ;;
		esac
		case $dpkgarch in
		armhf | arm64 | amd64) [ "$dpkgarch" = "$arch" ] || echo "    uname -m says $machine, dpkg says $dpkgarch: using $dpkgarch"; arch=$dpkgarch ;;
		"") ;;
		*) echo "deploy.sh: unsupported dpkg architecture $dpkgarch" >&2; exit 1 ;;
		esac
		echo "    $machine -> $arch"
	fi
fi
case $arch in armhf | arm64 | amd64) ;; *) echo "deploy.sh: unknown architecture $arch" >&2; exit 2 ;; esac

step "pick the package"
if [ -z "$deb" ]; then
	deb=$(ls -t "$root"/dist/mwi-agent_*_"$arch".deb 2>/dev/null | head -1 || true)
	if [ -z "$deb" ]; then
		if [ $dry = 1 ]; then
			echo "    scripts/package.sh $arch"
			deb=$root/dist/mwi-agent_VERSION_$arch.deb
		else
			"$root/scripts/package.sh" "$arch"
			deb=$(ls -t "$root"/dist/mwi-agent_*_"$arch".deb | head -1)
		fi
	fi
fi
[ $dry = 1 ] || [ -f "$deb" ] || { echo "deploy.sh: $deb not found" >&2; exit 1; }
echo "    $deb"

# a private temp dir on the device for the uploads
tmpdir=/tmp/mwi-agent-deploy.$$
step "copy the package to $target:$tmpdir"
remote "mkdir -m 0700 -p $tmpdir"
if [ $dry = 0 ]; then
	# remove the uploads on the device whatever happens next
	trap 'ssh "${sshopts[@]}" "$target" "rm -rf $tmpdir" >/dev/null 2>&1 || true' EXIT
fi
copy "$deb" "$tmpdir/mwi-agent.deb"

step "install the package${droot:+ into $droot}"
if [ -n "$droot" ]; then
	remote "${sudo}dpkg --root=$(q "$droot") --force-script-chrootless --force-depends -i $tmpdir/mwi-agent.deb"
else
	remote "${sudo}dpkg -i $tmpdir/mwi-agent.deb || { ${sudo}apt-get install -f -y && ${sudo}dpkg -i $tmpdir/mwi-agent.deb; }"
fi
bin=${droot}/usr/bin/mwi-agent
conf=${droot}/etc/mwi-agent/config.yaml

if [ -n "$config" ]; then
	step "copy and check the config, install it as $conf (mwi-agent, 0600)"
	copy "$config" "$tmpdir/config.yaml"
	remote "$(q "$bin") check-config --config $tmpdir/config.yaml"
	# numeric ids from the target root's passwd (the user may exist only there)
	remote "ids=\$(grep '^mwi-agent:' $(q "${droot}/etc/passwd") | cut -d: -f3,4) && ${sudo}install -m 0600 -o \${ids%:*} -g \${ids#*:} $tmpdir/config.yaml $(q "$conf")"
else
	step "no --config: keep the device's $conf"
fi

step "clean up $tmpdir"
remote "rm -rf $tmpdir"
trap - EXIT

if [ -n "$droot" ]; then
	step "restart: skipped (--root $droot has no service manager)"
	step "show the installed agent"
	remote "$(q "$bin") version && $(q "$bin") check-config --config $(q "$conf") && ls -ln $(q "$conf")"
else
	step "restart the service"
	remote "${sudo}systemctl daemon-reload && ${sudo}systemctl restart mwi-agent && sleep 2 && systemctl is-active mwi-agent"
	step "status from the device"
	remote "${sudo}mwi-agent status --config /etc/mwi-agent/config.yaml || ${sudo}mwi-agent status --socket /var/lib/mwi-agent/mwi-agent.sock || systemctl status --no-pager --lines=20 mwi-agent"
fi
[ $dry = 1 ] && echo "dry run: nothing was changed on $target" || echo "deployed to $target"
