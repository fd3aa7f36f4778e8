#!/usr/bin/env bash
# Load figures for mwi-agent against a real Kamailio on UDP loopback:
# for each account count N (default: 8 256) the time until all N accounts
# are registered and subscribed, the agent's peak RSS (VmHWM), where the
# resident memory is one second later (file_MB: the executable's own
# mapped pages; anon_MB: Go heap, stacks and runtime) and the shutdown
# time (un-SUBSCRIBE + un-REGISTER of all N). The first line, "start", is
# the same binary running "mwi-agent version": what merely starting it
# costs (package initialisation touches pages all over the executable).
#
#   scripts/load-kamailio.sh            # 8 and 256 accounts
#   scripts/load-kamailio.sh 8 64 512   # other sizes
#   GOGC=50 scripts/load-kamailio.sh    # runtime settings pass through
#   MWI_CGO=1 scripts/load-kamailio.sh  # build with cgo (default: static,
#                                       # stripped, as a release build)
#   MWI_LOAD_BIN=/tmp/mwi-agent scripts/load-kamailio.sh  # that binary
#   MWI_LOAD_LOG=1 scripts/load-kamailio.sh  # the agent's log on stderr
#   MWI_LOAD_MQTT=1 scripts/load-kamailio.sh  # also publish to a mosquitto
#                                       # started on a free loopback port
#
# Needs kamailio, kamailio-presence-modules, kamailio-sqlite-modules,
# sqlite3 (scripts/deps/sip.apt) and Go. Starts Kamailio with
# agent/sipua/testdata/kamailio/kamailio.cfg on a free loopback port and
# stops it (and the agent) by PID. Baresip 1.0's figures on the same kind
# of machine: 8 accounts 0.03 s / 7.5 MB, 256 accounts 0.65 s / 11.8 MB.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(8 256)

work=$(mktemp -d)
shm=$(mktemp -d /dev/shm/mwi-load-XXXXXX 2>/dev/null || mktemp -d)
kpid="" apid="" mpid=""
cleanup() {
	[ -n "$apid" ] && kill -KILL "$apid" 2>/dev/null || true
	[ -n "$mpid" ] && kill -KILL "$mpid" 2>/dev/null || true
	[ -n "$kpid" ] && kill -KILL -- "-$kpid" 2>/dev/null || true
	wait 2>/dev/null || true
	rm -rf "$work" "$shm"
}
trap cleanup EXIT
trap 'exit 143' INT TERM # run cleanup (stop Kamailio, Mosquitto, the agent) when killed too

if [ "${MWI_LOAD_MQTT:-0}" = 1 ]; then
	command -v mosquitto >/dev/null || { echo "load-kamailio: mosquitto not found (see scripts/deps/obs.apt)" >&2; exit 1; }
	mport=$((20000 + RANDOM % 30000))
	printf 'listener %d 127.0.0.1\nallow_anonymous true\n' "$mport" >"$work/mosquitto.conf"
	[ "$(id -u)" = 0 ] && echo "user root" >>"$work/mosquitto.conf"
	mosquitto -c "$work/mosquitto.conf" >"$work/mosquitto.log" 2>&1 &
	mpid=$!
fi

for p in kamailio sqlite3 go; do
	command -v "$p" >/dev/null || { echo "load-kamailio: $p not found (see scripts/deps/sip.apt)" >&2; exit 1; }
done

# A release-style build: static (no libc mapped), stripped. The binary's
# mapped pages count in RSS, so its size matters.
if [ -n "${MWI_LOAD_BIN:-}" ]; then
	cp "$MWI_LOAD_BIN" "$work/mwi-agent" # compare builds: a binary built elsewhere
else
	CGO_ENABLED=${MWI_CGO:-0} go build -trimpath -ldflags "-s -w" -o "$work/mwi-agent" ./agent/cmd/mwi-agent
fi

for f in standard-create.sql presence-create.sql; do
	sqlite3 "$shm/kamailio.sqlite" <"/usr/share/kamailio/db_sqlite/$f"
done

port=""
for _ in $(seq 50); do
	p=$((20000 + RANDOM % 30000))
	if ! ss -Hlun "sport = :$p" | grep -q . && ! ss -Hltn "sport = :$p" | grep -q .; then port=$p; break; fi
