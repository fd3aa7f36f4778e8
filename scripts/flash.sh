#!/usr/bin/env bash
# Write a Raspberry Pi OS image and set it up so that the first boot
# installs and starts mwi-agent.
#
#   scripts/flash.sh --image raspios.img[.xz] (--device /dev/sdX | --out new.img)
#                    --config config.yaml [options]
#
#   --image FILE       Raspberry Pi OS image, .img or .img.xz
#   --device DEV       write to this SD card / USB disk (whole disk, e.g. /dev/sdb);
#                      refused if it or a partition is mounted or used as swap,
#                      or if it holds /, /boot, /usr or /var of this machine
#   --out FILE         write a new image file instead (then flash it with any tool)
#   --config FILE      the agent's config.yaml (checked first with
#                      "mwi-agent check-config"); installed as
#                      /etc/mwi-agent/config.yaml, mode 0600
#   --board NAME       board for config.txt (default: the config's "board:")
#   --wifi SSID:PSK    a NetworkManager Wi-Fi connection (Raspberry Pi OS
#                      bookworm and later)
#   --wifi-country CC  Wi-Fi regulatory country (default GB when --wifi is given;
#                      Raspberry Pi OS keeps Wi-Fi blocked until it is set)
#   --hostname NAME    host name (/etc/hostname, /etc/hosts)
#   --user NAME[:PASS] login user to add to the gpio, i2c and audio groups; with
#                      PASS also creates it at first boot (userconf.txt)
#   --ssh              enable the SSH server at first boot
#   --deb FILE         the mwi-agent .deb (default: scripts/package.sh for the
#                      image's architecture, detected from its /usr/bin/dpkg)
#   --arch ARCH        armhf|arm64: skip detection
#   --yes              do not ask before overwriting --device
#
# What it changes, without mounting anything (mtools for the FAT boot
# partition, debugfs for the ext4 root):
#   boot  config.txt  a marked block: dtparam=i2c_arm=on for a display,
#                     dtparam=audio=on for an FXS port, gpio=N=... power-on
#                     levels for every line the board uses ("mwi-agent pi-config")
#         cmdline.txt cfg80211.ieee80211_regdom=CC (with --wifi)
#         ssh, userconf.txt (with --ssh, --user NAME:PASS)
#   root  /var/lib/mwi-agent-firstboot/{mwi-agent.deb,firstboot.sh,users}
#         /etc/systemd/system/mwi-agent-firstboot.service, enabled: at first
#           boot it installs the .deb (which creates the mwi-agent user, gpio/i2c/
#           audio groups, enables the service), adds the users to the groups,
#           starts mwi-agent and disables itself (log: /var/log/mwi-agent-firstboot.log)
#         /etc/mwi-agent/config.yaml (0600), /etc/hostname, /etc/hosts,
#         /etc/NetworkManager/system-connections/mwi-agent-wifi.nmconnection (0600)
# Running it again on the same --out image replaces its own block; nothing
# is added twice.
#
# Environment: MWI_AGENT=path to a host mwi-agent binary (default: go build,
# or dist/mwi-agent_linux_<this machine> when Go is not on PATH, as under sudo;
# so as your user run scripts/package.sh first, then sudo scripts/flash.sh
# --deb dist/mwi-agent_..._armhf.deb ...).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)

die() { echo "flash.sh: $*" >&2; exit 1; }
usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; exit "${1:-2}"; }
step() { printf '==> %s\n' "$*"; }

image= device= out= config= board= wifi= country= hostname= user= ssh=0 deb= arch= yes=0
while [ $# -gt 0 ]; do
	case $1 in
	--image) image=$2; shift 2 ;;
	--device) device=$2; shift 2 ;;
	--out) out=$2; shift 2 ;;
	--config) config=$2; shift 2 ;;
	--board) board=$2; shift 2 ;;
	--wifi) wifi=$2; shift 2 ;;
	--wifi-country) country=$2; shift 2 ;;
	--hostname) hostname=$2; shift 2 ;;
	--user) user=$2; shift 2 ;;
	--ssh) ssh=1; shift ;;
	--deb) deb=$2; shift 2 ;;
	--arch) arch=$2; shift 2 ;;
	--yes | -y) yes=1; shift ;;
	-h | --help) usage 0 ;;
	*) echo "flash.sh: unknown argument $1" >&2; usage ;;
	esac
