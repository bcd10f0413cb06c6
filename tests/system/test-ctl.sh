#!/bin/bash
# imagebuildctl end to end: the real binary against the real agent, bus,
# journald and systemd of a sandbox host. Builds run real commands: an
# oemdrv ISO made with xorriso, and test image types from this script's own
# agent configuration (a long sleep to cancel, a failing command, a `live`
# type for the legacy request file).
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/forwarder-lib.sh"
sandbox_require

boot_host a 127.0.0.40
install_into a

agent_conf=$(cat <<'EOF'
[host]
arches = x86_64
releases = 39
max_parallel = 4
idle_exit_sec = 0

[type.oemdrv]
command = xorriso -as mkisofs -V OEMDRV -graft-points -o {outdir}/oemdrv.iso ks.cfg={ks}
artifacts = oemdrv.iso

[type.sleeper]
command = sleep 600

[type.failing]
command = sh -c "echo about to fail; exit 3"
tools = sh

[type.live]
command = cp {ks} {outdir}/live.ks
artifacts = live.ks
EOF
)
printf '%s\n' "$agent_conf" | write_into a /etc/imagebuild/imagebuild.conf

ctl() { run_in a imagebuildctl --no-pager "$@"; }

work=/var/tmp/ctl-test
write_into a $work/root.ks <<'EOF'
lang en_US.UTF-8
%include parts/auth.ks
%packages
@core
%end
EOF
write_into a $work/parts/auth.ks <<'EOF'
rootpw --lock
EOF

oemdrv_id=
state_of() { ctl show "$1" -p State; }

test_build_follow() {
    local out rc=0
    out=$(ctl build $work/root.ks --type oemdrv --arch x86_64 --release 39 --name demo --follow 2>&1) || rc=$?
    echo "$out"
    assert_eq "$rc" 0
    assert_contains "$out" "Build a-1 succeeded."
    assert_contains "$out" "Submitted build a-"
    oemdrv_id=$(sed -n 's/^Submitted build \(a-[0-9]*\)\.$/\1/p' <<<"$out")
    [ -n "$oemdrv_id" ]
    echo "$oemdrv_id" >"$TEST_SCRATCH/oemdrv-id"
    # The image is real: an ISO with volume label OEMDRV whose ks.cfg is the
    # flattened kickstart (the %include resolved next to the file).
    local iso
    iso=$(ctl artifacts "$oemdrv_id" --no-legend | awk '$1 == "oemdrv.iso" { print $4 }')
    [ -n "$iso" ] || { echo "no oemdrv.iso among the artifacts"; return 1; }
    assert_contains "$(run_in a xorriso -indev "$iso" -pvd_info 2>&1)" "OEMDRV"
    run_in a xorriso -osirrox on -indev "$iso" -extract /ks.cfg /var/tmp/extracted.ks >/dev/null 2>&1
    assert_contains "$(run_in a cat /var/tmp/extracted.ks)" "rootpw --lock"
}

id_of_oemdrv() { cat "$TEST_SCRATCH/oemdrv-id"; }

test_list_shows_it() {
    local id out
    id=$(id_of_oemdrv)
    out=$(ctl list --all)
    echo "$out"
    assert_contains "$(head -1 <<<"$out")" "ID"
    assert_contains "$(head -1 <<<"$out")" "DURATION"
    assert_contains "$(grep "^$id " <<<"$out")" "succeeded"
    assert_contains "$(tail -2 <<<"$out")" "listed."
    # --no-legend: rows only; default list hides finished builds.
    assert_eq "$(ctl list --all --no-legend | grep -c "^$id ")" 1
    assert_eq "$(ctl list --no-legend | grep -c "^$id " || true)" 0
    assert_eq "$(ctl list --all --json | jq -r --arg id "$id" '.[] | select(.id == $id) | .state')" succeeded
    # A row says only what a list knows, and all of it as status does: no
    # exit status -1 or empty artifacts for a build that has both.
    local row full
    row=$(ctl list --all --json | jq -c --arg id "$id" '.[] | select(.id == $id)')
    full=$(ctl status "$id" --json)
    assert_eq "$(jq -c --argjson f "$full" '[to_entries[] | select($f[.key] != .value) | .key]' <<<"$row")" "[]"
    assert_eq "$(jq -c '[has("exit_status"), has("artifacts")]' <<<"$row")" "[false,false]"
    assert_eq "$(jq -c '[.exit_status, (.artifacts | length > 0)]' <<<"$full")" "[0,true]"
}

