#!/bin/bash
# Builds that explain themselves: every build that does not succeed gets a
# failure class (build, infra, timeout, cancelled), shown wherever its reason
# is; a type's `retry = infra:N` runs an infra failure again as the next
# attempt of the same build, each attempt's log and outcome kept; every
# ended build carries what its unit used, "not available" (null) for what
# the host cannot tell. Checked with what any tool would read: busctl,
# imagebuildctl, journalctl, the files on disk.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/agent-lib.sh"
sandbox_require
AGENT_HOST=o

boot_host o 127.0.0.80
install_into o
OUTCOMES_CONF=$(cat <<'CONF'
[host]
arches = x86_64
releases = 40
max_parallel = 1
queue_max = 8
idle_exit_sec = 30
min_free = 1M

[type.fails]
command = sh -c "echo fails build {id} starts; exit 3"
retry = infra:2

[type.sleep]
command = sh -c "echo sleep build {id} starts; exec sleep 600"

[type.quick]
command = sh -c "echo quick build {id} starts; seq 200000 >/dev/null; echo quick build done"

# The first attempt leaves a mark in the build's own output directory and
# waits to be killed; the next one finds the mark and succeeds.
[type.flaky]
command = sh -c "if [ -e {outdir}/tried ]; then echo flaky build {id} again; exit 0; fi; touch {outdir}/tried; sync; echo flaky build {id} first try; exec sleep 600"
retry = infra:2

[type.hog]
command = sh -c "echo hog build {id} starts; head -c 200M /dev/zero | tail -c 150M >/dev/null; echo hog done"
retry = infra:1
CONF
)
write_into o /etc/imagebuild/imagebuild.conf <<<"$OUTCOMES_CONF"
run_in o systemctl stop imagebuild-agent.service 2>/dev/null || true

ctl() { run_in o imagebuildctl --no-pager "$@"; }
log_has() { run_in o journalctl -q -o cat IMAGEBUILD_ID="$1" | grep -q "$2"; }
prop_raw() { run_in o busctl get-property $A "$(path_of "$1")" $B "$2"; }
manifest_of() { run_in o cat "/var/lib/imagebuild/builds/$1/artifacts/manifest.json"; }
# kill_unit ID: the build's unit killed from outside, as an OOM killer or an
# operator would, once the build has said it runs.
kill_unit() {
    wait_for 30 log_has "$1" "starts\|first try"
    run_in o systemctl kill -s KILL "imagebuild-$1.service"
}

# A build whose program exits non-zero: class build, shown by status, list,
# JSON, the manifest; its type's retry = infra:2 does not run it again.
test_build_failure_is_class_build_and_not_retried() {
    local id out
    id=$(submit fails)
    wait_for 30 state_is "$id" failed
    assert_eq "$(prop "$id" FailureClass)" build
    assert_eq "$(prop "$id" Attempt)" 1
    assert_eq "$(prop_raw "$id" Attempts)" "a(ussstt) 0"
    out=$(ctl status "$id")
    assert_contains "$out" "Class: build"
    assert_contains "$(ctl --json status "$id")" '"failure_class":"build"'
    assert_contains "$(ctl --json list --all)" '"failure_class":"build"'
    assert_contains "$(ctl list --all)" "failed (build)"
    wait_for 30 run_in o test -s "/var/lib/imagebuild/builds/$id/artifacts/manifest.json"
    assert_contains "$(manifest_of "$id")" '"failure_class": "build"'
    # One attempt: its program ran once.
    assert_eq "$(run_in o journalctl -q -o cat IMAGEBUILD_ID="$id" | grep -c "fails build $id starts")" 1
}

# The unit killed from outside: class infra; no retry for its type.
test_killed_unit_is_class_infra() {
    local id out
    id=$(submit sleep)
    kill_unit "$id"
    wait_for 30 state_is "$id" failed
    assert_eq "$(prop "$id" FailureClass)" infra
    out=$(ctl status "$id")
    assert_contains "$out" "Class: infra"
    assert_contains "$(ctl list --all)" "failed (infra)"
    wait_for 30 run_in o test -s "/var/lib/imagebuild/builds/$id/artifacts/manifest.json"
    assert_contains "$(manifest_of "$id")" '"failure_class": "infra"'
}

# retry = infra:2: attempt 1 killed from outside runs again as attempt 2 of
# the same build, which succeeds; both attempts' logs and ends are kept.
test_infra_failure_runs_again_as_attempt_2() {
    local id out json
    id=$(submit flaky)
    kill_unit "$id"
    wait_for 60 state_is "$id" succeeded
    assert_eq "$(prop "$id" Attempt)" 2
    assert_eq "$(prop "$id" FailureClass)" ""
    out=$(prop_raw "$id" Attempts)
    assert_contains "$out" 'a(ussstt) 1 1 "failed" "infra"'
    json=$(ctl --json status "$id")
    assert_contains "$json" '"attempt":2'
    assert_contains "$json" '"failure_class":"infra"'
    out=$(ctl status "$id")
    assert_contains "$out" "Attempt: 2"
    assert_contains "$out" "Attempt 1: failed (infra)"
    # The log holds both attempts, with a line between them.
    out=$(ctl log "$id")
    assert_contains "$out" "flaky build $id first try"
    assert_contains "$out" "---- attempt 2 of build $id"
    assert_contains "$out" "flaky build $id again"
    # Each attempt's lines carry their number.
    out=$(run_in o journalctl -q -o cat IMAGEBUILD_ID="$id" IMAGEBUILD_ATTEMPT=1)
    assert_contains "$out" "first try"
    [[ $out != *"flaky build $id again"* ]] || { echo "attempt 2's line tagged attempt 1: $out"; return 1; }
    assert_contains "$(run_in o journalctl -q -o cat IMAGEBUILD_ID="$id" IMAGEBUILD_ATTEMPT=2)" \
        "flaky build $id again"
    # The first attempt's end is kept under its number; the build's
    # end-of-build step ran once, for the last attempt.
    assert_contains "$(run_in o cat "/var/lib/imagebuild/builds/$id/outcome.1")" "EXIT_STATUS=KILL"
    wait_for 30 run_in o test -s "/var/lib/imagebuild/builds/$id/artifacts/manifest.json"
    assert_contains "$(manifest_of "$id")" '"attempt": 2'
    assert_eq "$(run_in o journalctl -q -o cat IMAGEBUILD_ID="$id" IMAGEBUILD_LOG_END=succeeded | wc -l)" 1
}