done
[ -n "$image" ] && [ -n "$config" ] || usage
if [ -n "$device" ] && [ -n "$out" ] || { [ -z "$device" ] && [ -z "$out" ]; }; then
	die "give exactly one of --device and --out"
fi

# ---- the target device: refuse anything in use -----------------------------
if [ -n "$device" ]; then
	[ -b "$device" ] || die "$device is not a block device"
	dev=$(readlink -f "$device")
	[ "$(lsblk -dno TYPE "$dev" 2>/dev/null)" = disk ] || die "$device is not a whole disk (give /dev/sdX, not a partition)"
	# the disks holding this system's file systems
	for mp in / /boot /boot/firmware /boot/efi /usr /var /home; do
		src=$(findmnt -no SOURCE "$mp" 2>/dev/null | head -1) || continue
		[ -n "$src" ] && [ -b "$src" ] || continue
		src=$(readlink -f "$src")
		for d in "$src" $(lsblk -nspo NAME "$src" 2>/dev/null); do
			[ "$(readlink -f "$d")" = "$dev" ] && die "$device holds this machine's $mp (system disk): refusing"
		done
	done
	# any of its partitions mounted or used as swap
	for part in $(lsblk -nrpo NAME "$dev"); do
		if grep -q "^$part " /proc/mounts || grep -q "^$part " /proc/swaps; then
			die "$part is mounted or in use as swap: unmount it first"
		fi
	done
	if lsblk -nro MOUNTPOINTS "$dev" 2>/dev/null | grep -q . || lsblk -nro MOUNTPOINT "$dev" 2>/dev/null | grep -q .; then
		die "$device has mounted partitions: unmount them first"
	fi
fi
[ -f "$image" ] || die "image $image not found"
[ -f "$config" ] || die "config $config not found"
for p in sfdisk mtype mcopy debugfs xz dd; do
	command -v "$p" >/dev/null || die "$p not installed (Debian: fdisk, mtools, e2fsprogs, xz-utils)"
done

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# ---- check the config, work out the config.txt lines ------------------------
step "check $config"
agent=${MWI_AGENT:-}
if [ -z "$agent" ]; then
	case $(uname -m) in x86_64) host=amd64 ;; aarch64) host=arm64 ;; armv6l) host=armv6 ;; armv7l) host=armv7 ;; *) host= ;; esac
	if command -v go >/dev/null; then
		(cd "$root" && CGO_ENABLED=0 go build -o "$tmp/mwi-agent" ./agent/cmd/mwi-agent)
		agent=$tmp/mwi-agent
	elif [ -n "$host" ] && [ -x "${DIST:-$root/dist}/mwi-agent_linux_$host" ]; then
		agent=${DIST:-$root/dist}/mwi-agent_linux_$host # e.g. under sudo without Go on PATH
	else
		die "no Go on PATH: run scripts/build.sh first, or set MWI_AGENT"
	fi
fi
"$agent" check-config --config "$config" || die "fix $config first"
if [ -n "$board" ]; then
	"$agent" pi-config --board "$board" >"$tmp/configtxt"
else
	"$agent" pi-config --config "$config" >"$tmp/configtxt"
fi
echo "# end mwi-agent" >>"$tmp/configtxt"
board_line=$(head -1 "$tmp/configtxt")
echo "    ${board_line#\# }"