test_show_and_status() {
    local id
    id=$(id_of_oemdrv)
    assert_eq "$(ctl show "$id" -p State)" "State=succeeded"
    assert_eq "$(ctl show "$id" -p Type -p Name)" "Type=oemdrv
Name=demo"
    assert_eq "$(ctl show "$id" --json | jq -r '.result + " " + .arch + " " + .release')" "succeeded x86_64 39"
    assert_contains "$(ctl status "$id")" "State: succeeded"
    assert_exit 2 ctl show "$id" -p Colour
}

test_wait_on_finished() {
    assert_exit 0 ctl wait "$(id_of_oemdrv)"
}

test_log_json_fields() {
    local id lines ours theirs
    id=$(id_of_oemdrv)
    lines=$(ctl log "$id" -o json)
    [ -n "$lines" ]
    # Every line is a journal entry of this build, with its tagged fields.
    assert_eq "$(jq -r '.IMAGEBUILD_ID' <<<"$lines" | sort -u)" "$id"
    assert_eq "$(jq -r '.IMAGEBUILD_TYPE' <<<"$lines" | sort -u | grep -v null | head -1)" oemdrv
    assert_eq "$(jq -r 'has("MESSAGE") and has("__CURSOR") and has("__REALTIME_TIMESTAMP")' <<<"$lines" | sort -u)" true
    ours=$(ctl log "$id" -o cat | wc -l)
    # The build's log ends at its end mark; the end-of-build step's own
    # report follows it in the journal.
    theirs=$(run_in a journalctl -q -o cat IMAGEBUILD_ID="$id" |
        sed '/^imagebuild: end of the log of build /,$d' | wc -l)
    assert_eq "$ours" "$theirs" "lines: imagebuildctl log vs journalctl"
    assert_eq "$(ctl log "$id" -n 2 -o cat | wc -l)" 2
}

test_cancel_long_build() {
    local id
    id=$(ctl -q build $work/root.ks --type sleeper --arch x86_64 --release 39)
    wait_for 30 sh -c "'$IMAGEBUILD_SOURCE_ROOT/tests/system/sandbox' run a imagebuildctl show $id -p State | grep -q running"
    assert_exit 0 ctl cancel "$id"
    assert_exit 6 ctl wait "$id"
    assert_eq "$(state_of "$id")" "State=cancelled"
    # Cancelling what has ended is refused, with the generic failure code.
    assert_exit 1 ctl cancel "$id"
}

test_exit_codes() {
    # usage, with the closest verb suggested
    assert_exit 2 ctl lsit
    assert_contains "$(ctl lsit 2>&1 || true)" "Did you mean 'list'?"
    # a missing kickstart names the path
    assert_exit 2 ctl build /nonexistent.ks --type oemdrv --arch x86_64 --release 39
    assert_contains "$(ctl build /nonexistent.ks -t oemdrv -a x86_64 -r 39 2>&1 || true)" "/nonexistent.ks"
    # the agent refuses an arch this host does not build
    assert_exit 2 ctl build $work/root.ks --type oemdrv --arch sparc --release 39
    # not found
    assert_exit 3 ctl show a-999999
    assert_exit 3 ctl wait a-999999
    # a failed build: 1; timed out: 7
    assert_exit 1 ctl build $work/root.ks --type failing --arch x86_64 --release 39 --wait
    assert_exit 7 ctl build $work/root.ks --type sleeper --arch x86_64 --release 39 --timeout 1 --wait
    # unreachable: no forwarder there
    assert_exit 5 ctl -H http://127.0.0.40:9 list
}

test_access_denied_for_nobody() {
    local rc=0 err
    err=$(run_in a runuser -u nobody -- imagebuildctl --no-ask-password build $work/root.ks \
        --type oemdrv --arch x86_64 --release 39 2>&1) || rc=$?
    echo "$err"
    assert_eq "$rc" 4
}

