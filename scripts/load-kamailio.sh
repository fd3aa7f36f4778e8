#!/usr/bin/env bash
# Load figures for mwi-agent against a real Kamailio on UDP loopback, side
# by side in one run with baresip (when installed) and, optionally, an
# older mwi-agent commit. For each account count N (default: 8 256) and
# each program: the time from exec until Kamailio has accepted all N
# SUBSCRIBEs (subscribed_s; for mwi-agent also its own "all accounts
# subscribed" figure, in_prog_s), the CPU it used, its peak RSS (VmHWM),
# where the resident memory is one second later (file_MB: mapped file
# pages, mostly the executable; anon_MB: heap, stacks, runtime) and the
# shutdown time (un-SUBSCRIBE + un-REGISTER of all N). The "start" rows
# are "mwi-agent version": what merely starting the binary costs.
#
#   scripts/load-kamailio.sh                     # 8 and 256 accounts
#   scripts/load-kamailio.sh 8 256 1000          # other sizes
#   MWI_BEFORE=68ab45a scripts/load-kamailio.sh  # also that commit ("before")
#   MWI_ALSO="nol=abc123 x=def456" scripts/load-kamailio.sh  # more commits, by label
#   MWI_RUNS=3 scripts/load-kamailio.sh          # repeat, programs alternate
#   MWI_BARESIP=0 scripts/load-kamailio.sh       # without baresip
#   MWI_FLOOR=0 scripts/load-kamailio.sh         # without sipgo-floor (below)
#   MWI_LOAD_INSPECT=CMD scripts/load-kamailio.sh  # run "CMD PID BINARY" for each
#                                                # agent one second after all are
#                                                # subscribed (e.g. a pagemap reader)
#   GOGC=50 scripts/load-kamailio.sh             # runtime settings pass through
#   MWI_LOAD_BIN=/tmp/mwi-agent scripts/load-kamailio.sh  # that binary as "mwi-agent"
#   MWI_LOAD_LOG=1 scripts/load-kamailio.sh      # each agent's log on stderr
#   MWI_LOAD_SETTLE=60 scripts/load-kamailio.sh  # measure 60 s after all are
#                                                # subscribed instead of one second
#   MWI_LOAD_MQTT=1 scripts/load-kamailio.sh     # the agents also publish to a
#                                                # mosquitto started on loopback
#
# The "sipgo-floor" rows are scripts/loadfloor: a Go program that only
# registers and subscribes N accounts with sipgo (the project's SIP stack)
# and answers NOTIFYs, built with the release flags: what any Go agent on
# sipgo costs before it does anything of its own.
#
# Needs kamailio, kamailio-presence-modules, kamailio-sqlite-modules,
# sqlite3 (scripts/deps/sip.apt), Go, and for the comparison baresip
# (Debian package baresip-core; modules account and mwi). Starts Kamailio
# with agent/sipua/testdata/kamailio/kamailio.cfg on a free loopback port
# and stops it and every program by PID. Every run uses its own SIP users,
# so registrations of one run do not count for the next.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(8 256)
runs=${MWI_RUNS:-1}

work=$(mktemp -d)
shm=$(mktemp -d /dev/shm/mwi-load-XXXXXX 2>/dev/null || mktemp -d)
kpid="" apid="" mpid=""
cleanup() {
	[ -n "$apid" ] && kill -KILL "$apid" 2>/dev/null || true
	[ -n "$kpid" ] && kill -KILL -- "-$kpid" 2>/dev/null || true
	[ -n "$mpid" ] && kill -KILL "$mpid" 2>/dev/null || true
	wait 2>/dev/null || true
	rm -rf "$work" "$shm"
}
trap cleanup EXIT
trap 'exit 143' INT TERM # run cleanup (stop Kamailio, Mosquitto, the agent) when killed too

for p in kamailio sqlite3 go; do
	command -v "$p" >/dev/null || { echo "load-kamailio: $p not found (see scripts/deps/sip.apt)" >&2; exit 1; }
done

if [ "${MWI_LOAD_MQTT:-0}" = 1 ]; then
	command -v mosquitto >/dev/null || { echo "load-kamailio: mosquitto not found (see scripts/deps/obs.apt)" >&2; exit 1; }
	mport=$((20000 + RANDOM % 30000))
	printf 'listener %d 127.0.0.1\nallow_anonymous true\n' "$mport" >"$work/mosquitto.conf"
	[ "$(id -u)" = 0 ] && echo "user root" >>"$work/mosquitto.conf"
	mosquitto -c "$work/mosquitto.conf" >"$work/mosquitto.log" 2>&1 &
	mpid=$!
fi