wifi_ssid= wifi_psk=
if [ -n "$wifi" ]; then
	wifi_ssid=${wifi%%:*}
	wifi_psk=${wifi#*:}
	[ -n "$wifi_ssid" ] && [ "$wifi_psk" != "$wifi" ] || die "--wifi wants SSID:PSK"
	[ ${#wifi_psk} -ge 8 ] && [ ${#wifi_psk} -le 63 ] || die "--wifi: a WPA passphrase has 8 to 63 characters"
	country=${country:-GB}
fi
[ -z "$country" ] || [[ $country =~ ^[A-Z]{2}$ ]] || die "--wifi-country wants a two-letter code like GB, US, DE"
[ -z "$hostname" ] || [[ $hostname =~ ^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$ ]] || die "--hostname $hostname is not a valid host name"
user_name=${user%%:*} user_pass=
[ "$user" = "$user_name" ] || user_pass=${user#*:}
[ -z "$user_name" ] || [[ $user_name =~ ^[a-z_][a-z0-9_-]*$ ]] || die "--user $user_name is not a valid user name"

# ---- confirm and write -------------------------------------------------------
target=${out:-$device}
if [ -n "$device" ]; then
	info=$(lsblk -dno SIZE,MODEL,SERIAL "$dev" | tr -s ' ')
	if [ $yes != 1 ]; then
		printf 'Everything on %s (%s) will be overwritten. Type "yes" to continue: ' "$device" "$info" >&2
		read -r answer || answer=
		[ "$answer" = yes ] || die "not confirmed; nothing written"
	fi
fi
step "write $image to $target"
case $image in
*.xz) xz -dc "$image" | dd of="$target" bs=4M conv=fsync status=none ;;
*) dd if="$image" of="$target" bs=4M conv=fsync status=none ;;
esac
[ -z "$device" ] || blockdev --rereadpt "$device" 2>/dev/null || true

# ---- partitions -------------------------------------------------------------
dump=$(sfdisk -d "$target") || die "no partition table in $image"
sector=$(sed -nE 's/^sector-size: *([0-9]+).*/\1/p' <<<"$dump")
sector=${sector:-512}
part_start() { sed -nE "$1{s/.*start= *([0-9]+).*/\1/p}" <<<"$(grep -E '^[^ ].* : start=' <<<"$dump")"; }
part_type() { sed -nE "$1{s/.*type= *([^,]+).*/\1/p}" <<<"$(grep -E '^[^ ].* : start=' <<<"$dump")"; }
boot_off=$(($(part_start 1) * sector))
root_off=$(($(part_start 2) * sector))
case $(part_type 1) in c | b | e | ebd0a0a2-b9e5-4433-87c0-68b6b72699c7 | EBD0A0A2-B9E5-4433-87C0-68B6B72699C7) ;;
*) die "partition 1 of $image is not FAT (type $(part_type 1)): not a Raspberry Pi OS image?" ;;
esac
boot="$target@@$boot_off"
rootfs="$target?offset=$root_off"
export MTOOLS_SKIP_CHECK=1
mtype -i "$boot" ::config.txt >"$tmp/config.txt" 2>/dev/null || die "no config.txt on the boot partition"
debugfs -R "stat /etc" "$rootfs" >/dev/null 2>&1 || die "partition 2 of $image is not an ext4 root file system"

# ---- architecture and package ----------------------------------------------
if [ -z "$arch" ]; then
	debugfs -R "dump -p /usr/bin/dpkg $tmp/dpkg" "$rootfs" >/dev/null 2>&1 || true
	[ -s "$tmp/dpkg" ] || die "cannot read /usr/bin/dpkg from the image; give --arch"
	case $(od -An -tx1 -j18 -N2 "$tmp/dpkg" | tr -d ' \n') in
	2800) arch=armhf ;;
	b700) arch=arm64 ;;
	3e00) arch=amd64 ;;
	*) die "unknown machine in the image's /usr/bin/dpkg; give --arch" ;;
	esac
	echo "    image architecture: $arch"
fi
if [ -z "$deb" ]; then
	"$root/scripts/package.sh" "$arch" >/dev/null
	deb=$(ls -t "${DIST:-$root/dist}"/mwi-agent_*_"$arch".deb | head -1)
fi
[ -f "$deb" ] || die "$deb not found"
[ "$(dpkg-deb -f "$deb" Architecture 2>/dev/null || echo "$arch")" = "$arch" ] || die "$deb is not for $arch"