# answer_prompt USER PASSWORD COMMAND: runs COMMAND as USER on a terminal
# (script), types PASSWORD once a "Password:" prompt shows, and prints what
# the terminal showed and "rc=N".
answer_prompt() {
    run_in a bash -s "$@" <<'INNER'
user=$1 password=$2 command=$3
dir=$(mktemp -d /var/tmp/prompt.XXXXXX)
mkfifo "$dir/in"
runuser -u "$user" -- timeout 60 script -qfec "$command" /dev/null <"$dir/in" >"$dir/out" 2>&1 &
pid=$!
exec 3>"$dir/in"
for _ in $(seq 300); do grep -q "Password:" "$dir/out" && break; sleep 0.1; done
# The agent turns echo off before it reads: type only then (what is typed
# before is echoed). The pty of `script` is the only one in this host.
for _ in $(seq 300); do
    stty -F "$(ls /dev/pts/[0-9]* | head -n1)" -a 2>/dev/null | grep -qw -e -echo && break
    sleep 0.1
done
echo "$password" >&3
wait "$pid"
rc=$?
exec 3>&-
cat "$dir/out"
echo "rc=$rc"
rm -rf "$dir"
INNER
}

test_polkit_agent_on_terminal() {
    # On a terminal the call may ask for authentication, as systemctl's do:
    # it carries ALLOW_INTERACTIVE_AUTHORIZATION and a pkttyagent is
    # registered for the caller while it runs. Here a user outside any login
    # session (runuser), whom a polkit rule lets submit with their own
    # password, gets the prompt, types it, and the build is submitted.
    run_in a sh -c 'id ibtester >/dev/null 2>&1 || useradd -m ibtester; echo ibtester:ib-secret | chpasswd'
    write_into a /etc/polkit-1/rules.d/40-imagebuild-test.rules <<'RULES'
polkit.addRule(function(action, subject) {
    if (action.id == "org.imagebuild.submit" && subject.user == "ibtester") {
        return polkit.Result.AUTH_SELF;
    }
});
RULES
    run_in a systemctl restart polkit.service
    local out
    run_in a sh -c 'timeout 90 busctl monitor --system org.imagebuild.Agent1 >/var/tmp/monitor.txt 2>&1 &'
    wait_for 10 run_in a grep -q Monitoring /var/tmp/monitor.txt
    out=$(answer_prompt ibtester ib-secret \
        "imagebuildctl build $work/root.ks --type oemdrv --arch x86_64 --release 39")
    echo "$out"
    assert_contains "$out" "AUTHENTICATING FOR org.imagebuild.submit"
    assert_contains "$out" "Password:"
    assert_contains "$out" "AUTHENTICATION COMPLETE"
    assert_contains "$out" "Submitted build a-"
    assert_contains "$out" "rc=0"
    local id
    # (The line may start with the terminal's colour reset.)
    id=$(sed -n 's/.*Submitted build \(a-[0-9]*\)\..*$/\1/p' <<<"$out" | tr -d '\r')
    assert_eq "$(ctl show "$id" -p SubmitterUid)" "SubmitterUid=$(run_in a id -u ibtester)"
    # Who submitted it, by name: the property and status.
    assert_eq "$(ctl show "$id" -p Submitter)" "Submitter=ibtester"
    assert_contains "$(ctl status "$id")" "Submitter: ibtester"
    wait_for 10 run_in a grep -q "Member=Submit" /var/tmp/monitor.txt
    # sd-bus flag 0x4: ALLOW_INTERACTIVE_AUTHORIZATION
    assert_contains "$(run_in a grep -B1 'Member=Submit' /var/tmp/monitor.txt | tail -2)" "Flags=4"
    assert_contains "$(run_in a journalctl -q -u polkit.service -o cat)" \
        "Registered Authentication Agent for unix-process"
    # A wrong password is refused: exit 4, nothing submitted.
    out=$(answer_prompt ibtester wrong-password \
        "imagebuildctl build $work/root.ks --type oemdrv --arch x86_64 --release 39")
    echo "$out"
    assert_contains "$out" "rc=4"
    run_in a rm /etc/polkit-1/rules.d/40-imagebuild-test.rules
}

test_agent_not_running() {
    # The agent stopped and its bus activation file gone: nothing can start it.
    local activation=/usr/share/dbus-1/system-services/org.imagebuild.Agent1.service
    run_in a mv $activation /var/tmp/agent-activation.service
    run_in a busctl call org.freedesktop.DBus /org/freedesktop/DBus org.freedesktop.DBus ReloadConfig
    stop_agent a
    local rc=0 err
    err=$(ctl list 2>&1) || rc=$?
    run_in a mv /var/tmp/agent-activation.service $activation
    run_in a busctl call org.freedesktop.DBus /org/freedesktop/DBus org.freedesktop.DBus ReloadConfig
    echo "$err"
    assert_eq "$rc" 5
    assert_contains "$err" "agent is not running"
    # log needs no agent: it reads the journal
    assert_exit 0 ctl log "$(id_of_oemdrv)" -n 1
}

