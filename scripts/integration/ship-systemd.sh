#!/usr/bin/env bash
# Issue 14, item 6: the .deb under a real, booted systemd (Debian 12,
# systemd 252) in a systemd-nspawn container with its own network namespace
# (loopback only).
#
# Checks, in order, on one container:
#   1. upgrade from the previous packaging (unit in /lib, enabled by hand;
#      $MWI_SHIP_OLD_REV, default 68ab45a) to this one (/usr/lib, through
#      deb-systemd-helper): the unit file survives the move under merged
#      /usr, the service stays enabled and is restarted;
#   2. "mwi-agent status" as a normal user says what to do; as a member of
#      the group mwi-agent it prints the table;
#   3. upgrades respect the admin: disabled stays disabled and stopped,
#      masked stays masked, enabled is restarted (new MainPID);
#   4. a config the agent cannot load: exit status 78, no automatic
#      restarts, and 12 manual restarts in a row (an admin editing the file)
#      do not hit the start limit; the fixed file starts;
#   5. a watchdog expiry (WatchdogSec=3s in a drop-in, the agent stopped
#      with SIGSTOP) restarts the service with a short journal, not the Go
#      runtime's dump of every goroutine;
#   6. purge, then a fresh "apt install ./mwi-agent_*.deb" with
#      127.0.0.1:8080 taken: the service runs, the fresh-install note is
#      printed, the journal says the port is taken and what to do.
#
# The Debian root is built once with debootstrap from deb.debian.org into
# $MWI_NSPAWN_CACHE (default /var/cache/mwi-agent-nspawn; ~300 MB, needs
# network once, about 2 minutes); each run boots a copy of it. Needs root
# (systemd-nspawn, nsenter), debootstrap and systemd-container
# (scripts/deps/ship.apt). KEEP=1 keeps the temporary directory;
# MWI_SHIP_DEBS=DIR uses the .debs in DIR (a kept run's dist/) instead
# of building them.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
fail() { echo "ship-systemd.sh: FAIL: $*" >&2; exit 1; }
step() { printf -- '--- %s\n' "$*"; }

if [ "$(id -u)" != 0 ]; then
	echo "ship-systemd.sh: SKIP: needs root to boot a systemd-nspawn container"
	exit 0
fi
for p in systemd-nspawn debootstrap nsenter dpkg-deb; do
	command -v "$p" >/dev/null || fail "$p not installed (scripts/deps/ship.apt)"
done

cache=${MWI_NSPAWN_CACHE:-/var/cache/mwi-agent-nspawn}
base=$cache/bookworm
mkdir -p "$cache"
exec 9>"$cache/lock"
flock -w 900 9 || fail "cache $cache is locked by another run"
if [ ! -e "$base/.complete" ]; then
	step "debootstrap Debian 12 into $base (once)"
	rm -rf "$base"
	debootstrap --variant=minbase \
		--include=systemd,systemd-sysv,dbus,passwd,adduser,procps,iproute2,alsa-utils,init-system-helpers \
		bookworm "$base" http://deb.debian.org/debian >"$cache/debootstrap.log" 2>&1 ||
		{ tail -20 "$cache/debootstrap.log"; fail "debootstrap"; }
	echo mwi-test >"$base/etc/hostname"
	touch "$base/.complete"
fi
flock -u 9

tmp=$(mktemp -d /var/tmp/mwi-ship-systemd.XXXXXX)
npid=""
cleanup() {
	if [ -n "$npid" ] && kill -0 "$npid" 2>/dev/null; then
		kill -TERM "$npid" 2>/dev/null || true # nspawn shuts the container down
		for _ in $(seq 100); do kill -0 "$npid" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$npid" 2>/dev/null || true
	fi
	wait 2>/dev/null || true
	[ -n "${KEEP:-}" ] && { echo "kept $tmp"; return; }
	rm -rf "$tmp"
}
trap cleanup EXIT

