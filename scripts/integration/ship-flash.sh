#!/usr/bin/env bash
# Issue 7: scripts/flash.sh on a small synthetic Raspberry Pi OS image.
#
# The image is built here without loop mounts: an MBR with a FAT32 boot
# partition (mkfs.vfat + mcopy: config.txt, cmdline.txt) and an ext4 root
# (mkfs.ext4 -d: /etc, and an ARM /usr/bin/dpkg so the architecture is
# detected as armhf), compressed with xz like the real downloads.
# After flash.sh --out, the test reads both file systems back (mtools,
# debugfs) and checks config.txt, cmdline.txt, ssh, userconf.txt, the
# first-boot unit and script, the .deb (byte-identical), the config (0600),
# hostname, hosts and the Wi-Fi connection (0600); fsck is clean on both
# partitions; flashing the result again does not duplicate anything.
# --device is checked for refusals only (a non-block file, the system disk),
# without --yes and with stdin closed, so nothing could be written anyway.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
fail() { echo "ship-flash.sh: FAIL: $*" >&2; exit 1; }
for p in sfdisk mkfs.vfat mcopy mtype mdir mkfs.ext4 debugfs e2fsck fsck.vfat xz openssl; do
	command -v "$p" >/dev/null || fail "$p not installed (scripts/deps/ship.apt)"
done
tmp=$(mktemp -d)
trap '[ -n "${KEEP:-}" ] || rm -rf "$tmp"' EXIT
export MTOOLS_SKIP_CHECK=1

step() { printf -- '--- %s\n' "$*"; }

step "host binary and armhf package"
go build -o "$tmp/mwi-agent" ./agent/cmd/mwi-agent
export MWI_AGENT=$tmp/mwi-agent
export DIST=$tmp/dist SOURCE_DATE_EPOCH=1700000000 DEB_VERSION=9.8.7~flashtest VERSION=v9.8.7-flashtest
scripts/package.sh armhf
deb=$DIST/mwi-agent_${DEB_VERSION}_armhf.deb

step "synthetic Raspberry Pi OS image"
img=$tmp/raspios.img
truncate -s 90M "$img"
sfdisk -q "$img" <<'PT'
label: dos
start=2048, size=98304, type=c
start=100352, type=83
PT
truncate -s 48M "$tmp/boot.fat"
mkfs.vfat -F 32 -s 1 -n bootfs "$tmp/boot.fat" >/dev/null 2>&1
printf '# For more options see http://rptl.io/configtxt\ndtparam=audio=on\n\n[pi4]\narm_boost=1\n' >"$tmp/config.txt"
printf 'console=serial0,115200 console=tty1 root=PARTUUID=12345678-02 rootfstype=ext4 fsck.repair=yes rootwait\n' >"$tmp/cmdline.txt"
mcopy -i "$tmp/boot.fat" "$tmp/config.txt" "$tmp/cmdline.txt" ::
dd if="$tmp/boot.fat" of="$img" bs=512 seek=2048 conv=notrunc status=none
rootdir=$tmp/rootdir
mkdir -p "$rootdir/etc/systemd/system/multi-user.target.wants" "$rootdir/usr/bin" "$rootdir/var/lib"
printf 'raspberrypi\n' >"$rootdir/etc/hostname"
printf '127.0.0.1\tlocalhost\n::1\t\tlocalhost ip6-localhost ip6-loopback\n127.0.1.1\traspberrypi\n' >"$rootdir/etc/hosts"
# an ARM ELF as /usr/bin/dpkg: the architecture probe reads its header
cp "$DIST/mwi-agent_linux_armv6" "$rootdir/usr/bin/dpkg"
truncate -s 39M "$tmp/root.ext4"
mkfs.ext4 -q -F -L rootfs -d "$rootdir" "$tmp/root.ext4"
dd if="$tmp/root.ext4" of="$img" bs=512 seek=100352 conv=notrunc status=none
rm -f "$tmp/boot.fat" "$tmp/root.ext4"
xz -T1 -1 -k "$img"
ls -l "$img" "$img.xz" | awk '{print $5, $NF}'