# ---- boot partition ---------------------------------------------------------
sshnote=; [ $ssh = 0 ] || sshnote=", ssh"
step "boot partition: config.txt${country:+, cmdline.txt}$sshnote${user_pass:+, userconf.txt}"
# drop an earlier mwi-agent block, then append ours
tr -d '\r' <"$tmp/config.txt" | awk '/^# mwi-agent: board /{skip=1} !skip{print} /^# end mwi-agent$/{skip=0}' >"$tmp/config.new"
[ -z "$(tail -c1 "$tmp/config.new")" ] || echo >>"$tmp/config.new"
cat "$tmp/configtxt" >>"$tmp/config.new"
mcopy -o -i "$boot" "$tmp/config.new" ::config.txt
if [ -n "$country" ]; then
	mtype -i "$boot" ::cmdline.txt >"$tmp/cmdline" 2>/dev/null || die "no cmdline.txt on the boot partition"
	line=$(tr -d '\r\n' <"$tmp/cmdline" | sed -E 's/ ?cfg80211\.ieee80211_regdom=[A-Z]+//')
	printf '%s cfg80211.ieee80211_regdom=%s\n' "$line" "$country" >"$tmp/cmdline"
	mcopy -o -i "$boot" "$tmp/cmdline" ::cmdline.txt
fi
if [ $ssh = 1 ]; then
	: >"$tmp/ssh"
	mcopy -o -i "$boot" "$tmp/ssh" ::ssh
fi
if [ -n "$user_pass" ]; then
	command -v openssl >/dev/null || die "openssl needed to hash the --user password"
	printf '%s:%s\n' "$user_name" "$(printf '%s' "$user_pass" | openssl passwd -6 -stdin)" >"$tmp/userconf.txt"
	mcopy -o -i "$boot" "$tmp/userconf.txt" ::userconf.txt
fi

# ---- root file system -------------------------------------------------------
step "root file system: first-boot installer, config${hostname:+, hostname}${wifi:+, Wi-Fi}"
fb=/var/lib/mwi-agent-firstboot
cat >"$tmp/firstboot.sh" <<'SH'
#!/bin/sh
# mwi-agent first boot (written by scripts/flash.sh): install the package,
# put the login users in the hardware groups, start the agent, then disable
# this unit. Log: /var/log/mwi-agent-firstboot.log
dir=${MWI_FIRSTBOOT_DIR:-/var/lib/mwi-agent-firstboot}
exec >>"${MWI_FIRSTBOOT_LOG:-/var/log/mwi-agent-firstboot.log}" 2>&1
echo "$(date -u): mwi-agent first boot"
set -x
if [ -f "$dir/wifi-country" ]; then
	c=$(cat "$dir/wifi-country")
	if command -v raspi-config >/dev/null; then raspi-config nonint do_wifi_country "$c" || true; fi
	rfkill unblock wifi 2>/dev/null || true
fi
# The config is already in place: keep it (--force-confold).
if ! dpkg --force-confold -i "$dir/mwi-agent.deb"; then
	apt-get -y -o Dpkg::Options::=--force-confold -f install || exit 1
fi
users=$(cat "$dir/users" 2>/dev/null)
first=$(getent passwd 1000 | cut -d: -f1)
for u in $users $first; do
	if id "$u" >/dev/null 2>&1; then
		usermod -a -G gpio,i2c,audio "$u"
	fi
done
systemctl disable mwi-agent-firstboot.service
rm -f "$dir/mwi-agent.deb"
systemctl enable mwi-agent.service
systemctl start --no-block mwi-agent.service
echo "done"
SH
cat >"$tmp/firstboot.service" <<UNIT
[Unit]
Description=mwi-agent first boot: install and start the agent
Documentation=https://github.com/mwi-agent/mwi-agent/blob/main/docs/ship.md
After=local-fs.target userconfig.service systemd-remount-fs.service
ConditionPathExists=$fb/mwi-agent.deb

[Service]
Type=oneshot
ExecStart=/bin/sh $fb/firstboot.sh
TimeoutStartSec=10min