old=${MWI_SHIP_OLD_REV:-68ab45a}
olddeb=mwi-agent_0.9~old_amd64.deb
if [ -n "${MWI_SHIP_DEBS:-}" ]; then
	step "packages from $MWI_SHIP_DEBS (MWI_SHIP_DEBS)"
	mkdir -p "$tmp/dist"
	cp "$MWI_SHIP_DEBS"/*.deb "$tmp/dist/"
	[ -e "$tmp/dist/$olddeb" ] || olddeb=""
else
	step "packages: this tree as 1.0.0~t1/t2/t3, $old as 0.9~old"
	export SOURCE_DATE_EPOCH=1700000000 VERSION=v1.0.0-systemd-test
	DIST=$tmp/dist DEB_VERSION=1.0.0~t1 scripts/package.sh amd64 >/dev/null
	for v in 2 3; do
		DIST=$tmp/dist SKIP_BUILD=1 DEB_VERSION=1.0.0~t$v scripts/package.sh amd64 >/dev/null
	done
	if git rev-parse -q --verify "$old^{commit}" >/dev/null; then
		mkdir -p "$tmp/old"
		git archive "$old" | tar -x -C "$tmp/old"
		(cd "$tmp/old" && DIST=$tmp/dist DEB_VERSION=0.9~old scripts/package.sh amd64 >/dev/null)
	else
		olddeb=""
		echo "(commit $old not in this clone: the upgrade from the old packaging is not checked)"
	fi
fi
ls -l "$tmp/dist"/*.deb

step "boot Debian 12 under systemd-nspawn"
R=$tmp/root
cp -a "$base" "$R"
mkdir -p "$R/root/debs"
cp "$tmp/dist"/*.deb "$R/root/debs/"
systemd-nspawn -q -D "$R" -b --register=no --keep-unit --private-network -M "mwi-test-$$" \
	--console=pipe >"$tmp/console.log" 2>&1 </dev/null &
npid=$!
leader=""
for _ in $(seq 100); do
	# nspawn's child is the container's PID 1 once it has become systemd
	leader=$(ps -o pid=,comm= --ppid "$npid" 2>/dev/null | awk '$2 == "systemd" { print $1; exit }' || true)
	[ -n "$leader" ] && break
	sleep 0.1
done
[ -n "$leader" ] || { cat "$tmp/console.log"; fail "container did not start"; }
# ct CMD...: run a command inside the container
ct() { nsenter -t "$leader" -a env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 HOME=/root "$@"; }
state=""
for _ in $(seq 300); do
	state=$(ct systemctl is-system-running 2>/dev/null || true)
	case $state in running | degraded) break ;; esac
	sleep 0.1
done
case $state in running | degraded) ;; *) cat "$tmp/console.log"; fail "systemd in the container: $state" ;; esac
echo "container: $(ct systemctl --version | head -1), $state"

sc() { ct systemctl "$@"; }
mainpid() { sc show -P MainPID mwi-agent.service; }
wait_active() { # wait until mwi-agent is active (bounded)
	for _ in $(seq 150); do
		[ "$(sc is-active mwi-agent.service 2>/dev/null || true)" = active ] && return 0
		sleep 0.1
	done
	ct journalctl -u mwi-agent.service --no-pager | tail -20
	fail "mwi-agent not active: $(sc is-active mwi-agent.service || true)"
}
dpkg_i() { ct dpkg -i "/root/debs/$1" >"$tmp/dpkg.log" 2>&1 || { cat "$tmp/dpkg.log"; fail "dpkg -i $1"; }; }

if [ -n "$olddeb" ]; then
	step "1. upgrade from the old packaging ($old: /lib, enabled by hand)"
	dpkg_i "$olddeb"
	wait_active
	p0=$(mainpid)
	dpkg_i mwi-agent_1.0.0~t1_amd64.deb
	[ -f "$R/usr/lib/systemd/system/mwi-agent.service" ] || fail "unit file lost in the /lib -> /usr/lib move"
	[ -f "$R/usr/lib/udev/rules.d/60-mwi-agent.rules" ] || fail "udev rules lost in the /lib -> /usr/lib move"
	[ "$(sc is-enabled mwi-agent.service)" = enabled ] || fail "not enabled after the upgrade"
	wait_active
	[ "$(mainpid)" != "$p0" ] || fail "not restarted by the upgrade"
	echo "unit in /usr/lib, enabled, restarted ($p0 -> $(mainpid))"
else
	step "1. first install of this packaging"
	dpkg_i mwi-agent_1.0.0~t1_amd64.deb
	wait_active
fi

step "2. mwi-agent status as a normal user"
ct useradd -m tester
if out=$(ct runuser -u tester -- mwi-agent status 2>&1); then
	fail "status as a normal user succeeded without access: $out"
fi
echo "$out"
grep -q "sudo mwi-agent status" <<<"$out" || fail "status hint lacks sudo"
grep -q "adduser \$USER mwi-agent" <<<"$out" || fail "status hint lacks the group"
ct adduser --quiet tester mwi-agent
out=$(ct runuser -u tester -- mwi-agent status 2>&1) || fail "status as a member of mwi-agent: $out"
grep -q "^ACCOUNT" <<<"$out" || fail "status table: $out"
echo "as a member of mwi-agent: $(head -1 <<<"$out")"

step "3. upgrades respect disable and mask"
sc disable --now mwi-agent.service 2>/dev/null
dpkg_i mwi-agent_1.0.0~t2_amd64.deb
[ "$(sc is-enabled mwi-agent.service || true)" = disabled ] || fail "upgrade re-enabled a disabled service: $(sc is-enabled mwi-agent.service || true)"
[ "$(sc is-active mwi-agent.service || true)" = inactive ] || fail "upgrade started a disabled service"
echo "disabled: stays disabled and stopped"
sc mask mwi-agent.service 2>/dev/null
dpkg_i mwi-agent_1.0.0~t3_amd64.deb
[ "$(sc is-enabled mwi-agent.service || true)" = masked ] || fail "upgrade unmasked: $(sc is-enabled mwi-agent.service || true)"
[ "$(sc is-active mwi-agent.service || true)" = inactive ] || fail "upgrade started a masked service"
echo "masked: stays masked and stopped"
sc unmask mwi-agent.service 2>/dev/null
sc enable --now mwi-agent.service 2>/dev/null
wait_active
p0=$(mainpid)
dpkg_i mwi-agent_1.0.0~t2_amd64.deb
wait_active
[ "$(sc is-enabled mwi-agent.service)" = enabled ] && [ "$(mainpid)" != "$p0" ] || fail "enabled service not restarted by the upgrade"
echo "enabled: restarted by the upgrade ($p0 -> $(mainpid))"

step "4. a broken config and an admin restarting while editing it"
cp "$R/etc/mwi-agent/config.yaml" "$tmp/config.good"
sed -i 's/^log_level: .*/log_level: loud/' "$R/etc/mwi-agent/config.yaml"
grep -q "^log_level: loud" "$R/etc/mwi-agent/config.yaml" || fail "could not break the config"
sc restart mwi-agent.service 2>/dev/null && fail "restart with a broken config succeeded"
[ "$(sc show -P ExecMainStatus mwi-agent.service)" = 78 ] || fail "exit status $(sc show -P ExecMainStatus mwi-agent.service), want 78"
n0=$(sc show -P NRestarts mwi-agent.service)
sleep 7 # longer than RestartSec=5s
[ "$(sc show -P NRestarts mwi-agent.service)" = "$n0" ] || fail "restarted automatically on a config error"
for i in $(seq 12); do
	if err=$(sc restart mwi-agent.service 2>&1); then fail "restart $i with a broken config succeeded"; fi
	grep -qi "too quickly" <<<"$err$(sc show -P Result mwi-agent.service)" && fail "restart $i hit the start limit: $err"
