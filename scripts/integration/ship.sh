#!/usr/bin/env bash
# Issue 7 (ship): build, reproducibility and .deb checks.
#
#  1. scripts/build.sh for all four targets; every artefact is a static ELF
#     of the right machine and "mwi-agent version" (amd64) shows the stamp;
#     the ARM builds run under qemu-user on the oldest CPU they target
#     (ARM1176 for armv6), and the armv7 build traps there.
#     The armv6 binary is under 8,000,000 bytes (issue 14).
#  2. Reproducible: a second build from a copy of the tree at another path,
#     with an empty GOCACHE for armv6 and amd64 (the other two with the warm
#     cache), gives byte-identical binaries.
#  3. scripts/package.sh for armhf, arm64, amd64 twice: identical .debs.
#  4. dpkg-deb -I/-c: control fields, dependencies, files, modes, conffile.
#  5. dpkg --root=THROWAWAY --force-script-chrootless -i: postinst creates
#     the user and groups, the config is owned by it with mode 0600, the
#     service is enabled; a reinstall keeps an edited conffile; then
#     systemd-analyze verify (--root) and security --offline.
# Everything happens under a temp dir, removed on exit.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "ship.sh: FAIL: $*" >&2; exit 1; }
step() { printf -- '--- %s\n' "$*"; }
for p in dpkg-deb dpkg systemd-analyze file go qemu-arm-static qemu-aarch64-static; do
	command -v "$p" >/dev/null || fail "$p not installed (scripts/deps/ship.apt)"
done

export VERSION=v9.8.7-test COMMIT=0123456789ab
step "build (all targets)"
DIST=$tmp/a scripts/build.sh
declare -A machine=([armv6]="ARM, EABI5" [armv7]="ARM, EABI5" [arm64]="ARM aarch64" [amd64]="x86-64")
for t in armv6 armv7 arm64 amd64; do
	f=$tmp/a/mwi-agent_linux_$t
	desc=$(file -b "$f")
	case $desc in *"${machine[$t]}"*"statically linked"*) ;; *) fail "$t: $desc" ;; esac
done
# Issue 14: the armv6 binary (Pi Zero / Pi 1, the armhf .deb) stays under
# 8 MB with every feature. scripts/size.sh armv6 names what pulls weight.
size6=$(stat -c %s "$tmp/a/mwi-agent_linux_armv6")
echo "armv6 binary: $size6 bytes (limit 8000000)"
[ "$size6" -lt 8000000 ] || fail "armv6 binary is $size6 bytes, not under 8000000: see scripts/size.sh armv6 and docs/memory.md (The binary)"
out=$("$tmp/a/mwi-agent_linux_amd64" version)
echo "$out"
case $out in *"v9.8.7-test"*"0123456789ab"*) ;; *) fail "version not stamped: $out" ;; esac
# Each ARM binary runs on the oldest CPU it is meant for (qemu-user CPU
# models): armv6 on the Pi Zero/1's ARM1176, armv7 on a Cortex-A7 (Pi 2),
# arm64 on a Cortex-A53 (Pi 3/Zero 2 W). The armv7 build must NOT run on the
# ARM1176: that is why the armhf package carries the armv6 binary.
for run in "armv6:qemu-arm-static -cpu arm1176" "armv7:qemu-arm-static -cpu cortex-a7" "arm64:qemu-aarch64-static -cpu cortex-a53"; do
	t=${run%%:*}
	read -r -a q <<<"${run#*:}"
	out=$("${q[@]}" "$tmp/a/mwi-agent_linux_$t" version 2>&1) || fail "$t under ${run#*:}: $out"
	grep -q "v9.8.7-test" <<<"$out" || fail "$t under qemu: $out"
	echo "$t on ${q[2]}: $out"
done
# Through an inner bash whose stderr is discarded, so its "Illegal
# instruction" report of the expected crash stays out of the log.
if bash -c '"$@"; exit $?' _ qemu-arm-static -cpu arm1176 "$tmp/a/mwi-agent_linux_armv7" version >/dev/null 2>&1; then
	fail "the armv7 build ran on an ARM1176: the CPU check proves nothing"
fi
echo "armv7 on arm1176: illegal instruction, as expected"

step "reproducible build (copy of the tree at another path)"
mkdir -p "$tmp/src/elsewhere"
tar -C "$root" --exclude=./dist --exclude=./out --exclude=./.git -cf - . | tar -C "$tmp/src/elsewhere" -xf -
(cd "$tmp/src/elsewhere" && GOCACHE=$tmp/gocache DIST=$tmp/b scripts/build.sh armv6 amd64 >/dev/null)
(cd "$tmp/src/elsewhere" && DIST=$tmp/b scripts/build.sh armv7 arm64 >/dev/null)
for t in armv6 armv7 arm64 amd64; do
	if cmp -s "$tmp/a/mwi-agent_linux_$t" "$tmp/b/mwi-agent_linux_$t"; then
		echo "identical: mwi-agent_linux_$t $(sha256sum <"$tmp/a/mwi-agent_linux_$t" | cut -c1-16)"
	else
		fail "mwi-agent_linux_$t differs between the two builds"
	fi
