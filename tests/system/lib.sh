# shellcheck shell=bash
# Test harness for system tests: boots sandbox hosts shared by all the cases
# of one script, runs each case, prints TAP, and always cleans up.
# See docs/hacking.md ("Adding a system test").

# shellcheck source=tests/system/sandbox-lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/sandbox-lib.sh"

set -u

IMAGEBUILD_SOURCE_ROOT=${IMAGEBUILD_SOURCE_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
IMAGEBUILD_BUILD_ROOT=${IMAGEBUILD_BUILD_ROOT:-$IMAGEBUILD_SOURCE_ROOT/build}
export IMAGEBUILD_SOURCE_ROOT IMAGEBUILD_BUILD_ROOT
# Each script has its own hosts, so scripts never see each other's state.
export IMAGEBUILD_SANDBOX_DIR=${IMAGEBUILD_SANDBOX_DIR:-$IMAGEBUILD_BUILD_ROOT/sandbox-hosts/$(basename "$0" .sh)}
# A sandbox dies with the script that booted it, even on SIGKILL.
export SB_TIE_TO_PARENT=1
# Files a script keeps between its cases (each case runs in a subshell);
# removed with everything else at exit.
TEST_SCRATCH=$IMAGEBUILD_SANDBOX_DIR/scratch
mkdir -p "$TEST_SCRATCH"

_tap_count=0
_tap_failed=0
declare -A _hosts_booted=()

# How many cases this script has (each `test_case` line at the start of a
# line is one), first thing in its output: tools/test-summary counts the
# cases a script never reached — it bailed out, or could not start here —
# as NOT RUN instead of forgetting them.
echo "# cases planned: $(grep -c '^test_case ' "$0")"

# Skips the whole script (TAP plan 1..0, exit 77) when sandboxes cannot run.
# Without root that is a plain skip (README); as root it means this machine
# lacks something the sandbox needs, and its cases are NOT RUN, loudly.
sandbox_require() {
    local why
    if ! why=$(sb_check_requirements 2>&1); then
        if [ "$(id -u)" -eq 0 ]; then
            echo "# NOT RUN: ${why//$'\n'/ }"
            echo "$why" >&2
        fi
        why=${why%%$'\n'*}
        echo "1..0 # SKIP ${why#sandbox: }"
        exit 77
    fi
}

_cleanup() {
    local name
    for name in "${!_hosts_booted[@]}"; do
        sb_destroy "$name"
    done
    rm -rf --one-file-system "$TEST_SCRATCH"
    rmdir "$IMAGEBUILD_SANDBOX_DIR" 2>/dev/null || true
}
trap _cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

# boot_host NAME ADDRESS: the first boot of NAME in a script starts from
# fresh layers; a later one (after poweroff_host) is a reboot of that host.
boot_host() {
    local name=$1 address=$2
    if [ -z "${_hosts_booted[$name]:-}" ]; then
        sb_destroy "$name"
        _hosts_booted[$name]=1
    fi
    sb_boot "$name" "$address" || bail_out "could not boot host $name"
}

poweroff_host() { sb_poweroff "$1"; }
# A failed install fails loudly: the cases after it would test the files of
# a half-finished one.
install_into() { sb_install "$1" "$IMAGEBUILD_BUILD_ROOT" || bail_out "meson install into host $1 failed"; }
run_in() { sb_run "$@"; }

# Stops a host's agent. A build's end hook may ask the bus for the agent
# while it stops; systemd then cancels the stop job for the start ("Job for
# imagebuild-agent.service canceled") and the agent comes back: stop again
# until a stop has completed.
stop_agent() {
    local try
    for try in 1 2 3 4 5; do
        run_in "$1" systemctl stop imagebuild-agent.service && return 0
        sleep 0.2
    done
    return 1
}

# write_into HOST PATH: stdin becomes PATH inside HOST (parents created).
write_into() {
    sb_run "$1" sh -c 'mkdir -p "$(dirname "$1")" && cat >"$1"' sh "$2"
}

bail_out() {
    echo "Bail out! $*"
    exit 1
}

# test_case DESCRIPTION FUNCTION [ARGS...]: runs FUNCTION in a subshell with
# errexit, so its first failing command fails the case. Its output becomes
# TAP diagnostics; on failure the journals of the running hosts follow. A
# failed case's output also goes to stderr: meson's error log (and so a CI
# log) shows a TAP test's stderr only, and a failure without its "expected/
# got" lines cannot be told from another.
test_case() {
    local description=$1 rc report output=$TEST_SCRATCH/.case-output
    shift
    _tap_count=$((_tap_count + 1))
    (
        set -e
        "$@"
    ) 2>&1 | tee "$output" | sed 's/^/# /'
    rc=${PIPESTATUS[0]}
    if [ "$rc" -eq 0 ]; then
        echo "ok $_tap_count - $description"
    else
        _tap_failed=$((_tap_failed + 1))
        echo "not ok $_tap_count - $description (exit $rc)"
        report=$(
            echo "--- failed: $description (exit $rc)"
            cat "$output"
            _journal_tails
        )
        echo "$report" >&2
        echo "$report" | sed 's/^/# /'
    fi
    rm -f "$output"
}

_journal_tails() {
    local name
    for name in "${!_hosts_booted[@]}"; do
        sb_is_running "$name" || continue
        echo "--- journal of host $name (last 25 lines)"
        sb_run "$name" journalctl --no-pager -n 25 -o short-monotonic 2>&1
    done
}

finish() {
    echo "1..$_tap_count"
    [ "$_tap_failed" -eq 0 ]
}

# Assertion helpers: each says what it expected and what it got.
assert_eq() {
    if [ "$1" != "$2" ]; then
        echo "expected: '$2'"
        echo "     got: '$1'${3:+ ($3)}"
        return 1
    fi
}

assert_contains() {
    if [[ $1 != *"$2"* ]]; then
        echo "expected to find: '$2'"
        echo "in: '$1'"
        return 1
    fi
}

# assert_exit CODE CMD...: CMD must exit with exactly CODE.
assert_exit() {
    local expected=$1 rc=0
    shift
    "$@" || rc=$?
    if [ "$rc" -ne "$expected" ]; then
        echo "expected exit $expected, got $rc from: $*"
        return 1
    fi
}

# wait_for SECONDS CMD...: retries CMD until it succeeds, for at most SECONDS.
wait_for() {
    local deadline=$((SECONDS + $1))
    shift
    until "$@" >/dev/null 2>&1; do
        if [ $SECONDS -ge $deadline ]; then
            echo "timed out after waiting for: $*"
            return 1
        fi
        sleep 0.1
    done
}