# What a build used: CPU time from its cgroup; memory and IO where the host
# has those controllers, else "not available" (null), never 0.
test_resource_record() {
    local id json controllers out
    id=$(submit quick)
    wait_for 60 state_is "$id" succeeded
    json=$(ctl --json status "$id")
    python3 - "$json" <<'PY'
import json, sys
b = json.loads(sys.argv[1])
r = b["resources"]
assert isinstance(r["cpu_usec"], int) and r["cpu_usec"] > 0, r
assert isinstance(r["wall_usec"], int) and r["wall_usec"] > 0, r
for key in ("memory_peak_bytes", "io_read_bytes", "io_write_bytes"):
    assert key in r, (key, r)
    assert r[key] is None or r[key] > 0 or key.startswith("io_"), (key, r)
assert b["staged_at"] >= b["finished_at"] > 0, b
print("resources", r)
PY
    controllers=$(run_in o cat /sys/fs/cgroup/cgroup.controllers)
    out=$(ctl status "$id")
    if [[ " $controllers " != *" memory "* ]]; then
        assert_contains "$json" '"memory_peak_bytes":null'
        assert_contains "$out" "memory peak not available"
    fi
    if [[ " $controllers " != *" io "* ]]; then
        assert_contains "$json" '"io_read_bytes":null'
        assert_contains "$out" "IO read not available"
    fi
    assert_contains "$(prop_raw "$id" Resources)" '"cpu_usec"'
    wait_for 30 run_in o test -s "/var/lib/imagebuild/builds/$id/artifacts/manifest.json"
    assert_contains "$(manifest_of "$id")" '"cpu_usec"'
}

# A power cut mid-build: interrupted is class infra; with retry = infra:2
# the build runs again as attempt 2 after the boot, and succeeds.
test_power_cut_is_infra_and_runs_again() {
    local cut retried
    cut=$(submit sleep)
    wait_for 30 state_is "$cut" running
    run_in o imagebuildctl --no-pager cancel "$cut" >/dev/null 2>&1 || true
    wait_for 30 state_is "$cut" cancelled
    assert_eq "$(prop "$cut" FailureClass)" cancelled
    retried=$(submit flaky)
    wait_for 30 log_has "$retried" "first try"
    run_in o sync
    sb_release o
    boot_host o 127.0.0.80
    wait_for 60 state_is "$retried" succeeded
    assert_eq "$(prop "$retried" Attempt)" 2
    assert_contains "$(prop_raw "$retried" Attempts)" \
        '"failed" "infra" "interrupted: host restarted while running"'
    assert_contains "$(ctl status "$retried")" "Attempt 1: failed (infra): interrupted: host restarted"
}

# A type under a low memory_max that allocates more: the OOM killer's
# kill is class infra. Needs the memory controller on the unified hierarchy.
test_oom_kill_is_infra() {
    local id
    with_memory_max 32M
    id=$(submit hog)
    wait_for 60 state_is "$id" failed
    assert_eq "$(prop "$id" FailureClass)" infra
    assert_eq "$(prop "$id" Attempt)" 2
}
with_memory_max() {
    sed "s/^min_free = 1M$/min_free = 1M\nmemory_max = $1/" <<<"$OUTCOMES_CONF" |
        write_into o /etc/imagebuild/imagebuild.conf
    stop_agent o
}

test_case "a build that exits non-zero is class build, shown everywhere, and never retried" test_build_failure_is_class_build_and_not_retried
test_case "the build's unit killed from outside is class infra" test_killed_unit_is_class_infra
test_case "retry = infra:2 runs an infra failure again as attempt 2 of the same build, both logs kept" test_infra_failure_runs_again_as_attempt_2
test_case "the resource record: CPU time measured, what the host cannot tell is null / not available" test_resource_record
test_case "cancel is class cancelled; a power cut is infra, and retry = infra:2 runs it again after the boot" test_power_cut_is_infra_and_runs_again
if run_in o grep -qw memory /sys/fs/cgroup/cgroup.controllers; then
    test_case "an OOM kill under memory_max is class infra and runs again" test_oom_kill_is_infra
else
    _tap_count=$((_tap_count + 1))
    echo "# SKIP: the OOM case needs the memory controller on the unified hierarchy;"
    echo "#       this host's sandbox has only: $(run_in o cat /sys/fs/cgroup/cgroup.controllers)"
    echo "ok $_tap_count - an OOM kill under memory_max is class infra # SKIP no memory controller in the sandbox host's cgroup2 (MemoryMax= is not enforced here)"
fi
finish
