#!/usr/bin/env bash
# Flood figures for mwi-agent (issue 11, "bounded under flood"): a real
# Kamailio on UDP loopback, the agent (release-style build) with ACCOUNTS
# accounts against it (default 1), and scripts/flood sending RATE spoofed
# datagrams a second (default 1000) for SECONDS (default 60) at the
# agent's UDP listener, each from a fresh socket on a random loopback
# address and port. Meanwhile the voicemail server publishes a new count
# every 10 s and the script times how long the agent takes to log it.
#
# Prints the agent's resident memory (VmRSS) before and after the flood
# and its peak (VmHWM), its log growth, its CPU time during the flood and
# the PUBLISH → state latencies. The promise: RSS grows by less than 5 MB,
# the log by less than 1 MB, and every PUBLISH is shown.
#
#   scripts/flood.sh                     # 1,000/s for 60 s
#   RATE=2000 SECONDS_=30 scripts/flood.sh
#   AGENT_DIR=../old-checkout scripts/flood.sh   # the agent built from there
#
# Needs kamailio, kamailio-presence-modules, kamailio-sqlite-modules,
# sqlite3 (scripts/deps/sip.apt) and Go. Stops what it started by PID.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
rate=${RATE:-1000}
secs=${SECONDS_:-60}
naccts=${ACCOUNTS:-1}

work=$(mktemp -d)
shm=$(mktemp -d /dev/shm/mwi-flood-XXXXXX 2>/dev/null || mktemp -d)
kpid="" apid="" fpid=""
cleanup() {
	[ -n "$fpid" ] && kill -KILL "$fpid" 2>/dev/null || true
	[ -n "$apid" ] && kill -KILL "$apid" 2>/dev/null || true
	[ -n "$kpid" ] && kill -KILL -- "-$kpid" 2>/dev/null || true
	wait 2>/dev/null || true
	rm -rf "$work" "$shm"
}
trap cleanup EXIT

for p in kamailio sqlite3 go ss; do
	command -v "$p" >/dev/null || { echo "flood: $p not found (see scripts/deps/sip.apt)" >&2; exit 1; }
done

