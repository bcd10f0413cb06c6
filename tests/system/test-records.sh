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
RECORDS_CONF=$(cat <<'CONF'
[host]
arches = x86_64
releases = 40
max_parallel = 1
queue_max = 4
idle_exit_sec = 2
min_free = 1M

[type.short]
command = sh -c "echo short build {id} starts; sleep 4; echo short build done"

[type.medium]
command = sh -c "echo medium build {id} starts; sleep 12; echo medium build done"

[type.sleep]
command = sleep 600
tools = sleep

[type.fill]
command = sh -c "echo fill build {id} starts; dd if=/dev/zero of={outdir}/image.iso bs=64k; exit 1"
artifacts = *.iso
CONF
)
write_into r /etc/imagebuild/imagebuild.conf <<<"$RECORDS_CONF"
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

# --- Full disk, admission control, an invalid configuration -------------------

# with_config SED-EXPR: the agent's next start reads the records config
# edited by SED-EXPR; restore_config puts it back. The agent is stopped, so
# the next call starts one that reads the file.
with_config() {
    sed "$1" <<<"$RECORDS_CONF" | write_into r /etc/imagebuild/imagebuild.conf
    stop_agent r
}
restore_config() { with_config ''; }
# gdbus prints the error's name, busctl only its message.
gdbus_submit() {
    run_in r gdbus call --system --timeout 5 --dest $A --object-path $M \
        --method $I.Submit "{'type': <'short'>, 'arch': <'x86_64'>, 'release': <'40'>, 'kickstart': <'$KS'>}" 2>&1
}
ctl_build() {
    run_in r sh -c 'printf "%s" "$1" > /run/records.ks && imagebuildctl --no-pager build /run/records.ks -t short -a x86_64 -r 40' \
        sh "$KS"
}
fills_started() { run_in r journalctl -q -o cat IMAGEBUILD_ID="$1" | grep -c "^fill build $1 starts" || true; }

# A few MB of tmpfs over the builds' filesystem, filled by a build: the
# agent stays up and answers reads from what it has, refuses new builds with
# NoSpace naming the filesystem and its free space, records the build as
# failed for lack of space with no artifact, and runs nothing again once
# space is freed.
test_full_disk_is_an_answer() {
    local id out pid rc=0 builds=/var/lib/imagebuild/builds
    with_config 's/^min_free = .*/min_free = 0/'
    run_in r mkdir -p $builds
    run_in r mount -t tmpfs -o size=4M,mode=0755 imagebuild-full $builds
    # Space to free later: nothing of the build's.
    run_in r dd if=/dev/zero of=$builds/ballast bs=1M count=1 status=none
    id=$(submit fill)
    wait_for 60 state_is "$id" failed
    pid=$(agent_pid)
    assert_contains "$(prop "$id" Reason)" "no space left on $builds"
    assert_eq "$(prop "$id" Artifacts)" "0"
    # Reads answer from memory.
    out=$(run_in r imagebuildctl --no-pager list --all)
    assert_contains "$out" "$id"
    out=$(run_in r imagebuildctl --no-pager status "$id")
    assert_contains "$out" "failed"
    # Submit is an answer naming the filesystem and its free space.
    out=$(gdbus_submit || true)
    assert_contains "$out" "org.imagebuild.Error.NoSpace"
    assert_contains "$out" "cannot write build records on $builds ("
    [[ $out =~ \(([0-9.]+\ ?[BK])\ free\) ]] || { echo "no free space figure in: $out"; return 1; }
    out=$(ctl_build 2>&1) || rc=$?
    assert_eq "$rc" 8 "imagebuildctl's exit status"
    assert_contains "$out" "out of disk space"
    assert_contains "$out" "$builds ("
    # Logged once, however many calls were refused.
    assert_eq "$(run_in r journalctl -q -o cat MESSAGE_ID=0c43255b0d2f419cb1739c6c964863c7 _PID="$pid" | wc -l)" 1
    # Still the same agent: it did not crash, nor exit with its record unwritten.
    sleep 3
    assert_eq "$(agent_pid)" "$pid"
    # Space freed: the next call writes the record; nothing runs again.
    run_in r rm $builds/ballast
    run_in r busctl call $A $M $I ListBuilds 'a{sv}' 0 >/dev/null
    wait_for 10 record_says "$id" failed
    assert_contains "$(record_of "$id")" "no space left on $builds"
    assert_contains "$(record_of "$id")" '"artifacts": []'
    run_in r test -s "$builds/$id/out/image.iso"  # partial output kept
    stop_agent r
    assert_eq "$(prop "$id" State)" failed
    assert_eq "$(fills_started "$id")" 1
    assert_eq "$(run_in r systemctl show -p LoadState --value "imagebuild-$id.service")" not-found
    # And new builds are accepted again.
    id=$(submit short)
    wait_for 30 state_is "$id" succeeded
    stop_agent r
    run_in r umount $builds
    restore_config
}