# The binaries are built by each tree's own scripts/build.sh (static,
# stripped, the release tags and flags), so the mapped executable pages in
# RSS are the shipped ones. build_agent SRC OUT
build_agent() {
	local t
	case $(go env GOARCH) in amd64) t=amd64 ;; arm64) t=arm64 ;; arm) t=armv7 ;; *) t=amd64 ;; esac
	VERSION=load COMMIT=load DIST="$work/dist-$(basename "$2")" "$1/scripts/build.sh" "$t" >/dev/null
	mv "$work/dist-$(basename "$2")/mwi-agent_linux_$t" "$2"
}
progs=(mwi-agent)
if [ -n "${MWI_LOAD_BIN:-}" ]; then
	cp "$MWI_LOAD_BIN" "$work/mwi-agent" # a binary built elsewhere
else
	build_agent "$root" "$work/mwi-agent"
fi
# build_rev LABEL REV: that commit's tree, built by its own build.sh
build_rev() {
	mkdir -p "$work/src-$1"
	git -C "$root" archive "$2" | tar -x -C "$work/src-$1"
	build_agent "$work/src-$1" "$work/$1"
	progs=("$1" "${progs[@]}")
}
for lr in ${MWI_ALSO:-}; do
	build_rev "${lr%%=*}" "${lr#*=}"
done
if [ -n "${MWI_BEFORE:-}" ]; then
	build_rev mwi-before "$MWI_BEFORE"
fi
if [ "${MWI_FLOOR:-1}" != 0 ]; then
	CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o "$work/sipgo-floor" ./scripts/loadfloor
	progs=(sipgo-floor "${progs[@]}")
fi
if [ "${MWI_BARESIP:-1}" != 0 ] && command -v baresip >/dev/null && [ -f /usr/lib/baresip/modules/mwi.so ]; then
	progs=(baresip "${progs[@]}")
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

klog="$work/kamailio.log"
# 512 MB of shared memory: one Kamailio serves every run, and with 128 MB
# (its default here before) long series (MWI_RUNS=10 at 1,000 accounts)
# ran it out of memory ("new_t(): out of mem", "sending Notify not
# successful"): SUBSCRIBEs got 500 and a NOTIFY was never sent, so an
# account of a later run waited for Timer N (33 s) and subscribed again —
# the server's failure, not the agent's.
setsid kamailio -f "$root/agent/sipua/testdata/kamailio/kamailio.cfg" -DD -E -Y "$work" \
	-l "udp:127.0.0.1:$port" -A "DBURL=\"sqlite://$shm/kamailio.sqlite\"" -m 512 -M 16 \
	>"$klog" 2>&1 &
kpid=$!
for _ in $(seq 100); do
	ss -Hlun "sport = :$port" | grep -q . && break
	sleep 0.05
done
sleep 0.5
kill -0 "$kpid" 2>/dev/null || { cat "$klog"; exit 1; }

mb() { awk -v k="$1" 'BEGIN{printf "%.1f", k/1024}'; }
status_mb() { awk -v f="$2" '$1==f":" {printf "%.1f", $2/1024}' "/proc/$1/status"; }
row() { printf '%-11s %-9s %-13s %-10s %-7s %-9s %-9s %-8s %-8s %s\n' "$@"; }
row program accounts subscribed_s in_prog_s cpu_s VmHWM_MB VmRSS_MB file_MB anon_MB shutdown_s
if command -v /usr/bin/time >/dev/null; then
	for p in "${progs[@]}"; do
		case $p in baresip | sipgo-floor) continue ;; esac
		kb=$(/usr/bin/time -f %M "$work/$p" version 2>&1 >/dev/null | tail -1)
		row "$p" start - - - "$(mb "$kb")"
	done
fi

# Users of run r with N accounts: base+1 .. base+N, base = 100000*(r+1).
# subscribed COUNT BASE: how many distinct users of this run Kamailio has
# accepted a SUBSCRIBE from ("mwi-test: subscribed USER" in its log).
subscribed() {
	awk -v lo="$(($2 + 1))" -v hi="$(($2 + $1))" '
		/mwi-test: subscribed / { for (i = 1; i < NF; i++) if ($i == "subscribed") { u = $(i+1) + 0; if (u >= lo && u <= hi && !(u in seen)) { seen[u] = 1; n++ } } }
		END { print n + 0 }' "$klog"
}