done
[ -n "$port" ] || { echo "load-kamailio: no free port" >&2; exit 1; }

setsid kamailio -f "$root/agent/sipua/testdata/kamailio/kamailio.cfg" -DD -E -Y "$work" \
	-l "udp:127.0.0.1:$port" -A "DBURL=\"sqlite://$shm/kamailio.sqlite\"" -m 128 -M 16 \
	>"$work/kamailio.log" 2>&1 &
kpid=$!
for _ in $(seq 100); do
	ss -Hlun "sport = :$port" | grep -q . && break
	sleep 0.05
done
sleep 0.5
kill -0 "$kpid" 2>/dev/null || { cat "$work/kamailio.log"; exit 1; }

printf '%-9s %-14s %-12s %-10s %-10s %-10s %-8s %-8s %s\n' accounts subscribed_s in_agent_s cpu_s VmHWM_MB VmRSS_MB file_MB anon_MB shutdown_s
if command -v /usr/bin/time >/dev/null; then
	startkb=$(/usr/bin/time -f %M "$work/mwi-agent" version 2>&1 >/dev/null | tail -1)
	printf '%-9s %-14s %-12s %-10s %-10s\n' start - - - "$(awk -v k="$startkb" 'BEGIN{printf "%.1f", k/1024}')"
fi
for n in "${sizes[@]}"; do
	cfg="$work/mwi-$n.yaml"
	{
		echo "log_level: info"
		echo "state_dir: $work/state-$n"
		echo "keepalive: 0s"
		echo "http:"
		echo "  listen: \"\""
		echo "listen:"
		echo "  udp: \"127.0.0.1:0\""
		[ -n "$mpid" ] && printf 'mqtt:\n  broker: tcp://127.0.0.1:%d\n  device_id: load\n' "$mport"
		echo "accounts:"
		for i in $(seq 1 "$n"); do
			u=$((10000 + i))
			printf '  - name: a%d\n    aor: sip:%d@127.0.0.1\n    password: pw-%d\n    server: 127.0.0.1:%d\n' "$u" "$u" "$u" "$port"
		done
	} >"$cfg"
	log="$work/agent-$n.log"
	t0=$(date +%s.%N)
	"$work/mwi-agent" run --config "$cfg" 2>"$log" &
	apid=$!
	ok=""
	for _ in $(seq 6000); do
		if grep -q "all accounts subscribed" "$log"; then ok=1; break; fi
		kill -0 "$apid" 2>/dev/null || break
		sleep 0.002
	done
	t1=$(date +%s.%N)
	if [ -z "$ok" ]; then
		echo "load-kamailio: $n accounts not all subscribed within 12 s" >&2
		tail -20 "$log" >&2
		exit 1
	fi
	inagent=$(sed -n 's/.*all accounts subscribed.*after=\([0-9.]*\)\(m\?s\).*/\1 \2/p' "$log" | awk '{ if ($2=="ms") printf "%.4f", $1/1000; else printf "%.4f", $1 }')
	sleep 1
	hwm=$(awk '/VmHWM/ {printf "%.1f", $2/1024}' "/proc/$apid/status")
	rss=$(awk '/VmRSS/ {printf "%.1f", $2/1024}' "/proc/$apid/status")
	rssfile=$(awk '/RssFile/ {printf "%.1f", $2/1024}' "/proc/$apid/status")
	rssanon=$(awk '/RssAnon/ {printf "%.1f", $2/1024}' "/proc/$apid/status")
	# utime+stime in clock ticks (fields 14, 15 after the command name)
	cpu=$(awk -v hz="$(getconf CLK_TCK)" '{ sub(/^.*\) /, ""); printf "%.2f", ($12+$13)/hz }' "/proc/$apid/stat")
	t2=$(date +%s.%N)
	kill -TERM "$apid"
	wait "$apid" || true
	apid=""
	[ "${MWI_LOAD_LOG:-0}" = 1 ] && cat "$log" >&2
	t3=$(date +%s.%N)
	printf '%-9s %-14s %-12s %-10s %-10s %-10s %-8s %-8s %s\n' "$n" "$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.3f", b-a}')" "$inagent" "$cpu" "$hwm" "$rss" "$rssfile" "$rssanon" \
		"$(awk -v a="$t2" -v b="$t3" 'BEGIN{printf "%.3f", b-a}')"
done