done
rm -rf "$tmp/gocache" "$tmp/src"

step "package twice"
export SOURCE_DATE_EPOCH=1700000000 DEB_VERSION=9.8.7~test
DIST=$tmp/a SKIP_BUILD=1 scripts/package.sh
mkdir -p "$tmp/c" && cp "$tmp"/a/mwi-agent_linux_* "$tmp/c/"
DIST=$tmp/c SKIP_BUILD=1 scripts/package.sh >/dev/null
for a in armhf arm64 amd64; do
	deb=mwi-agent_${DEB_VERSION}_$a.deb
	cmp -s "$tmp/a/$deb" "$tmp/c/$deb" || fail "$deb differs between two package runs"
	echo "identical: $deb"
done

step "inspect the .debs"
for a in armhf arm64 amd64; do
	deb=$tmp/a/mwi-agent_${DEB_VERSION}_$a.deb
	info=$(dpkg-deb -I "$deb")
	for want in "Package: mwi-agent" "Version: $DEB_VERSION" "Architecture: $a" "Depends: passwd" "Recommends: alsa-utils"; do
		grep -qF "$want" <<<"$info" || fail "$a: control lacks '$want'"
	done
	for s in postinst prerm postrm; do
		grep -qE "^ +[0-9]+ bytes, +[0-9]+ lines +\* +$s " <<<"$info" || fail "$a: $s missing or not executable"
	done
	[ "$(dpkg-deb -f "$deb" Package)" = mwi-agent ] || fail "$a: dpkg-deb -f"
	[ "$(dpkg-deb --ctrl-tarfile "$deb" | tar -xOf - ./conffiles)" = /etc/mwi-agent/config.yaml ] || fail "$a: conffiles"
	list=$(dpkg-deb -c "$deb")
	check() { # mode path
		grep -qE "^$1 root/root +[0-9]+ [0-9-]+ [0-9:]+ \./${2#/}\$" <<<"$list" || fail "$a: want $1 $2 in:\n$list"
	}
	check -rwxr-xr-x /usr/bin/mwi-agent
	check -rw------- /etc/mwi-agent/config.yaml
	check -rw-r--r-- /usr/lib/systemd/system/mwi-agent.service
	check -rw-r--r-- /usr/lib/udev/rules.d/60-mwi-agent.rules
	check -rw-r--r-- /usr/share/doc/mwi-agent/copyright
	# the binary inside is the one for this architecture
	dpkg-deb --fsys-tarfile "$deb" | tar -xOf - ./usr/bin/mwi-agent >"$tmp/bin-$a"
	want_t=$a; [ $a = armhf ] && want_t=armv6
	cmp -s "$tmp/bin-$a" "$tmp/a/mwi-agent_linux_$want_t" || fail "$a: /usr/bin/mwi-agent is not the $want_t build"
	printf '%-40s %9d bytes  ok\n' "$(basename "$deb")" "$(stat -c %s "$deb")"
done
dpkg-deb -I "$tmp/a/mwi-agent_${DEB_VERSION}_amd64.deb"
dpkg-deb -c "$tmp/a/mwi-agent_${DEB_VERSION}_amd64.deb"

step "install into a throwaway root"
R=$tmp/root
mkdir -p "$R/var/lib/dpkg/info" "$R/var/lib/dpkg/updates" "$R/etc/systemd/system" "$R/bin"
touch "$R/var/lib/dpkg/status"
# a minimal /etc with the usual system accounts; no gpio/i2c groups, like plain Debian
printf 'root:x:0:0:root:/root:/bin/bash\n' >"$R/etc/passwd"
printf 'root:x:0:\naudio:x:29:\n' >"$R/etc/group"
printf 'root:*:19000:0:99999:7:::\n' >"$R/etc/shadow"
printf 'root:*::\naudio:*::\n' >"$R/etc/gshadow"
chmod 0640 "$R/etc/shadow" "$R/etc/gshadow"
deb=$tmp/a/mwi-agent_${DEB_VERSION}_amd64.deb
# passwd (useradd) is on the host, not registered in the throwaway dpkg database
dpkg --root="$R" --force-script-chrootless --force-depends -i "$deb" >"$tmp/dpkg.log" 2>&1 || { cat "$tmp/dpkg.log"; fail "dpkg -i"; }
grep -q '^mwi-agent:x:[0-9]*:[0-9]*:.*:/var/lib/mwi-agent:/usr/sbin/nologin$' "$R/etc/passwd" || fail "user not created: $(cat "$R/etc/passwd")"
uid=$(grep '^mwi-agent:' "$R/etc/passwd" | cut -d: -f3)
gid=$(grep '^mwi-agent:' "$R/etc/passwd" | cut -d: -f4)
[ "$uid" -lt 1000 ] || fail "uid $uid is not a system uid"
for g in gpio i2c audio; do
	grep -qE "^$g:x:[0-9]+:(.*,)?mwi-agent(,.*)?\$" "$R/etc/group" || fail "mwi-agent not in group $g: $(cat "$R/etc/group")"
