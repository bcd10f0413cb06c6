#!/bin/bash
# Build records stay true through what happens to a real build host: a
# package upgrade's daemon-reload or daemon-reexec, the agent killed with a
# queue, a power cut, an agent that exits on idle again and again. Every
# check reads what any tool would: busctl, systemctl, the record on disk.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/agent-lib.sh"
sandbox_require
AGENT_HOST=r

boot_host r 127.0.0.41
install_into r
write_into r /etc/imagebuild/imagebuild.conf <<'CONF'
[host]
arches = x86_64
releases = 40
max_parallel = 1
queue_max = 4
idle_exit_sec = 2

[type.short]
command = sh -c "echo short build {id} starts; sleep 4; echo short build done"

[type.medium]
command = sh -c "echo medium build {id} starts; sleep 12; echo medium build done"

[type.sleep]
command = sleep 600
tools = sleep
CONF
run_in r systemctl stop imagebuild-agent.service 2>/dev/null || true

record_of() { run_in r cat "/var/lib/imagebuild/builds/$1/record.json"; }
record_says() { record_of "$1" | grep -q "\"state\": \"$2\""; }
agent_pid() { run_in r systemctl show -p MainPID --value imagebuild-agent.service; }
agent_down() { [ "$(agent_pid)" = 0 ]; }

# systemd drops every unit object from the bus during a reload and brings
# it back: a running build must not be taken for ended.
reload_keeps_state() {
    local verb=$1 id
    id=$(submit medium)
    wait_for 20 state_is "$id" running
    run_in r systemctl "$verb"
    # The agent has seen the reload (its signals are processed in order)
    # once it answers the next call.
    assert_eq "$(prop "$id" State)" running
    assert_eq "$(run_in r systemctl is-active "imagebuild-$id.service")" active
    wait_for 30 state_is "$id" succeeded
    assert_eq "$(prop "$id" ExitStatus)" 0
    assert_eq "$(prop "$id" Reason)" ""
    # The reload dropped the unit's ExecStopPost= steps: the outcome is the
    # end systemd reported, and the end-of-build step still stages the build.
    assert_contains "$(run_in r cat "/var/lib/imagebuild/builds/$id/outcome")" \
        "SERVICE_RESULT=success"
    wait_for 30 run_in r test -f "/var/lib/imagebuild/builds/$id/staging.json"
}
test_daemon_reload_mid_build() { reload_keeps_state daemon-reload; }
test_daemon_reexec_mid_build() { reload_keeps_state daemon-reexec; }

# kill -9 of the agent with one build running and one queued, then no call
# at all: the queued build starts once the running one ends.
test_killed_agent_queue_does_not_stall() {
    local one two
    one=$(submit short)
    two=$(submit short)
    wait_for 20 state_is "$one" running
    assert_eq "$(prop "$two" State)" queued
    run_in r kill -9 "$(agent_pid)"
    # Nobody calls the agent from here on: only the disk and systemd say.
    wait_for 60 record_says "$two" running
    wait_for 60 record_says "$two" succeeded
    assert_contains "$(record_of "$one")" '"result": "succeeded"'
}

# A power cut mid-build: the host is killed, not shut down, so the unit
# never records an outcome. After boot the build is failed as interrupted,
# never run again; its partial output is kept but is no artifact.
test_power_cut_is_interrupted_not_rerun() {
    local id
    id=$(submit sleep)
    wait_for 20 state_is "$id" running
    run_in r sh -c "echo partial > /var/lib/imagebuild/builds/$id/out/partial.iso"
    run_in r sync
    sb_release r
    boot_host r 127.0.0.41
    assert_eq "$(prop "$id" State)" failed
    assert_eq "$(prop "$id" Reason)" "interrupted: host restarted while running"
    assert_eq "$(prop "$id" Artifacts)" "0"
    run_in r test -e "/var/lib/imagebuild/builds/$id/out/partial.iso"
    # Not started again: systemd never heard of its unit in this boot.
    assert_eq "$(run_in r systemctl show -p LoadState --value "imagebuild-$id.service")" not-found
    assert_eq "$(run_in r journalctl -b -q -o cat IMAGEBUILD_ID="$id" _SYSTEMD_UNIT="imagebuild-$id.service")" ""
    retry_of_an_interrupted_build "$id"
}