done
ct journalctl -u mwi-agent.service --no-pager -n 30 >"$tmp/broken.log"
grep -q "log_level.*loud" "$tmp/broken.log" || { cat "$tmp/broken.log"; fail "journal does not name the bad value"; }
grep "log_level.*loud" "$tmp/broken.log" | tail -1
cp "$tmp/config.good" "$R/etc/mwi-agent/config.yaml"
sc restart mwi-agent.service || fail "restart with the fixed config"
wait_active
echo "exit 78, no automatic restart, 12 manual restarts without the start limit, fixed file starts"

step "5. watchdog expiry"
mkdir -p "$R/etc/systemd/system/mwi-agent.service.d"
printf '[Service]\nWatchdogSec=3s\n' >"$R/etc/systemd/system/mwi-agent.service.d/watchdog.conf"
sc daemon-reload
sc restart mwi-agent.service
wait_active
sleep 1
p0=$(mainpid)
since=$(ct date '+%Y-%m-%d %H:%M:%S')
ct kill -STOP "$p0"
restarted=""
for _ in $(seq 200); do
	p1=$(mainpid)
	if [ "$p1" != "$p0" ] && [ "$p1" != 0 ]; then restarted=1; break; fi
	sleep 0.1
done
[ -n "$restarted" ] || fail "watchdog did not restart the stopped agent"
wait_active
sleep 0.5
ct journalctl -u mwi-agent.service --no-pager --since "$since" >"$tmp/wd.log"
cat "$tmp/wd.log"
grep -q "Watchdog timeout" "$tmp/wd.log" || fail "no watchdog timeout in the journal"
lines=$(wc -l <"$tmp/wd.log")
gor=$(grep -c "^.*goroutine [0-9]* \[" "$tmp/wd.log" || true)
[ "$gor" = 0 ] && [ "$lines" -lt 60 ] || fail "watchdog journal: $lines lines, $gor goroutine headers"
echo "watchdog: restarted, $lines journal lines, no goroutine dump"
rm -r "$R/etc/systemd/system/mwi-agent.service.d"
sc daemon-reload