cat >"$tmp/site.yaml" <<'YAML'
board: devboard-leds
accounts:
  - name: desk
    aor: sip:1001@pbx.example.com
    password: s3cret
YAML

step "flash.sh --out (from .xz)"
out=$tmp/flashed.img
scripts/flash.sh --image "$img.xz" --out "$out" --config "$tmp/site.yaml" \
	--wifi 'Home Net:correct horse battery' --wifi-country DE --hostname lamp-1 \
	--user maker:pw123 --ssh --deb "$deb"

boot="$out@@$((2048 * 512))"
rootfs="$out?offset=$((100352 * 512))"

step "boot partition"
mtype -i "$boot" ::config.txt | tr -d '\r' >"$tmp/got-config.txt"
cat "$tmp/got-config.txt"
grep -q '^\[pi4\]$' "$tmp/got-config.txt" || fail "original config.txt content lost"
want=$("$MWI_AGENT" pi-config --board devboard-leds)
for l in '[all]' dtparam=i2c_arm=on gpio=22=op,dl gpio=23=op,dl gpio=24=op,dl gpio=25=op,dl gpio=17=op,dl gpio=27=ip,pu; do
	grep -qxF "$l" <<<"$want" || fail "pi-config lacks $l"
	# after the marker, so it applies to every Pi model ([all]), not just [pi4]
	sed -n '/^# mwi-agent: board devboard-leds/,$p' "$tmp/got-config.txt" | grep -qxF -- "$l" || fail "config.txt lacks $l in the mwi-agent block"
done
tail -1 "$tmp/got-config.txt" | grep -qx '# end mwi-agent' || fail "config.txt block not closed"
cmdline=$(mtype -i "$boot" ::cmdline.txt | tr -d '\r')
[ "$(grep -c '' <<<"$cmdline")" = 1 ] || fail "cmdline.txt is not one line"
grep -q 'rootwait cfg80211.ieee80211_regdom=DE$' <<<"$cmdline" || fail "cmdline.txt: $cmdline"
grep -qi '::/ssh$' <<<"$(mdir -i "$boot" -b ::)" || fail "no ssh file"
userconf=$(mtype -i "$boot" ::userconf.txt | tr -d '\r')
[[ $userconf =~ ^maker:\$6\$ ]] || fail "userconf.txt: $userconf"
salt=$(cut -d'$' -f3 <<<"$userconf")
[ "$(openssl passwd -6 -salt "$salt" pw123)" = "${userconf#maker:}" ] || fail "userconf.txt password hash does not match"

