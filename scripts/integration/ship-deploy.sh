#!/usr/bin/env bash
# Issue 7: scripts/deploy.sh against a real sshd on loopback.
#
# Starts sshd -D on a free 127.0.0.1 port with a throwaway host key and a
# throwaway user key (authorized only for this sshd), then runs
#   deploy.sh --dry-run             -> prints every step, changes nothing
#   deploy.sh --root R --config C   -> detects the architecture over SSH,
#                                      copies the .deb, installs it into the
#                                      throwaway root R, checks and installs
#                                      the config (mwi-agent, 0600) and shows
#                                      the installed agent
# and a second deploy (update) keeps working. sshd is stopped by its PID.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
fail() { echo "ship-deploy.sh: FAIL: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || fail "needs root (sshd privilege separation, dpkg into a root)"
sshd_bin=$(command -v sshd || echo /usr/sbin/sshd)
[ -x "$sshd_bin" ] || fail "sshd not installed (openssh-server, scripts/deps/ship.apt)"

tmp=$(mktemp -d)
sshd_pid=
cleanup() {
	if [ -n "$sshd_pid" ] && kill -0 "$sshd_pid" 2>/dev/null; then
		kill "$sshd_pid"
		wait "$sshd_pid" 2>/dev/null || true
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT

# free port on loopback
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
ssh-keygen -q -t ed25519 -N '' -f "$tmp/host_key"
ssh-keygen -q -t ed25519 -N '' -f "$tmp/user_key"
cp "$tmp/user_key.pub" "$tmp/authorized_keys"
chmod 600 "$tmp/authorized_keys"
mkdir -p /run/sshd # privilege separation directory
cat >"$tmp/sshd_config" <<CONF
ListenAddress 127.0.0.1
Port $port
HostKey $tmp/host_key
AuthorizedKeysFile $tmp/authorized_keys
PidFile $tmp/sshd.pid
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
Subsystem sftp internal-sftp
LogLevel ERROR
CONF
"$sshd_bin" -t -f "$tmp/sshd_config" || fail "sshd config"
"$sshd_bin" -D -e -f "$tmp/sshd_config" 2>"$tmp/sshd.log" &
sshd_pid=$!
user=$(id -un)
echo "127.0.0.1 $(cut -d' ' -f1,2 "$tmp/host_key.pub")" >"$tmp/known_hosts"
sshargs=(--port "$port" -i "$tmp/user_key" -o "UserKnownHostsFile=$tmp/known_hosts" -o StrictHostKeyChecking=yes)
up=0
for _ in $(seq 50); do
	if ssh -p "$port" -i "$tmp/user_key" -o UserKnownHostsFile="$tmp/known_hosts" -o BatchMode=yes "$user@127.0.0.1" true 2>/dev/null; then
		up=1
		break
	fi
	kill -0 "$sshd_pid" 2>/dev/null || { cat "$tmp/sshd.log"; fail "sshd exited"; }
	sleep 0.2
done
[ $up = 1 ] || { cat "$tmp/sshd.log"; fail "sshd did not come up on port $port"; }
echo "sshd on 127.0.0.1:$port (pid $sshd_pid)"

# the package for this machine, built into a private dist
export DIST=$tmp/dist SOURCE_DATE_EPOCH=1700000000 DEB_VERSION=9.8.7~deploytest VERSION=v9.8.7-deploytest
scripts/package.sh amd64 >/dev/null
deb=$DIST/mwi-agent_${DEB_VERSION}_amd64.deb

# a throwaway root with a minimal /etc, as on a fresh device
R=$tmp/devroot
mkdir -p "$R/var/lib/dpkg/info" "$R/var/lib/dpkg/updates" "$R/etc/systemd/system"
touch "$R/var/lib/dpkg/status"
printf 'root:x:0:0:root:/root:/bin/bash\n' >"$R/etc/passwd"
printf 'root:x:0:\n' >"$R/etc/group"
printf 'root:*:19000:0:99999:7:::\n' >"$R/etc/shadow"
printf 'root:*::\n' >"$R/etc/gshadow"

cat >"$tmp/site.yaml" <<'YAML'
log_level: debug
board: sim
accounts:
  - name: desk
    aor: sip:1001@pbx.example.com
    password: s3cret
YAML

echo "--- dry run"
out=$(scripts/deploy.sh --dry-run "${sshargs[@]}" --deb "$deb" --root "$R" --config "$tmp/site.yaml" "$user@127.0.0.1")
echo "$out"
grep -q 'x86_64 -> amd64' <<<"$out" || fail "dry run did not detect the architecture"
for s in "copy the package" "install the package" "copy and check the config" "show the installed agent"; do
	grep -q "$s" <<<"$out" || fail "dry run lacks step '$s'"
done
grep -q '^    scp ' <<<"$out" && grep -q 'dpkg --root=' <<<"$out" || fail "dry run does not print the commands"
[ ! -e "$R/usr/bin/mwi-agent" ] || fail "dry run installed something"

echo "--- deploy"
out=$(scripts/deploy.sh "${sshargs[@]}" --deb "$deb" --root "$R" --config "$tmp/site.yaml" "$user@127.0.0.1" 2>&1) || { echo "$out"; fail "deploy"; }
echo "$out"
grep -q 'mwi-agent v9.8.7-deploytest' <<<"$out" || fail "deploy did not show the installed version"
grep -q 'ok: 1 account' <<<"$out" || fail "deploy did not check the installed config"
uid=$(grep '^mwi-agent:' "$R/etc/passwd" | cut -d: -f3)
gid=$(grep '^mwi-agent:' "$R/etc/passwd" | cut -d: -f4)
[ -n "$uid" ] || fail "service user not created in the root"
cmp -s "$tmp/site.yaml" "$R/etc/mwi-agent/config.yaml" || fail "config not installed"
[ "$(stat -c '%a %u %g' "$R/etc/mwi-agent/config.yaml")" = "600 $uid $gid" ] || fail "config owner/mode $(stat -c '%a %u %g' "$R/etc/mwi-agent/config.yaml")"
updir=$(sed -nE 's/^\[[0-9]+\] clean up (\/tmp\/mwi-agent-deploy\.[0-9]+)$/\1/p' <<<"$out")
[ -n "$updir" ] || fail "no clean-up step in the output"
[ ! -e "$updir" ] || fail "deploy left $updir on the device"

echo "--- a bad config is refused before it replaces the good one"
printf 'accounts:\n  - aor: "not a uri"\n' >"$tmp/bad.yaml"
if scripts/deploy.sh "${sshargs[@]}" --deb "$deb" --root "$R" --config "$tmp/bad.yaml" "$user@127.0.0.1" >"$tmp/bad.log" 2>&1; then
	cat "$tmp/bad.log"
	fail "deploy accepted an invalid config"
fi
cmp -s "$tmp/site.yaml" "$R/etc/mwi-agent/config.yaml" || fail "invalid config replaced the good one"
baddir=$(sed -nE 's/^\[[0-9]+\] copy the package to .*:(\/tmp\/mwi-agent-deploy\.[0-9]+)$/\1/p' "$tmp/bad.log")
[ -n "$baddir" ] && [ ! -e "$baddir" ] || fail "the refused deploy left ${baddir:-its temp dir} on the device"

echo "--- redeploy without --config keeps the device's config"
scripts/deploy.sh "${sshargs[@]}" --deb "$deb" --root "$R" "$user@127.0.0.1" >"$tmp/again.log" 2>&1 || { cat "$tmp/again.log"; fail "redeploy"; }
cmp -s "$tmp/site.yaml" "$R/etc/mwi-agent/config.yaml" || fail "redeploy changed the config"
[ "$(stat -c '%a %u' "$R/etc/mwi-agent/config.yaml")" = "600 $uid" ] || fail "redeploy changed config owner/mode"
echo "ship-deploy.sh: ok"