# The agent exits on idle and is activated again, many times, always cleanly:
# the unit never ends up failed.
test_idle_exit_is_clean() {
    local i
    for i in $(seq 10); do
        assert_eq "$(run_in r busctl get-property $A $M $I Hostname)" 's "r"'
        wait_for 30 agent_down
        assert_eq "$(run_in r systemctl show -p Result --value imagebuild-agent.service)" success
    done
    assert_eq "$(run_in r systemctl is-failed imagebuild-agent.service || true)" inactive
}

# (Called by the power-cut case, on the host booted after the cut.)
# The interrupted build is run again only when asked: `imagebuildctl retry`
# submits a new build with its spec, linked to it, in a directory of its
# own; the old record and partial output stay as they were.
retry_of_an_interrupted_build() {
    local old=$1 id record_sum out
    record_sum=$(run_in r sha256sum "/var/lib/imagebuild/builds/$old/record.json")
    id=$(run_in r imagebuildctl --no-pager -q retry "$old")
    [ -n "$id" ] && [ "$id" != "$old" ] || { echo "retry gave id '$id'"; return 1; }
    assert_eq "$(prop "$id" RetryOf)" "$old"
    assert_eq "$(prop "$id" Type)" sleep
    assert_eq "$(run_in r cat "/var/lib/imagebuild/builds/$id/ks.cfg")" \
        "$(run_in r cat "/var/lib/imagebuild/builds/$old/ks.cfg")"
    assert_contains "$(record_of "$id")" "\"retry_of\": \"$old\""
    wait_for 20 state_is "$id" running
    out=$(run_in r imagebuildctl --no-pager status "$id")
    assert_contains "$out" "Retry of: $old"
    assert_contains "$(run_in r imagebuildctl --no-pager --json list --all)" "\"retry_of\":\"$old\""
    # Its unit writes into its own directory, never into the old one.
    assert_eq "$(run_in r systemctl show -p WorkingDirectory --value "imagebuild-$id.service")" \
        "/var/lib/imagebuild/builds/$id/work"
    run_in r test ! -e "/var/lib/imagebuild/builds/$id/out/partial.iso"
    run_in r test -e "/var/lib/imagebuild/builds/$old/out/partial.iso"
    assert_eq "$(run_in r sha256sum "/var/lib/imagebuild/builds/$old/record.json")" "$record_sum"
    assert_eq "$(prop "$old" State)" failed
    assert_eq "$(prop "$old" RetryOf)" ""
    # Its staged manifest names the build it re-runs.
    run_in r imagebuildctl --no-pager cancel "$id"
    wait_for 30 state_is "$id" cancelled
    wait_for 30 run_in r test -s "/var/lib/imagebuild/builds/$id/artifacts/manifest.json"
    assert_contains "$(run_in r cat "/var/lib/imagebuild/builds/$id/artifacts/manifest.json")" \
        "\"retry_of\": \"$old\""
    # An unknown id is an answer, not a new build.
    out=$(run_in r busctl call $A $M $I Retry "sa{sv}" r-999 0 2>&1 || true)
    assert_contains "$out" "no build \"r-999\""
}