[Install]
WantedBy=multi-user.target
UNIT
printf '%s\n' "$user_name" >"$tmp/users"
cmds=$tmp/debugfs.cmds
: >"$cmds"
declare -A made=()
mkdirs() { # every missing ancestor of $1 and $1 (debugfs mkdir on an existing
	# name leaks an inode, so look first)
	local p= part
	IFS=/ read -r -a parts <<<"${1#/}"
	for part in "${parts[@]}"; do
		p="$p/$part"
		[ -z "${made[$p]:-}" ] || continue
		made[$p]=1
		st=$(debugfs -R "stat $p" "$rootfs" 2>/dev/null || true)
		if ! grep -q '^Inode:' <<<"$st"; then
			echo "mkdir $p" >>"$cmds"
		fi
	done
}
put() { # local-file image-path octal-mode
	echo "rm $2" >>"$cmds"
	echo "write $1 $2" >>"$cmds"
	echo "sif $2 mode 0100$3" >>"$cmds"
	echo "sif $2 uid 0" >>"$cmds"
	echo "sif $2 gid 0" >>"$cmds"
}
mkdirs $fb
put "$deb" $fb/mwi-agent.deb 644
put "$tmp/firstboot.sh" $fb/firstboot.sh 755
put "$tmp/users" $fb/users 644
if [ -n "$country" ]; then
	echo "$country" >"$tmp/wifi-country"
	put "$tmp/wifi-country" $fb/wifi-country 644
fi
mkdirs /etc/systemd/system/multi-user.target.wants
put "$tmp/firstboot.service" /etc/systemd/system/mwi-agent-firstboot.service 644
echo "rm /etc/systemd/system/multi-user.target.wants/mwi-agent-firstboot.service" >>"$cmds"
echo "symlink /etc/systemd/system/multi-user.target.wants/mwi-agent-firstboot.service /etc/systemd/system/mwi-agent-firstboot.service" >>"$cmds"
mkdirs /etc/mwi-agent
put "$config" /etc/mwi-agent/config.yaml 600
if [ -n "$hostname" ]; then
	echo "$hostname" >"$tmp/hostname"
	put "$tmp/hostname" /etc/hostname 644
	debugfs -R "cat /etc/hosts" "$rootfs" 2>/dev/null | grep -v '^127\.0\.1\.1[[:space:]]' >"$tmp/hosts" || true
	printf '127.0.1.1\t%s\n' "$hostname" >>"$tmp/hosts"
	put "$tmp/hosts" /etc/hosts 644
fi
if [ -n "$wifi" ]; then
	uuid=$(cat /proc/sys/kernel/random/uuid)
	cat >"$tmp/wifi.nmconnection" <<NM
[connection]
id=$wifi_ssid
uuid=$uuid
type=wifi
autoconnect=true

[wifi]
mode=infrastructure
ssid=$wifi_ssid

[wifi-security]
key-mgmt=wpa-psk
psk=$wifi_psk

[ipv4]
method=auto

[ipv6]
addr-gen-mode=default
method=auto
NM
	mkdirs /etc/NetworkManager/system-connections
	put "$tmp/wifi.nmconnection" /etc/NetworkManager/system-connections/mwi-agent-wifi.nmconnection 600
fi
debugfs -w -f "$cmds" "$rootfs" >"$tmp/debugfs.log" 2>&1 || { cat "$tmp/debugfs.log"; die "debugfs failed"; }
# debugfs goes on after a failed command: check what matters landed
for f in $fb/mwi-agent.deb $fb/firstboot.sh /etc/mwi-agent/config.yaml /etc/systemd/system/mwi-agent-firstboot.service; do
	st=$(debugfs -R "stat $f" "$rootfs" 2>/dev/null || true)
	grep -q 'Type: regular' <<<"$st" || { cat "$tmp/debugfs.log"; die "could not write $f into the image (root file system full?)"; }
done
sync
step "done: $target"
echo "    first boot installs $(basename "$deb"), starts mwi-agent; log in /var/log/mwi-agent-firstboot.log"