# AGENT_DIR: build the agent from another checkout (to measure old code).
(cd "${AGENT_DIR:-$root}" && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$work/mwi-agent" ./agent/cmd/mwi-agent)
go build -o "$work/flood" ./scripts/flood

for f in standard-create.sql presence-create.sql; do
	sqlite3 "$shm/kamailio.sqlite" <"/usr/share/kamailio/db_sqlite/$f"
done

freeport() {
	for _ in $(seq 50); do
		p=$((20000 + RANDOM % 30000))
		if ! ss -Hlun "sport = :$p" | grep -q . && ! ss -Hltn "sport = :$p" | grep -q .; then echo "$p"; return; fi
	done
	echo "flood: no free port" >&2
	exit 1
}
port=$(freeport)
aport=$(freeport)

setsid kamailio -f "$root/agent/sipua/testdata/kamailio/kamailio.cfg" -DD -E -Y "$work" \
	-l "udp:127.0.0.1:$port" -A "DBURL=\"sqlite://$shm/kamailio.sqlite\"" -m 64 -M 8 \
	>"$work/kamailio.log" 2>&1 &
kpid=$!
for _ in $(seq 100); do
	ss -Hlun "sport = :$port" | grep -q . && break
	sleep 0.05
done
sleep 0.5
kill -0 "$kpid" 2>/dev/null || { cat "$work/kamailio.log"; exit 1; }

cfg="$work/mwi.yaml"
{
	echo "log_level: info"
	echo "state_dir: $work/state"
	echo "http:"
	echo "  listen: \"\""
	echo "listen:"
	echo "  udp: \"127.0.0.1:$aport\""
	echo "accounts:"
	for i in $(seq 1 "$naccts"); do
		u=$((10000 + i))
		printf '  - name: a%d\n    aor: sip:%d@127.0.0.1\n    password: pw-%d\n    server: 127.0.0.1:%d\n' "$u" "$u" "$u" "$port"
	done
} >"$cfg"
log="$work/agent.log"
"$work/mwi-agent" run --config "$cfg" 2>"$log" &
apid=$!
for _ in $(seq 600); do
	grep -q "all accounts subscribed" "$log" && break
	kill -0 "$apid" 2>/dev/null || { cat "$log"; exit 1; }
	sleep 0.02
done
grep -q "all accounts subscribed" "$log" || { echo "flood: not subscribed" >&2; tail "$log" >&2; exit 1; }

publish() { # user count → PUBLISH over UDP from loopback (Kamailio takes PUBLISH from 127.0.0.1 only)
	local body="Messages-Waiting: yes"$'\r\n'"Voice-Message: $2/0"$'\r\n'
	local msg="PUBLISH sip:$1@127.0.0.1 SIP/2.0"$'\r\n'"Via: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bK$RANDOM$RANDOM"$'\r\n'"From: <sip:vm@127.0.0.1>;tag=$RANDOM"$'\r\n'"To: <sip:$1@127.0.0.1>"$'\r\n'"Call-ID: $RANDOM$RANDOM@flood"$'\r\n'"CSeq: 1 PUBLISH"$'\r\n'"Max-Forwards: 70"$'\r\n'"Event: message-summary"$'\r\n'"Expires: 3600"$'\r\n'"Content-Type: application/simple-message-summary"$'\r\n'"Content-Length: ${#body}"$'\r\n\r\n'"$body"
	printf '%s' "$msg" >"/dev/udp/127.0.0.1/$port"
}
# shown USER COUNT: the agent logged that count for the account.
shown() { grep -q "account=a$1 waiting=yes new=$2 " "$log"; }

sleep 2
rss0=$(awk '/VmRSS/ {print $2}' "/proc/$apid/status")
log0=$(stat -c %s "$log")
cpu() { awk -v hz="$(getconf CLK_TCK)" '{ sub(/^.*\) /, ""); printf "%.2f", ($12+$13)/hz }' "/proc/$apid/stat"; }
cpu0=$(cpu)

"$work/flood" -to "127.0.0.1:$aport" -user 10001 -rate "$rate" -for "${secs}s" >"$work/flood.out" &
fpid=$!
lat=()
missed=0
count=0
t0=$(date +%s)
while kill -0 "$fpid" 2>/dev/null && [ $(($(date +%s) - t0)) -lt $((secs - 2)) ]; do
	sleep 8
	count=$((count + 1))
	n=$((100 + count))
	ts=$(date +%s.%N)
	publish 10001 "$n"
	ok=""
	for _ in $(seq 200); do
		if shown 10001 "$n"; then ok=1; break; fi
		sleep 0.01
	done
	if [ -n "$ok" ]; then
		lat+=("$(awk -v a="$ts" -v b="$(date +%s.%N)" 'BEGIN{printf "%.0f", (b-a)*1000}')")
	else
		missed=$((missed + 1))
	fi
done
wait "$fpid" || true
fpid=""
cpu1=$(cpu)
rss1=$(awk '/VmRSS/ {print $2}' "/proc/$apid/status")
hwm=$(awk '/VmHWM/ {print $2}' "/proc/$apid/status")
log1=$(stat -c %s "$log")
sleep 5
rss2=$(awk '/VmRSS/ {print $2}' "/proc/$apid/status")
health=$(grep "account state" "$log" | tail -1 | sed -n 's/.*health=\([a-z ]*\) status.*/\1/p')

cat "$work/flood.out"
printf 'agent: VmRSS before %.1f MB, right after %.1f MB (growth %+.2f MB), 5 s later %.1f MB; VmHWM %.1f MB\n' \
	"$(echo "$rss0/1024" | bc -l)" "$(echo "$rss1/1024" | bc -l)" "$(echo "($rss1-$rss0)/1024" | bc -l)" "$(echo "$rss2/1024" | bc -l)" "$(echo "$hwm/1024" | bc -l)"
printf 'agent: log grew by %d bytes (%d lines); CPU during the flood %.2f s\n' "$((log1 - log0))" "$(tail -c +$((log0 + 1)) "$log" | wc -l)" "$(echo "$cpu1-$cpu0" | bc -l)"
echo "agent: PUBLISH -> shown during the flood: ${#lat[@]} shown (ms: ${lat[*]:-none}), $missed missed; last health: $health"
echo "agent: log lines of the flood (first 12):"
tail -c +$((log0 + 1)) "$log" | head -12 | cut -c1-300
fail=""
[ $((rss1 - rss0)) -lt 5120 ] || fail="$fail rss"
[ $((log1 - log0)) -lt 1048576 ] || fail="$fail log"
[ "$missed" -eq 0 ] || fail="$fail publish"
if [ -n "$fail" ]; then
	echo "flood: FAILED:$fail" >&2
	exit 1
fi
echo "flood: OK (RSS growth < 5 MB, log growth < 1 MB, every PUBLISH shown)"