step "root file system"
dbg() { debugfs -R "$1" "$rootfs" 2>/dev/null; }
mode_of() { dbg "stat $1" | sed -nE 's/.*Mode: +0?([0-7]+).*/\1/p' | head -1; }
owner_of() { dbg "stat $1" | sed -nE 's/.*User: +([0-9]+) +Group: +([0-9]+).*/\1:\2/p' | head -1; }
fb=/var/lib/mwi-agent-firstboot
dbg "dump $fb/mwi-agent.deb $tmp/got.deb" >/dev/null
cmp -s "$deb" "$tmp/got.deb" || fail "the .deb in the image differs"
[ "$(mode_of $fb/firstboot.sh)" = 755 ] || fail "firstboot.sh mode $(mode_of $fb/firstboot.sh)"
fbs=$(dbg "cat $fb/firstboot.sh")
grep -q 'dpkg --force-confold -i "$dir/mwi-agent.deb"' <<<"$fbs" || fail "firstboot.sh does not install the package"
grep -q 'usermod -a -G gpio,i2c,audio' <<<"$fbs" || fail "firstboot.sh does not add users to the groups"
[ "$(dbg "cat $fb/users")" = maker ] || fail "users file"
[ "$(dbg "cat $fb/wifi-country")" = DE ] || fail "wifi-country file"
unit=$(dbg "cat /etc/systemd/system/mwi-agent-firstboot.service")
grep -q "^ExecStart=/bin/sh $fb/firstboot.sh$" <<<"$unit" || fail "first-boot unit: $unit"
grep -q '^WantedBy=multi-user.target$' <<<"$unit" || fail "first-boot unit not wanted by multi-user.target"
link=$(dbg "stat /etc/systemd/system/multi-user.target.wants/mwi-agent-firstboot.service")
grep -q 'Type: symlink' <<<"$link" && grep -q 'Fast link dest: "/etc/systemd/system/mwi-agent-firstboot.service"' <<<"$link" || fail "first-boot unit not enabled: $link"
dbg "dump /etc/mwi-agent/config.yaml $tmp/got.yaml" >/dev/null
cmp -s "$tmp/site.yaml" "$tmp/got.yaml" || fail "config differs"
[ "$(mode_of /etc/mwi-agent/config.yaml)" = 600 ] || fail "config mode $(mode_of /etc/mwi-agent/config.yaml)"
[ "$(owner_of /etc/mwi-agent/config.yaml)" = 0:0 ] || fail "config owner $(owner_of /etc/mwi-agent/config.yaml)"
[ "$(dbg "cat /etc/hostname")" = lamp-1 ] || fail "hostname"
hosts=$(dbg "cat /etc/hosts")
grep -qP '^127\.0\.1\.1\tlamp-1$' <<<"$hosts" && ! grep -q raspberrypi <<<"$hosts" && grep -q '^127.0.0.1' <<<"$hosts" || fail "hosts: $hosts"
nm=/etc/NetworkManager/system-connections/mwi-agent-wifi.nmconnection
[ "$(mode_of $nm)" = 600 ] || fail "wifi connection mode $(mode_of $nm)"
nmc=$(dbg "cat $nm")
grep -qx 'ssid=Home Net' <<<"$nmc" && grep -qx 'psk=correct horse battery' <<<"$nmc" || fail "wifi connection: $nmc"
# Run the first-boot script as the Pi would, with the system commands it
# calls replaced by stubs that log their arguments: it must set the Wi-Fi
# country, install the .deb keeping our config, add the users to the groups,
# disable itself and start the agent, in that order.
fbdir=$tmp/fb
mkdir -p "$fbdir/bin" "$fbdir/lib"
for f in firstboot.sh users wifi-country mwi-agent.deb; do dbg "dump $fb/$f $fbdir/lib/$f" >/dev/null; done
for c in dpkg apt-get usermod systemctl raspi-config rfkill; do
	printf '#!/bin/sh\necho "%s $*" >>"%s"\n' "$c" "$fbdir/calls" >"$fbdir/bin/$c"