done
[ "$(stat -c '%a %u %g' "$R/etc/mwi-agent/config.yaml")" = "600 $uid $gid" ] || fail "config: $(stat -c '%a %u %g' "$R/etc/mwi-agent/config.yaml")"
[ "$(stat -c '%a %u' "$R/var/lib/mwi-agent")" = "750 $uid" ] || fail "state dir: $(stat -c '%a %u' "$R/var/lib/mwi-agent")"
[ -L "$R/etc/systemd/system/multi-user.target.wants/mwi-agent.service" ] || fail "service not enabled"
"$R/usr/bin/mwi-agent" version | grep -q v9.8.7-test || fail "installed binary"
echo "user mwi-agent uid $uid; groups: $(grep -E '^(gpio|i2c|audio):' "$R/etc/group" | tr '\n' ' ')"
ls -ln "$R/etc/mwi-agent/config.yaml"

step "reinstall keeps the edited conffile and its owner/mode"
echo "# edited by the admin" >>"$R/etc/mwi-agent/config.yaml"
dpkg --root="$R" --force-script-chrootless --force-depends --force-confold -i "$deb" >"$tmp/dpkg2.log" 2>&1 || { cat "$tmp/dpkg2.log"; fail "dpkg -i (again)"; }
grep -q "edited by the admin" "$R/etc/mwi-agent/config.yaml" || fail "conffile replaced"
[ "$(stat -c '%a %u %g' "$R/etc/mwi-agent/config.yaml")" = "600 $uid $gid" ] || fail "config after upgrade: $(stat -c '%a %u %g' "$R/etc/mwi-agent/config.yaml")"
[ "$(grep -c '^mwi-agent:' "$R/etc/passwd")" = 1 ] || fail "user duplicated"

step "systemd-analyze verify (in the throwaway root)"
# verify needs the targets the unit refers to and the programs it runs
mkdir -p "$R/usr/lib/systemd/system"
cp -an /usr/lib/systemd/system/. "$R/usr/lib/systemd/system/"
cp /bin/kill "$R/bin/kill"
if ! out=$(systemd-analyze --root="$R" verify /usr/lib/systemd/system/mwi-agent.service 2>&1) || [ -n "$out" ]; then
	fail "systemd-analyze verify: $out"
fi
echo "systemd-analyze verify: clean"
sec=$(systemd-analyze security --offline=true --root="$R" /usr/lib/systemd/system/mwi-agent.service 2>&1 | tail -1)
echo "$sec"
score=$(sed -nE 's/.*exposure level for mwi-agent.service: ([0-9.]+).*/\1/p' <<<"$sec")
[ -n "$score" ] || fail "no security score"
awk -v s="$score" 'BEGIN { exit !(s < 3.0) }' || fail "exposure $score (want < 3.0)"
unit=$R/usr/lib/systemd/system/mwi-agent.service
for want in Type=notify WatchdogSec= Restart=on-failure User=mwi-agent "SupplementaryGroups=gpio i2c audio" \
	"DeviceAllow=char-gpiochip rw" "DeviceAllow=char-i2c rw" "DeviceAllow=char-alsa rw" DevicePolicy=closed \
	"ExecReload=/bin/kill -HUP \$MAINPID"; do
	grep -qxF -- "$want" "$unit" || grep -q "^$want" "$unit" || fail "unit lacks $want"
done

step "purge"
dpkg --root="$R" --force-script-chrootless --purge mwi-agent >"$tmp/dpkg3.log" 2>&1 || { cat "$tmp/dpkg3.log"; fail "purge"; }
[ ! -e "$R/usr/bin/mwi-agent" ] && [ ! -e "$R/etc/mwi-agent/config.yaml" ] && [ ! -e "$R/var/lib/mwi-agent" ] || fail "purge left files"
[ ! -e "$R/etc/systemd/system/multi-user.target.wants/mwi-agent.service" ] || fail "purge left the enablement link"
grep -q mwi-agent "$R/var/lib/dpkg/statoverride" 2>/dev/null && fail "purge left the statoverride"
echo "ship.sh: ok"