step "6. purge, then a fresh apt install with 127.0.0.1:8080 taken"
ct apt-get purge -y mwi-agent >"$tmp/purge.log" 2>&1 || { cat "$tmp/purge.log"; fail "purge"; }
[ ! -e "$R/usr/bin/mwi-agent" ] && [ ! -e "$R/var/lib/mwi-agent" ] || fail "purge left files"
[ -z "$(sc list-unit-files 'mwi-agent*' --no-legend 2>/dev/null)" ] || fail "purge left the unit: $(sc list-unit-files 'mwi-agent*' --no-legend)"
# the blocker: a plain TCP listener on 127.0.0.1:8080 (bash's /dev/tcp has no listen; use the old binary kept in /root)
cp "$R/root/debs/mwi-agent_1.0.0~t1_amd64.deb" "$R/root/fresh.deb"
dpkg-deb --fsys-tarfile "$R/root/fresh.deb" | tar -xOf - ./usr/bin/mwi-agent >"$R/root/blocker"
chmod 755 "$R/root/blocker"
printf 'state_dir: /root/blocker-state\nlisten: {udp: "127.0.0.1:0"}\nhttp: {listen: "127.0.0.1:8080"}\naccounts: []\n' >"$R/root/blocker.yaml"
ct systemd-run --quiet --unit=blocker /root/blocker run --config /root/blocker.yaml
for _ in $(seq 100); do ct ss -Hltn 'sport = :8080' | grep -q . && break; sleep 0.1; done
ct ss -Hltn 'sport = :8080' | grep -q . || fail "blocker not listening on 8080"
ct apt-get install -y /root/fresh.deb >"$tmp/apt.log" 2>&1 || { cat "$tmp/apt.log"; fail "apt install ./mwi-agent_*.deb"; }
grep -q "installed with no SIP accounts" "$tmp/apt.log" || { cat "$tmp/apt.log"; fail "no fresh-install note"; }
wait_active
sleep 1
ct journalctl -u mwi-agent.service --no-pager -n 20 >"$tmp/fresh.log"
grep -q "8080.*address already in use.*http.listen" "$tmp/fresh.log" || { cat "$tmp/fresh.log"; fail "journal does not say the port is taken"; }
[ "$(sc is-active mwi-agent.service)" = active ] || fail "mwi-agent not running without its status page"
grep "address already in use" "$tmp/fresh.log" | tail -1
sc stop blocker.service
echo "ship-systemd.sh: ok"