test_legacy_request_builds() {
    write_into a $work/imagebuild.conf <<'EOF'
[DEFAULT]
type=live
arch=x86_64
staging=10.0.0.27
email=qa@example.org
[live]
label=FedoraDesktop
title=Desktop
product=fedora
releasever=39
nvr=
config=root.ks
EOF
    local out rc=0 id
    out=$(ctl build --config $work/imagebuild.conf --wait 2>&1) || rc=$?
    echo "$out"
    assert_eq "$rc" 0
    assert_contains "$out" "[DEFAULT] staging: ignored"
    id=$(sed -n 's/^Submitted build \(a-[0-9]*\)\.$/\1/p' <<<"$out")
    assert_eq "$(ctl show "$id" -p Type -p Name -p Release)" "Type=live
Release=39
Name=fedora"
    assert_eq "$(ctl show "$id" --json | jq -r '.labels.label + " " + .notify[0]')" "FedoraDesktop qa@example.org"
}

test_legacy_unsupported_key_refused() {
    write_into a $work/bad.conf <<'EOF'
[DEFAULT]
type=live
arch=x86_64
[live]
releasever=39
config=root.ks
nvr=kernel-3.4.4-1.fc17
frobnicate=yes
EOF
    local out rc=0
    out=$(ctl build --config $work/bad.conf 2>&1) || rc=$?
    echo "$out"
    assert_eq "$rc" 2
    assert_contains "$out" "[live] frobnicate=yes: unknown key"
    assert_contains "$out" "[live] nvr=kernel-3.4.4-1.fc17"
    assert_eq "$(grep -c 'Submitted' <<<"$out" || true)" 0
}