runid=0
for _ in $(seq "$runs"); do
	for n in "${sizes[@]}"; do
		for p in "${progs[@]}"; do
			for attempt in 1 2 3; do
				runid=$((runid + 1))
				base=$((100000 * runid))
				log="$work/$p-$n-$runid.log"
				case $p in
				baresip)
					d="$work/baresip-$runid"
					mkdir -p "$d"
					printf '%s\n' "poll_method epoll" "sip_listen 127.0.0.1:0" \
						"module_path /usr/lib/baresip/modules" "module_app account.so" "module_app mwi.so" >"$d/config"
					for i in $(seq 1 "$n"); do
						u=$((base + i))
						printf '<sip:%d@127.0.0.1:%d>;auth_pass=pw-%d;regint=3600\n' "$u" "$port" "$u"
					done >"$d/accounts"
					t0=$(date +%s.%N)
					baresip -f "$d" </dev/null >"$log" 2>&1 &
					apid=$!
					;;
				sipgo-floor)
					t0=$(date +%s.%N)
					"$work/$p" -server "127.0.0.1:$port" -n "$n" -base "$base" 2>"$log" &
					apid=$!
					;;
				*)
					cfg="$work/$p-$n-$runid.yaml"
					{
						echo "log_level: info"
						echo "state_dir: $work/state-$runid"
						# The UDP NAT keepalive off, as baresip here sends none:
						# a memory and start-up measurement, not a recovery test.
						echo "keepalive: 0s"
						echo "http:"
						echo "  listen: \"\""
						echo "listen:"
						echo "  udp: \"127.0.0.1:0\""
						[ -n "$mpid" ] && printf 'mqtt:\n  broker: tcp://127.0.0.1:%d\n  device_id: load\n' "$mport"
						echo "accounts:"
						for i in $(seq 1 "$n"); do
							u=$((base + i))
							printf '  - name: a%d\n    aor: sip:%d@127.0.0.1\n    password: pw-%d\n    server: 127.0.0.1:%d\n' "$u" "$u" "$u" "$port"
						done
					} >"$cfg"
					t0=$(date +%s.%N)
					"$work/$p" run --config "$cfg" 2>"$log" &
					apid=$!
					;;
				esac
				ok=""
				for _ in $(seq 3000); do
					if [ "$(subscribed "$n" "$base")" -ge "$n" ]; then ok=1; break; fi
					kill -0 "$apid" 2>/dev/null || break
					[ "$p" = baresip ] && [ "$(grep -c 'mwi: subscribing' "$log")" -gt $((2 * n + 10)) ] && break
					sleep 0.004
				done
				t1=$(date +%s.%N)
				# Baresip 1.0's mwi module now and then re-subscribes its first
				# account in a loop and never gets to the others: start it again
				# with new users (at most 3 attempts).
				if [ -z "$ok" ] && [ "$p" = baresip ] && [ "$attempt" -lt 3 ] &&
					[ "$(grep -c 'mwi: subscribing' "$log")" -gt $((2 * n + 10)) ]; then
					kill -KILL "$apid" 2>/dev/null || true
					wait "$apid" 2>/dev/null || true
					apid=""
					echo "load-kamailio: baresip looped on its first subscription; starting it again" >&2
					continue
				fi
				if [ -z "$ok" ]; then
					echo "load-kamailio: $p: $n accounts not all subscribed within 12 s ($(subscribed "$n" "$base") were)" >&2
					tail -20 "$log" >&2
					exit 1
				fi
				inprog=-
				if [ "$p" != baresip ]; then
					for _ in $(seq 500); do grep -q "all accounts subscribed" "$log" && break; sleep 0.01; done
					inprog=$(sed -n 's/.*all accounts subscribed.*after=\([0-9.]*\)\(m\?s\).*/\1 \2/p' "$log" | awk '{ if ($2=="ms") printf "%.4f", $1/1000; else printf "%.4f", $1 }')
				fi
				[ "${MWI_LOAD_LOG:-0}" = 1 ] && [ "$p" != baresip ] && cat "$log" >&2
				sleep "${MWI_LOAD_SETTLE:-1}"
				[ -n "${MWI_LOAD_INSPECT:-}" ] && [ "$p" != baresip ] && $MWI_LOAD_INSPECT "$apid" "$work/$p" >&2
				hwm=$(status_mb "$apid" VmHWM) rss=$(status_mb "$apid" VmRSS)
				rssfile=$(status_mb "$apid" RssFile) rssanon=$(status_mb "$apid" RssAnon)
				# utime+stime in clock ticks (fields 14, 15 after the command name)
				cpu=$(awk -v hz="$(getconf CLK_TCK)" '{ sub(/^.*\) /, ""); printf "%.2f", ($12+$13)/hz }' "/proc/$apid/stat")
				t2=$(date +%s.%N)
				kill -TERM "$apid"
				wait "$apid" || true
				apid=""
				t3=$(date +%s.%N)
				row "$p" "$n" "$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.3f", b-a}')" "${inprog:--}" "$cpu" "$hwm" "$rss" "$rssfile" "$rssanon" \
					"$(awk -v a="$t2" -v b="$t3" 'BEGIN{printf "%.3f", b-a}')"
				break
			done
		done
	done
done