done
printf '#!/bin/sh\n[ "$1 $2" = "passwd 1000" ] && echo "pi:x:1000:1000::/home/pi:/bin/bash"\n' >"$fbdir/bin/getent"
printf '#!/bin/sh\ncase "$1" in maker|pi) exit 0 ;; esac\nexit 1\n' >"$fbdir/bin/id"
chmod +x "$fbdir"/bin/*
PATH="$fbdir/bin:$PATH" MWI_FIRSTBOOT_DIR=$fbdir/lib MWI_FIRSTBOOT_LOG=$fbdir/log sh "$fbdir/lib/firstboot.sh" || { cat "$fbdir/log"; fail "firstboot.sh failed"; }
want_calls="raspi-config nonint do_wifi_country DE
rfkill unblock wifi
dpkg --force-confold -i $fbdir/lib/mwi-agent.deb
usermod -a -G gpio,i2c,audio maker
usermod -a -G gpio,i2c,audio pi
systemctl disable mwi-agent-firstboot.service
systemctl enable mwi-agent.service
systemctl start --no-block mwi-agent.service"
[ "$(cat "$fbdir/calls")" = "$want_calls" ] || fail "firstboot.sh calls:\n$(cat "$fbdir/calls")\nwant:\n$want_calls"
[ ! -e "$fbdir/lib/mwi-agent.deb" ] || fail "firstboot.sh kept the .deb"
echo "firstboot.sh (stubbed system commands): wifi country, dpkg --force-confold, usermod maker+pi, disable, start: ok"
echo "root: .deb, firstboot.sh 755, unit enabled, config 600 0:0, hostname, hosts, Wi-Fi 600: ok"

step "file systems are clean"
dd if="$out" of="$tmp/p1" bs=512 skip=2048 count=98304 status=none
fsck.vfat -n "$tmp/p1" >"$tmp/fsck1.log" 2>&1 || { cat "$tmp/fsck1.log"; fail "FAT not clean"; }
rm -f "$tmp/p1"
e2fsck -fn "$rootfs" >"$tmp/fsck2.log" 2>&1 || { cat "$tmp/fsck2.log"; fail "ext4 not clean"; }

step "flash the result again (plain .img, other board): one block, replaced"
cp "$out" "$tmp/again.src.img"
scripts/flash.sh --image "$tmp/again.src.img" --out "$tmp/again.img" --config "$tmp/site.yaml" --board rpi-ata \
	--wifi 'Home Net:correct horse battery' --wifi-country DE --deb "$deb" >/dev/null
boot2="$tmp/again.img@@$((2048 * 512))"
c2=$(mtype -i "$boot2" ::config.txt | tr -d '\r')
[ "$(grep -c '^# mwi-agent: board' <<<"$c2")" = 1 ] || fail "config.txt has $(grep -c '^# mwi-agent: board' <<<"$c2") mwi-agent blocks"
grep -q '^# mwi-agent: board rpi-ata' <<<"$c2" && grep -qx 'gpio=5=op,dl' <<<"$c2" && ! grep -qx 'gpio=27=ip,pu' <<<"$c2" || fail "block not replaced: $c2"
[ "$(mtype -i "$boot2" ::cmdline.txt | grep -o 'regdom=' | wc -l)" = 1 ] || fail "regdom added twice"
e2fsck -fn "$tmp/again.img?offset=$((100352 * 512))" >"$tmp/fsck3.log" 2>&1 || { cat "$tmp/fsck3.log"; fail; }; echo "second flash: one block (rpi-ata), regdom once, ext4 clean"

step "refusals"
expect_refusal() { # pattern args...
	local pat=$1
	shift
	if scripts/flash.sh "$@" </dev/null >"$tmp/refuse.log" 2>&1; then
		cat "$tmp/refuse.log"
		fail "flash.sh $* was not refused"
	fi
	grep -q "$pat" "$tmp/refuse.log" || { cat "$tmp/refuse.log"; fail "refusal of $* did not say '$pat'"; }
	echo "refused ($pat): $*"
}
# nothing can be written in these: no --yes, stdin closed, and the image does not exist
expect_refusal "not a block device" --image "$tmp/none.img" --device "$tmp/again.img" --config "$tmp/site.yaml"
expect_refusal "exactly one of" --image "$img" --device /dev/null --out "$tmp/x.img" --config "$tmp/site.yaml"
printf 'accounts:\n  - aor: "not a uri"\n' >"$tmp/bad.yaml"
expect_refusal "fix .* first" --image "$img" --out "$tmp/x.img" --config "$tmp/bad.yaml"
expect_refusal "unknown board" --image "$img" --out "$tmp/x.img" --config "$tmp/site.yaml" --board nope
[ ! -e "$tmp/x.img" ] || fail "a refused run wrote $tmp/x.img"
sysdev=$(findmnt -no SOURCE / 2>/dev/null || true)
if [ -b "$sysdev" ]; then
	disk=/dev/$(lsblk -no PKNAME "$sysdev" 2>/dev/null | head -1)
	[ "$disk" != /dev/ ] || disk=$sysdev
	if [ "$(lsblk -dno TYPE "$disk")" = disk ]; then
		expect_refusal "system disk\|mounted" --image "$tmp/none.img" --device "$disk" --config "$tmp/site.yaml"
	fi
else
	echo "root is not on a block device here ($sysdev): system-disk refusal not exercised"
fi
echo "ship-flash.sh: ok"