test_bash_completion() {
    local script=/usr/share/bash-completion/completions/imagebuildctl out
    run_in a test -f $script
    out=$(run_in a bash -c '
        source /usr/share/bash-completion/bash_completion
        source "$1"
        complete_line() {
            COMP_LINE=$1; read -ra COMP_WORDS <<<"$1"; [[ $1 == *" " ]] && COMP_WORDS+=("")
            COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); COMP_POINT=${#COMP_LINE}; COMPREPLY=()
            _imagebuildctl; echo "${COMPREPLY[*]}"
        }
        complete_line "imagebuildctl lo"
        complete_line "imagebuildctl build x.ks --type "
        complete_line "imagebuildctl build x.ks --release "
        complete_line "imagebuildctl list --st"
        complete_line "imagebuildctl show "' bash $script)
    echo "$out"
    assert_eq "$(sed -n 1p <<<"$out")" "log"
    assert_contains "$(sed -n 2p <<<"$out")" "oemdrv"
    assert_contains "$(sed -n 2p <<<"$out")" "sleeper"
    assert_eq "$(sed -n 3p <<<"$out")" "39"
    assert_eq "$(sed -n 4p <<<"$out")" "--state"
    assert_contains "$(sed -n 5p <<<"$out")" "$(id_of_oemdrv)"
}

# A long history (1,200 finished builds written straight into the state
# directory, as the agent writes them): list shows a page, --all all of it.
test_list_pages_a_long_history() {
    stop_agent a
    # Submitted after the builds above, in the order of their numbers, as
    # real ones are (the agent pages by number, the forwarder by time).
    run_in a bash -c 'cd /var/lib/imagebuild/builds
        now=$(date +%s)
        for ((i = 2001; i <= 3200; i++)); do
            mkdir -p a-$i
            printf "{\"id\":\"a-%s\",\"number\":%s,\"type\":\"live\",\"arch\":\"x86_64\",\"release\":\"39\",\"name\":\"old\",\"notify\":[],\"timeout_sec\":0,\"labels\":{},\"state\":\"succeeded\",\"result\":\"succeeded\",\"exit_status\":0,\"unit\":\"imagebuild-a-%s.service\",\"submitter_uid\":0,\"submitter\":\"root\",\"submitted_at\":%s000000,\"started_at\":1,\"finished_at\":2,\"timeout_usec\":0,\"monitor_url\":\"\",\"artifacts\":[],\"cancel_requested\":false}\n" \
                $i $i $i $((now + i)) >a-$i/record.json
        done'
    # Stopped again: an earlier build's end may have started it meanwhile.
    stop_agent a
    local all out
    # --all: every build, across the agent's pages of 1,000, once each, in order.
    all=$(ctl list --all -q)
    assert_eq "$(grep -c '^a-[23][0-9][0-9][0-9]$' <<<"$all")" 1200
    assert_eq "$(sort <<<"$all" | uniq -d | wc -l)" 0
    assert_eq "$(tail -1 <<<"$all")" a-3200
    assert_eq "$(grep -n '^a-2001$' <<<"$all" | cut -d: -f1)" "$(($(wc -l <<<"$all") - 1199))"
    # By default the newest 50, and the table says so.
    out=$(ctl list --state succeeded)
    assert_eq "$(grep -c '^a-' <<<"$out")" 50
    assert_contains "$(grep '^a-' <<<"$out" | head -1)" a-3151
    assert_contains "$out" "Showing the newest 50"
    assert_eq "$(ctl list --all -n 3 -q | tr '\n' ' ')" "a-3198 a-3199 a-3200 "
    assert_eq "$(ctl list --all -n 3 --json | jq -r '.[].id' | tr '\n' ' ')" "a-3198 a-3199 a-3200 "
    assert_eq "$(ctl list --all -n 0 -q | wc -l)" "$(wc -l <<<"$all")"
}

# The same long history through the forwarder (imagebuildctl -H): the same
# lists as over D-Bus, the newest 50 by default, --all paging through the
# forwarder's cursor pages of 1,000.
# builds_gets URL: how many GET /v1/builds the forwarder has answered.
builds_gets() {
    curl -sf "$1/metrics" |
        awk '/^imagebuild_forwarder_requests_total\{.*route="\/v1\/builds".*method="GET"/ { n += $NF } END { print n + 0 }'
}

test_list_over_http_pages_as_over_dbus() {
    FORWARDER_EXTRA_CONF=$agent_conf setup_forwarder a 127.0.0.40
    local h=http://127.0.0.40:8470 all before
    all=$(ctl list --all -q)
    assert_eq "$(grep -c '^a-[23][0-9][0-9][0-9]$' <<<"$all")" 1200
    before=$(builds_gets $h)
    assert_eq "$(ctl -H $h list --all -q)" "$all"
    # 1,206 builds: two pages of GET /v1/builds, not one whole list.
    assert_eq "$(($(builds_gets $h) - before))" 2
    assert_eq "$(ctl -H $h list --all --json)" "$(ctl list --all --json)"
    assert_eq "$(ctl -H $h list --state succeeded)" "$(ctl list --state succeeded)"
    assert_contains "$(ctl -H $h list --state succeeded)" "Showing the newest 50"
    assert_eq "$(ctl -H $h list --all -n 3 -q | tr '\n' ' ')" "a-3198 a-3199 a-3200 "
    assert_eq "$(ctl -H $h list --all -n 1100 --json)" "$(ctl list --all -n 1100 --json)"
}

test_case "build an oemdrv image with --follow; the ISO holds the flattened kickstart" test_build_follow
test_case "list shows the build (table with legend, --no-legend, --json)" test_list_shows_it
test_case "show and status print its properties" test_show_and_status
test_case "wait on a succeeded build exits 0" test_wait_on_finished
test_case "log -o json: every line carries the build's journal fields" test_log_json_fields
test_case "cancel a long build: wait exits 6, state cancelled" test_cancel_long_build
test_case "exit codes: usage 2, not found 3, failed 1, timed out 7, unreachable 5" test_exit_codes
test_case "a caller without authorization gets exit 4" test_access_denied_for_nobody
test_case "on a terminal, polkit asks for a password through a tty agent (no login session)" test_polkit_agent_on_terminal
test_case "a dead agent says so and exits 5; log still works" test_agent_not_running
test_case "a legacy imagebuild.conf request builds" test_legacy_request_builds
test_case "a legacy request with an unsupported key is refused by name" test_legacy_unsupported_key_refused
test_case "bash completion: verbs, options, types and releases from the agent, ids from list" test_bash_completion
test_case "list shows the newest 50; --all pages through 1,200 builds; -n N" test_list_pages_a_long_history
test_case "list over -H pages as over D-Bus: the newest 50, --all, -n N, --json" test_list_over_http_pages_as_over_dbus
finish