# min_free larger than what is free: Submit is refused up front, with both
# figures and the filesystem.
test_min_free_refuses_submit() {
    local out rc=0
    with_config 's/^min_free = .*/min_free = 1000T/'
    out=$(gdbus_submit || true)
    assert_contains "$out" "org.imagebuild.Error.NoSpace"
    assert_contains "$out" "not enough free space on /"
    assert_contains "$out" "(holding /var/lib/imagebuild/builds)"
    [[ $out =~ :\ [0-9.]+\ ?[BKMGT]?\ free,\ 1000T\ needed ]] || { echo "no figures in: $out"; return 1; }
    out=$(ctl_build 2>&1) || rc=$?
    assert_eq "$rc" 8 "imagebuildctl's exit status"
    assert_contains "$out" "1000T needed"
    restore_config
}

# An invalid configuration: the agent takes its name and answers every call
# with ConfigInvalid naming file:line, at once, and still exits on idle.
test_invalid_config_is_answered_at_once() {
    local out agent rc=0
    with_config '/^\[type\./,$d'
    out=$(run_in r busctl --timeout=5 call $A $M $I ListBuilds 'a{sv}' 0 2>&1) || rc=$?
    [ "$rc" -ne 0 ] || { echo "ListBuilds succeeded with no type configured"; return 1; }
    assert_contains "$out" "/etc/imagebuild/imagebuild.conf:"
    assert_contains "$out" "no [type.<name>] section"
    out=$(run_in r gdbus call --system --timeout 5 --dest $A --object-path $M --method $I.ListBuilds '{}' 2>&1 || true)
    assert_contains "$out" "org.imagebuild.Error.ConfigInvalid"
    rc=0
    out=$(run_in r imagebuildctl --no-pager list 2>&1) || rc=$?
    assert_eq "$rc" 9 "imagebuildctl's exit status"
    assert_contains "$out" "configuration is invalid"
    assert_contains "$out" "/etc/imagebuild/imagebuild.conf:"
    # --check-config says the same.
    rc=0
    agent=$(run_in r systemctl show -p ExecStart --value imagebuild-agent.service |
        sed -n 's/.*path=\([^ ;]*\).*/\1/p')
    out=$(run_in r "$agent" --check-config 2>&1) || rc=$?
    assert_eq "$rc" 1 "imagebuild-agent --check-config's exit status"
    assert_contains "$out" "/etc/imagebuild/imagebuild.conf:"
    # Exits on idle (the default 30 s: the file gave none), cleanly.
    wait_for 60 agent_down
    assert_eq "$(run_in r systemctl show -p Result --value imagebuild-agent.service)" success
    restore_config
    assert_eq "$(run_in r busctl get-property $A $M $I Hostname)" 's "r"'
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
    stop_agent r
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
    stop_agent r
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
test_case "a full disk under the builds: reads served, Submit refused with NoSpace, the build failed for it, nothing re-run" test_full_disk_is_an_answer
test_case "min_free above what is free: Submit refused with both figures" test_min_free_refuses_submit
test_case "an invalid configuration is answered ConfigInvalid with file:line at once" test_invalid_config_is_answered_at_once
# (Last: the host it boots again lives only as long as that case.)
test_case "a power cut mid-build is recorded as interrupted, never re-run; retry runs it as a new build" test_power_cut_is_interrupted_not_rerun
test_case "daemon-reload mid-build, then the agent killed: the end is recorded truly, once, by systemd's OnSuccess= unit" test_reload_then_agent_down_end_is_true
test_case "daemon-reload mid-build, then the build fails: its OnFailure= unit records it" test_reload_then_failure_is_recorded_by_the_failure_unit
finish