# The build's unit loses its ExecStopPost= steps to a daemon-reload, and the
# agent is killed: the build ends while no agent runs. systemd still starts
# the unit's OnSuccess= (imagebuild-end@<id>.service), which records the end
# systemd reported, stages the build and pokes the agent: the record says
# the truth, and the end-of-build step ran once.
test_reload_then_agent_down_end_is_true() {
    local id out sum
    # A host booted in a case (the power cut's) ends with that case.
    sb_is_running r || { sb_release r && boot_host r 127.0.0.41; }
    # A type with an artifact, for this case; the agent reads it when the
    # bus next starts it.
    run_in r systemctl stop imagebuild-agent.service
    run_in r sh -c 'cat >>/etc/imagebuild/imagebuild.conf' <<'CONF'

[type.staged]
command = sh -c "echo staged build {id} starts; sleep 8; seq 1 500 > {outdir}/staged.img; echo staged build done"
tools = sh sleep seq
artifacts = *.img
CONF
    id=$(submit staged)
    wait_for 20 state_is "$id" running
    run_in r systemctl daemon-reload
    # The agent has seen the reload once it answers the next call.
    assert_eq "$(prop "$id" State)" running
    run_in r kill -9 "$(agent_pid)"
    # Nobody calls the agent from here on: the end-of-build step's poke
    # starts it, and it reads the outcome that step wrote.
    wait_for 60 record_says "$id" succeeded
    out=$(run_in r imagebuildctl --no-pager status "$id")
    assert_contains "$out" succeeded
    assert_eq "$(prop "$id" ExitStatus)" 0
    assert_eq "$(prop "$id" Reason)" ""
    sum=$(run_in r sha256sum "/var/lib/imagebuild/builds/$id/out/staged.img" | cut -d' ' -f1)
    out=$(run_in r imagebuildctl --no-pager artifacts "$id")
    assert_contains "$out" "staged.img"
    assert_contains "$out" "$sum"
    assert_contains "$(run_in r cat "/var/lib/imagebuild/builds/$id/outcome")" \
        "SERVICE_RESULT=success"
    assert_contains "$(run_in r journalctl -q -o cat -u "imagebuild-end@$id.service")" \
        "recorded the end systemd reported"
    # Once: one end mark in the build's log, one end-of-build report.
    assert_eq "$(run_in r journalctl -q -o cat IMAGEBUILD_ID="$id" IMAGEBUILD_LOG_END=succeeded | wc -l)" 1
    assert_eq "$(run_in r journalctl -q -o cat IMAGEBUILD_ID="$id" | grep -c '^imagebuild: build succeeded; staged ')" 1
}

# The same reload, with the agent running, and a build that fails: systemd
# starts its OnFailure= unit (imagebuild-end-failed@<id>.service), which
# records the failure; the agent waits for it and starts nothing of its own.
test_reload_then_failure_is_recorded_by_the_failure_unit() {
    local id
    sb_is_running r || { sb_release r && boot_host r 127.0.0.41; }
    run_in r systemctl stop imagebuild-agent.service
    run_in r sh -c 'cat >>/etc/imagebuild/imagebuild.conf' <<'CONF'

[type.failing]
command = sh -c "echo failing build {id} starts; sleep 8; exit 3"
CONF
    id=$(submit failing)
    wait_for 20 state_is "$id" running
    run_in r systemctl daemon-reload
    assert_eq "$(prop "$id" State)" running
    wait_for 60 state_is "$id" failed
    assert_eq "$(prop "$id" ExitStatus)" 3
    assert_eq "$(prop "$id" Reason)" ""
    assert_contains "$(run_in r cat "/var/lib/imagebuild/builds/$id/outcome")" \
        "SERVICE_RESULT=exit-code"
    assert_contains "$(run_in r journalctl -q -o cat -u "imagebuild-end-failed@$id.service")" \
        "recorded the end systemd reported"
    assert_eq "$(run_in r journalctl -q -o cat -u "imagebuild-$id-end.service")" ""
    assert_eq "$(run_in r journalctl -q -o cat IMAGEBUILD_ID="$id" IMAGEBUILD_LOG_END=failed | wc -l)" 1
}

test_case "daemon-reload mid-build changes no build's state" test_daemon_reload_mid_build
test_case "daemon-reexec mid-build changes no build's state" test_daemon_reexec_mid_build
test_case "kill -9 of the agent with a queue: the queued build starts with no call" test_killed_agent_queue_does_not_stall
test_case "idle exit is clean, again and again" test_idle_exit_is_clean
test_case "a power cut mid-build is recorded as interrupted, never re-run; retry runs it as a new build" test_power_cut_is_interrupted_not_rerun
test_case "daemon-reload mid-build, then the agent killed: the end is recorded truly, once, by systemd's OnSuccess= unit" test_reload_then_agent_down_end_is_true
test_case "daemon-reload mid-build, then the build fails: its OnFailure= unit records it" test_reload_then_failure_is_recorded_by_the_failure_unit
finish
