#!/usr/bin/env bash
# The whole test suite, as the README and .ci/run call it:
#
#   1. installs the Debian packages listed in scripts/deps/*.apt (as root,
#      skipping what is present),
#   2. go vet ./...
#   3. go test -race ./... with MWI_INTEGRATION=1, so integration tests against
#      real programs (Kamailio, minimodem, multimon-ng, spandsp, chromium) run
#      and fail if a tool is missing,
#   4. every scripts/integration/*.sh (e.g. the qemu GPIO tests),
#   5. prints a summary; exits non-zero if anything failed.
#
# Environment: MWI_SKIP_INSTALL=1 skips step 1; MWI_TEST_RUN=REGEX passes
# -run to go test; MWI_ONLY=go|integration runs only one half.
set -uo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
log_dir=${MWI_TEST_LOGS:-$root/out/test}
mkdir -p "$log_dir"
start=$(date +%s)
failures=()

section() { printf '\n==== %s ====\n' "$*"; }

# ---- 1. install --------------------------------------------------------------
if [ "${MWI_SKIP_INSTALL:-0}" != 1 ]; then
	section "install test dependencies"
	want=$(cat scripts/deps/*.apt 2>/dev/null | sed 's/#.*//' | tr -s ' \t' '\n' | grep -v '^$' | sort -u)
	missing=()
	for p in $want; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
	done
	if [ ${#missing[@]} -gt 0 ]; then
		echo "installing: ${missing[*]}"
		if [ "$(id -u)" != 0 ]; then
			echo "not root: cannot install ${missing[*]}; integration tests needing them will fail" >&2
		else
			export DEBIAN_FRONTEND=noninteractive
			apt_opts=(-o DPkg::Lock::Timeout=600 -o Acquire::Retries=3)
			apt-get "${apt_opts[@]}" update -qq >"$log_dir/apt-update.log" 2>&1 || { cat "$log_dir/apt-update.log"; }
			if ! apt-get "${apt_opts[@]}" install -y -qq --no-install-recommends "${missing[@]}" >"$log_dir/apt-install.log" 2>&1; then
				tail -30 "$log_dir/apt-install.log"
				failures+=("apt-get install")
			fi
		fi
	else
		echo "all present"
	fi
	echo "install: $(( $(date +%s) - start )) s"
fi

# ---- 2+3. go vet, go test ---------------------------------------------------
passed=0 failed=0 skipped=0
if [ "${MWI_ONLY:-}" != integration ]; then
	section "go vet ./..."
	if ! go vet ./...; then failures+=("go vet"); fi

	section "go test -race ./... (integration enabled)"
	run_args=()
	[ -n "${MWI_TEST_RUN:-}" ] && run_args=(-run "$MWI_TEST_RUN")
	t0=$(date +%s)
	MWI_INTEGRATION=1 go test -race -count=1 -timeout 30m -json "${run_args[@]}" ./... >"$log_dir/go-test.json" 2>"$log_dir/go-test.stderr"
	rc=$?
	# Human-readable: package lines, failures with their output.
	go run ./scripts/testsummary <"$log_dir/go-test.json" | tee "$log_dir/go-test.txt"
	read -r passed failed skipped < <(tail -1 "$log_dir/go-test.txt" | sed -E 's/.*go test: ([0-9]+) passed, ([0-9]+) failed, ([0-9]+) skipped.*/\1 \2 \3/')
	if [ $rc -ne 0 ]; then
		cat "$log_dir/go-test.stderr" | tail -40
		failures+=("go test")
	fi
	echo "go test: $(( $(date +%s) - t0 )) s"
fi

# ---- 4. integration scripts ------------------------------------------------
iscripts=0 ifailed=0
if [ "${MWI_ONLY:-}" != go ]; then
	for s in scripts/integration/*.sh; do
		[ -e "$s" ] || continue
		section "$s"
		iscripts=$((iscripts + 1))
		t0=$(date +%s)
		if bash "$s"; then
			echo "$s: ok ($(( $(date +%s) - t0 )) s)"
		else
			echo "$s: FAILED ($(( $(date +%s) - t0 )) s)"
			ifailed=$((ifailed + 1))
			failures+=("$s")
		fi
	done
fi

# ---- 5. summary -------------------------------------------------------------
section "summary"
echo "integration scripts: $((iscripts - ifailed)) of $iscripts ok"
echo "total time: $(( $(date +%s) - start )) s; logs in $log_dir"
if [ ${#failures[@]} -gt 0 ]; then
	echo "FAILED: ${failures[*]}"
fi
echo "tests: $((passed + iscripts - ifailed)) passed, $((failed + ifailed)) failed, $skipped skipped"
[ ${#failures[@]} -eq 0 ]
