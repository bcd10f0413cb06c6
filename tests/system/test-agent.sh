#!/bin/bash
# imagebuild-agent against the real thing: bus activation, transient units,
# journald, polkit, a reboot. Host "a" runs a test config with image types
# that sleep or fail on purpose next to the real oemdrv type; every check
# goes through busctl, journalctl and systemctl, as any tool would.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/agent-lib.sh"
sandbox_require
AGENT_HOST=a

boot_host a 127.0.0.21
install_into a
write_into a /etc/imagebuild/imagebuild.conf <<'CONF'
[host]
arches = x86_64 aarch64
releases = 40 41
max_parallel = 2
queue_max = 2
idle_exit_sec = 3
memory_max = 2G
tasks_max = 512
cpu_quota = 150%

[type.oemdrv]
command = xorriso -as mkisofs -volid OEMDRV -joliet -rational-rock
  -output {outdir}/oemdrv.iso {ks}
artifacts = *.iso

[type.sleep]
command = sleep 600
tools = sleep

[type.short]
command = sh -c "echo short build {id} starts; sleep 3; echo short build done"

[type.fail]
command = sh -c "echo this build fails on purpose >&2; exit 3"
CONF
run_in a systemctl stop imagebuild-agent.service 2>/dev/null || true

# gsubmit GVARIANT-DICT: Submit through gdbus, which prints the D-Bus error name.
gsubmit() {
    run_in a gdbus call --system --dest $A --object-path $M --method $I.Submit "$1" 2>&1 || true
}
manager_prop() { run_in a busctl get-property $A $M $I "$1" | cut -d' ' -f2-; }
build_dirs() { run_in a sh -c 'ls /var/lib/imagebuild/builds 2>/dev/null | wc -l'; }

# The test config written above is an administrator's edit: a second
# `meson install` keeps it and puts the shipped file under share/ only.
test_install_keeps_config() {
    local before
    before=$(run_in a cat /etc/imagebuild/imagebuild.conf)
    install_into a
    assert_eq "$(run_in a cat /etc/imagebuild/imagebuild.conf)" "$before"
    assert_eq "$(run_in a cat /usr/share/imagebuild/imagebuild.conf)" \
        "$(cat "$IMAGEBUILD_SOURCE_ROOT/agent/imagebuild.conf")"
}

test_contract() {
    local out
    out=$(run_in a busctl introspect $A $M)
    assert_contains "$out" "org.imagebuild.BuildManager1"
    assert_contains "$out" "org.freedesktop.DBus.ObjectManager"
    assert_contains "$out" ".Submit"
    assert_eq "$(manager_prop Hostname)" '"a"'
    # Only the types whose tools exist are offered.
    assert_eq "$(manager_prop ImageTypes)" '4 "fail" "oemdrv" "short" "sleep"'
    assert_eq "$(manager_prop Arches)" '2 "x86_64" "aarch64"'
}

test_oemdrv_build() {
    local id iso
    id=$(submit oemdrv)
    assert_eq "$id" a-1
    wait_for 30 state_is "$id" succeeded
    assert_eq "$(prop "$id" Result)" succeeded
    assert_eq "$(prop "$id" ExitStatus)" 0
    assert_eq "$(prop "$id" Unit)" "imagebuild-a-1.service"
    # The artifacts are the staged files, with checksums that sha256sum checks.
    local artifacts
    artifacts=$(run_in a busctl get-property $A "$(path_of "$id")" $B Artifacts)
    assert_contains "$artifacts" 'a(ssts) 5 "oemdrv.iso"'
    iso=$(echo "$artifacts" | awk '{print $4}' | tr -d '"')
    assert_eq "$iso" /var/lib/imagebuild/builds/a-1/artifacts/oemdrv.iso
    run_in a sh -c 'cd /var/lib/imagebuild/builds/a-1/artifacts && sha256sum --quiet -c SHA256SUMS'
    assert_eq "$(run_in a cat /var/lib/imagebuild/builds/a-1/artifacts/ks.cfg)" "$(printf '%s' "$KS")"
    assert_contains "$(run_in a xorriso -indev "$iso" -pvd_info 2>/dev/null)" "Volume Id    : OEMDRV"
    run_in a osirrox -indev "$iso" -extract /ks.cfg /tmp/extracted-ks.cfg 2>/dev/null
    assert_eq "$(run_in a cat /tmp/extracted-ks.cfg)" "$(printf '%s' "$KS")"
    assert_contains "$(run_in a busctl call $A "$(path_of "$id")" $B GetKickstart)" 's "# test kickstart'
    # Every line of the build is in the journal under its id, with the
    # other fields set by LogExtraFields=.
    local log
    log=$(run_in a journalctl -q -o cat IMAGEBUILD_ID="$id" IMAGEBUILD_TYPE=oemdrv \
        IMAGEBUILD_ARCH=x86_64 IMAGEBUILD_RELEASE=40)
    assert_contains "$log" "Added to ISO image: file '/ks.cfg'"
    assert_contains "$log" "completed successfully"
    # End-of-build (staging, final mail) ran after the recorder, outside
    # the build's sandbox, and left the result alone.
    assert_contains "$log" "imagebuild: build succeeded; staged"
    # The agent's own events about the build carry the id and a MESSAGE_ID.
    assert_contains "$(run_in a journalctl -q -o cat IMAGEBUILD_ID="$id" \
        MESSAGE_ID=c2d9552254b24c459152f1592d2e7b6e)" "build a-1 succeeded"
}

test_failing_build() {
    local id
    id=$(submit fail)
    wait_for 20 state_is "$id" failed
    assert_eq "$(prop "$id" Result)" failed
    assert_eq "$(prop "$id" ExitStatus)" 3
    assert_contains "$(run_in a journalctl -q -o cat IMAGEBUILD_ID="$id")" "fails on purpose"
}

test_unit_carries_settings() {
    local id show
    id=$(submit sleep)
    wait_for 20 state_is "$id" running
    wait_for 10 run_in a systemctl is-active --quiet "imagebuild-$id.service"
    show=$(run_in a systemctl show "imagebuild-$id.service" -p Slice -p MemoryMax -p TasksMax \
        -p CPUQuotaPerSecUSec -p RuntimeMaxUSec -p KillMode -p CollectMode -p ProtectSystem \
        -p WorkingDirectory)
    assert_contains "$show" "Slice=imagebuild.slice"
    assert_contains "$show" "MemoryMax=2147483648"
    assert_contains "$show" "TasksMax=512"
    assert_contains "$show" "CPUQuotaPerSecUSec=1.500000s"
    assert_contains "$show" "RuntimeMaxUSec=4h"
    assert_contains "$show" "KillMode=control-group"
    assert_contains "$show" "CollectMode=inactive-or-failed"
    assert_contains "$show" "ProtectSystem=strict"
    assert_contains "$show" "WorkingDirectory=/var/lib/imagebuild/builds/$id/work"
    run_in a busctl call $A $M $I CancelBuild s "$id"
    wait_for 20 state_is "$id" cancelled
}

test_cancel_running_build() {
    local id
    id=$(submit sleep)
    wait_for 20 state_is "$id" running
    wait_for 10 run_in a systemctl is-active --quiet "imagebuild-$id.service"
    run_in a busctl call $A "$(path_of "$id")" $B Cancel
    wait_for 20 state_is "$id" cancelled
    assert_eq "$(prop "$id" Result)" cancelled
    assert_exit 3 run_in a systemctl is-active --quiet "imagebuild-$id.service"
    # Cancelling again says it is over.
    assert_contains "$(run_in a busctl call $A $M $I CancelBuild s "$id" 2>&1 || true)" "already ended"
}

test_timeout() {
    local id
    id=$(submit sleep 1 timeout_sec t 2)
    assert_eq "$(prop "$id" TimeoutUSec)" 2000000
    wait_for 30 state_is "$id" timed-out
    assert_eq "$(prop "$id" Result)" timed-out
}

test_max_parallel_and_queue() {
    local one two three four
    one=$(submit sleep)
    two=$(submit sleep)
    three=$(submit sleep)
    wait_for 20 state_is "$one" running
    wait_for 20 state_is "$two" running
    assert_eq "$(prop "$three" State)" queued
    assert_eq "$(manager_prop Running)" 2
    assert_eq "$(manager_prop Queued)" 1
    local units
    units=$(run_in a systemctl list-units --no-legend --state=active 'imagebuild-a-*.service')
    assert_eq "$(echo "$units" | wc -l)" 2 "$units"
    # queue_max=2: one more fits, the next is refused.
    four=$(submit sleep)
    assert_contains "$(gsubmit "{'type': <'sleep'>, 'arch': <'x86_64'>, 'release': <'40'>, 'kickstart': <'x'>}")" \
        "org.imagebuild.Error.QueueFull"
    # FIFO: when one ends, the oldest queued one starts.
    run_in a busctl call $A $M $I CancelBuild s "$one"
    wait_for 20 state_is "$three" running
    assert_eq "$(prop "$four" State)" queued
    for id in "$two" "$three" "$four"; do run_in a busctl call $A $M $I CancelBuild s "$id"; done
    wait_for 20 state_is "$three" cancelled
    assert_eq "$(prop "$four" State)" cancelled
}

bad_spec() {  # bad_spec EXPECTED-TEXT busctl-a{sv}-args...
    local expected=$1 out
    shift
    out=$(run_in a busctl call $A $M $I Submit 'a{sv}' "$@" 2>&1 || true)
    assert_contains "$out" "$expected"
}

test_bad_specs() {
    local before
    before=$(build_dirs)
    bad_spec "'kickstart' is missing" 3 type s oemdrv arch s x86_64 release s 40
    bad_spec "unknown spec field 'colour'" 5 type s oemdrv arch s x86_64 release s 40 kickstart s x colour s red
    bad_spec "'arch' must be of D-Bus type 's', got 'u'" 4 type s oemdrv arch u 7 release s 40 kickstart s x
    bad_spec "spec field 'type' must be 1 to 32 characters" 4 type s ../x arch s x86_64 release s 40 kickstart s x
    bad_spec "does not build image type 'dvd'; it builds: fail, oemdrv, short, sleep" 4 type s dvd arch s x86_64 release s 40 kickstart s x
    bad_spec "does not build arch 's390x'" 4 type s oemdrv arch s s390x release s 40 kickstart s x
    bad_spec "does not build release '38'; it builds: 40, 41" 4 type s oemdrv arch s x86_64 release s 38 kickstart s x
    bad_spec "'notify' holds \"nobody\"" 5 type s oemdrv arch s x86_64 release s 40 kickstart s x notify as 1 nobody
    bad_spec "'timeout_sec' is 99999999" 5 type s oemdrv arch s x86_64 release s 40 kickstart s x timeout_sec t 99999999
    bad_spec "'kickstart' is empty" 4 type s oemdrv arch s x86_64 release s 40 kickstart s ""
    assert_contains "$(gsubmit "{'type': <'oemdrv'>, 'arch': <'x86_64'>, 'release': <'40'>, 'kickstart': <''>}")" \
        "org.imagebuild.Error.InvalidSpec: spec field 'kickstart' is empty"
    assert_contains "$(gsubmit "{'type': <'dvd'>, 'arch': <'x86_64'>, 'release': <'40'>, 'kickstart': <'x'>}")" \
        "org.imagebuild.Error.Unsupported"
    # Not UTF-8: the bus itself refuses such a string, so a client that
    # sends bytes (ay) gets the type error, naming the field.
    assert_contains "$(gsubmit "{'type': <'oemdrv'>, 'arch': <'x86_64'>, 'release': <'40'>, 'kickstart': <b'\\xff\\xfe'>}")" \
        "'kickstart' must be of D-Bus type 's', got 'ay'"
    assert_eq "$(build_dirs)" "$before"
}

# Over the 1 MiB limit: more than busctl or gdbus can take as one argument,
# so a small client reads it from stdin (tests/system/helpers/submit_stdin.cpp).
test_oversized_kickstart() {
    local before out
    before=$(build_dirs)
    out=$(head -c $((1024 * 1024 + 1)) /dev/zero | tr '\0' x |
        run_in a "$IMAGEBUILD_TEST_SUBMIT_STDIN" oemdrv x86_64 40 || true)
    assert_contains "$out" "org.imagebuild.Error.InvalidSpec: spec field 'kickstart' is 1048577 bytes; at most 1048576 bytes are accepted"
    assert_eq "$(build_dirs)" "$before"
    # Exactly at the limit is accepted (and cancelled at once).
    local id
    id=$(head -c $((1024 * 1024)) /dev/zero | tr '\0' x |
        run_in a "$IMAGEBUILD_TEST_SUBMIT_STDIN" sleep x86_64 40)
    assert_eq "$(run_in a stat -c %s "/var/lib/imagebuild/builds/$id/ks.cfg")" 1048576
    run_in a busctl call $A $M $I CancelBuild s "$id"
}

# The id the next Submit gets: one past next-id and every build on disk.
next_id() {
    run_in a sh -c 'cd /var/lib/imagebuild && { cat next-id; ls builds | sed "s/^a-//"; } |
        sort -n | tail -1 | awk "{ print \"a-\" \$1 + 1 }"'
}

# StartTransientUnit fails: a unit of the build's name exists already.
test_unit_refused_by_systemd() {
    local id out
    id=$(next_id)
    run_in a systemd-run --quiet --unit="imagebuild-$id.service" sleep 600
    assert_eq "$(submit sleep)" "$id"
    wait_for 20 state_is "$id" failed
    assert_eq "$(prop "$id" ExitStatus)" -1
    out=$(prop "$id" Reason)
    assert_contains "$out" "systemd refused to start imagebuild-$id.service"
    assert_contains "$out" "org.freedesktop.systemd1.UnitExists"
    # In the journal under the build's id, with its own MESSAGE_ID...
    assert_contains "$(run_in a journalctl -q -o cat IMAGEBUILD_ID="$id" \
        MESSAGE_ID=a23e22f45bd140169028c39cdf3887ad)" "build $id cannot start: systemd refused"
    # ...in the record on disk, and in what imagebuildctl shows.
    assert_contains "$(run_in a cat "/var/lib/imagebuild/builds/$id/record.json")" \
        '"reason": "systemd refused to start'
    assert_contains "$(run_in a imagebuildctl show "$id" -p Reason)" \
        "Reason=systemd refused to start imagebuild-$id.service"
    assert_contains "$(run_in a imagebuildctl status "$id" --no-pager)" \
        "Reason: systemd refused to start imagebuild-$id.service"
    run_in a systemctl stop "imagebuild-$id.service"
    # The agent serves on: the next build runs.
    local next
    next=$(submit sleep)
    wait_for 20 state_is "$next" running
    run_in a busctl call $A $M $I CancelBuild s "$next"
}

# The program exists but cannot be executed (its interpreter is missing):
# the unit fails with status 203/EXEC, which the reason names.
test_unit_fails_to_exec() {
    printf '#!/nonexistent/interpreter\n' | write_into a /usr/local/bin/ib-test-broken-tool
    run_in a chmod +x /usr/local/bin/ib-test-broken-tool
    run_in a sh -c 'printf "\n[type.broken]\ncommand = ib-test-broken-tool {ks}\n" \
        >>/etc/imagebuild/imagebuild.conf'
    stop_agent a
    local id out
    id=$(submit broken)
    wait_for 20 state_is "$id" failed
    assert_eq "$(prop "$id" ExitStatus)" 203
    # (busctl quotes the apostrophe of "build's": compared around it.)
    out=$(prop "$id" Reason)
    assert_contains "$out" "status 203/EXEC: systemd could not start the build"
    assert_contains "$out" "program; see journalctl -u imagebuild-$id.service"
    assert_contains "$(run_in a journalctl -q -o cat IMAGEBUILD_ID="$id" \
        MESSAGE_ID=a23e22f45bd140169028c39cdf3887ad)" "build $id cannot start: status 203/EXEC"
}

test_bad_ids() {
    assert_contains "$(run_in a gdbus call --system --dest $A --object-path $M --method $I.GetBuild ../x 2>&1 || true)" \
        "org.imagebuild.Error.NotFound"
    assert_contains "$(run_in a busctl call $A $M $I GetBuild s a-9999 2>&1 || true)" "no build \"a-9999\""
    assert_contains "$(run_in a gdbus call --system --dest $A --object-path $M --method $I.CancelBuild ../../etc 2>&1 || true)" \
        "org.imagebuild.Error.NotFound"
}

test_nobody_is_denied() {
    local before out
    before=$(build_dirs)
    out=$(run_in a runuser -u nobody -- busctl call $A $M $I Submit 'a{sv}' 4 type s oemdrv \
        arch s x86_64 release s 40 kickstart s x 2>&1 || true)
    assert_contains "$out" "org.imagebuild.submit"
    out=$(run_in a runuser -u nobody -- gdbus call --system --dest $A --object-path $M --method $I.Submit \
        "{'type': <'oemdrv'>, 'arch': <'x86_64'>, 'release': <'40'>, 'kickstart': <'x'>}" 2>&1 || true)
    assert_contains "$out" "org.imagebuild.Error.AccessDenied: polkit refused action org.imagebuild.submit"
    assert_contains "$(run_in a journalctl -q -o cat MESSAGE_ID=0ee116e676e24d739fe0c52528f1d76d)" "refused"
    assert_eq "$(build_dirs)" "$before"
    # Reads stay open.
    run_in a runuser -u nobody -- busctl call $A $M $I ListBuilds 'a{sv}' 0 >/dev/null
    # Someone else's build cannot be cancelled by nobody.
    local id
    id=$(submit sleep)
    out=$(run_in a runuser -u nobody -- busctl call $A $M $I CancelBuild s "$id" 2>&1 || true)
    assert_contains "$out" "org.imagebuild.manage"
    run_in a busctl call $A $M $I CancelBuild s "$id"
}

test_submitter() {
    local before out id row
    before=$(build_dirs)
    # Submitting in another's name needs org.imagebuild.submit-for, asked
    # first: nobody's refusal names it, and nothing is written.
    out=$(run_in a runuser -u nobody -- gdbus call --system --dest $A --object-path $M --method $I.Submit \
        "{'type': <'oemdrv'>, 'arch': <'x86_64'>, 'release': <'40'>, 'kickstart': <'x'>, 'submitter': <'alice'>}" 2>&1 || true)
    assert_contains "$out" "org.imagebuild.Error.AccessDenied: polkit refused action org.imagebuild.submit-for"
    # A bad name is InvalidSpec naming the field.
    assert_contains "$(gsubmit "{'type': <'oemdrv'>, 'arch': <'x86_64'>, 'release': <'40'>, 'kickstart': <'x'>, 'submitter': <''>}")" \
        "org.imagebuild.Error.InvalidSpec: spec field 'submitter' is empty"
    bad_spec "spec field 'submitter' is 65 characters long; at most 64 are allowed" 5 type s oemdrv arch s x86_64 \
        release s 40 kickstart s x submitter s "$(printf 'a%.0s' {1..65})"
    bad_spec "spec field 'submitter' holds a control character" 5 type s oemdrv arch s x86_64 \
        release s 40 kickstart s x submitter s $'two\nlines'
    assert_eq "$(build_dirs)" "$before"
    # root may: the name is the build's Submitter, in its row right after
    # the name, and in its record; the uid stays the caller's.
    id=$(submit fail 2 submitter s alice name s for-alice)
    assert_eq "$(prop "$id" Submitter)" alice
    assert_eq "$(prop "$id" SubmitterUid)" 0
    row=$(run_in a busctl call $A $M $I ListBuilds 'a{sv}' 0)
    assert_contains "$row" "\"$id\" \"fail\" \"x86_64\" \"40\" \"for-alice\" \"alice\" \""
    assert_contains "$(run_in a cat "/var/lib/imagebuild/builds/$id/record.json")" '"submitter": "alice"'
    # Without the key: the caller's user name.
    id=$(submit fail 1 name s by-root)
    assert_eq "$(prop "$id" Submitter)" root
    assert_contains "$(run_in a busctl call $A $M $I ListBuilds 'a{sv}' 0)" '"by-root" "root" "'
}

test_list_builds_filter() {
    local out
    out=$(run_in a busctl call $A $M $I ListBuilds 'a{sv}' 1 states as 1 failed)
    assert_contains "$out" '"a-2" "fail"'
    [[ $out != *oemdrv* ]] || { echo "filter let an oemdrv build through: $out"; return 1; }
    assert_contains "$(run_in a busctl call $A $M $I ListBuilds 'a{sv}' 1 colour s red 2>&1 || true)" "unknown filter key"
}

test_agent_killed_mid_build() {
    local id pid
    id=$(submit short)
    wait_for 20 state_is "$id" running
    pid=$(run_in a systemctl show -p MainPID --value imagebuild-agent.service)
    run_in a kill -9 "$pid"
    # The build ends without any agent; its end is recorded on disk.
    wait_for 30 run_in a test -e "/var/lib/imagebuild/builds/$id/outcome"
    assert_eq "$(prop "$id" State)" succeeded
    assert_eq "$(prop "$id" ExitStatus)" 0
}

test_idle_exit_and_reactivation() {
    run_in a busctl call $A $M $I ListBuilds 'a{sv}' 0 >/dev/null
    assert_eq "$(run_in a systemctl is-active imagebuild-agent.service)" active
    wait_for 30 sh -c "! $IMAGEBUILD_SOURCE_ROOT/tests/system/sandbox run a systemctl is-active --quiet imagebuild-agent.service"
    assert_contains "$(run_in a journalctl -q -o cat MESSAGE_ID=6a575b3107e7473c9bbdd3f3e496758d)" "idle for 3s"
    assert_eq "$(manager_prop Hostname)" '"a"'
    assert_eq "$(run_in a systemctl is-active imagebuild-agent.service)" active
}

test_corrupt_record_is_skipped() {
    stop_agent a
    run_in a mkdir -p /var/lib/imagebuild/builds/a-500
    echo '{"id": "a-500", "state": ' | write_into a /var/lib/imagebuild/builds/a-500/record.json
    # Still serving every other build.
    assert_eq "$(prop a-1 State)" succeeded
    assert_contains "$(run_in a journalctl -q -o cat MESSAGE_ID=889deadd7061417a86090a6b10bf228a)" \
        "/var/lib/imagebuild/builds/a-500/record.json"
    # Ids keep counting past everything on disk, so they never repeat.
    local id
    id=$(submit fail)
    assert_eq "$id" a-501
    run_in a rm -rf /var/lib/imagebuild/builds/a-500
}

test_queued_builds_survive_reboot() {
    local one two three
    one=$(submit sleep)
    two=$(submit sleep)
    three=$(submit short)
    wait_for 20 state_is "$two" running
    assert_eq "$(prop "$three" State)" queued
    poweroff_host a
    boot_host a 127.0.0.21
    # Nobody calls the agent: imagebuild-resume.service starts it at boot,
    # and the queued build runs to its end.
    wait_for 60 run_in a grep -q '"state": "succeeded"' "/var/lib/imagebuild/builds/$three/record.json"
    assert_contains "$(run_in a journalctl -b -q -o cat IMAGEBUILD_ID="$three")" "short build done"
    # The builds running at power-off were stopped by it; their end is known.
    assert_eq "$(prop "$one" State)" failed
    assert_eq "$(prop "$three" State)" succeeded
}

# finished_builds FIRST LAST: finished builds written straight into the
# state directory, as an agent writes them (a long history in a moment).
finished_builds() {
    run_in a bash -c 'cd /var/lib/imagebuild/builds
        for ((i = $1; i <= $2; i++)); do
            mkdir -p a-$i
            printf "{\"id\":\"a-%s\",\"number\":%s,\"type\":\"short\",\"arch\":\"x86_64\",\"release\":\"40\",\"name\":\"old\",\"notify\":[],\"timeout_sec\":0,\"labels\":{},\"state\":\"succeeded\",\"result\":\"succeeded\",\"exit_status\":0,\"unit\":\"imagebuild-a-%s.service\",\"submitter_uid\":0,\"submitter\":\"root\",\"submitted_at\":%s000000,\"started_at\":1,\"finished_at\":2,\"timeout_usec\":0,\"monitor_url\":\"\",\"artifacts\":[],\"cancel_requested\":false}\n" \
                $i $i $i $i >a-$i/record.json
        done' _ "$1" "$2"
}
# rows OUT: the ids of a ListBuilds reply, in order, space-separated.
row_ids() { grep -o '"a-[0-9]*" "short"' <<<"$1" | cut -d'"' -f2 | tr '\n' ' ' | sed 's/ $//'; }

test_list_builds_pages() {
    stop_agent a
    finished_builds 1001 1300
    # Stopped again: an earlier build's end may have started it meanwhile.
    stop_agent a
    local page
    # Newest first pages, each in submission order.
    page=$(run_in a busctl call $A $M $I ListBuilds 'a{sv}' 2 limit u 3 type s short)
    assert_eq "$(row_ids "$page")" "a-1298 a-1299 a-1300"
    page=$(run_in a busctl call $A $M $I ListBuilds 'a{sv}' 3 limit u 3 type s short before s a-1298)
    assert_eq "$(row_ids "$page")" "a-1295 a-1296 a-1297"
    page=$(run_in a busctl call $A $M $I ListBuilds 'a{sv}' 3 limit u 2 type s short after s a-1001)
    assert_eq "$(row_ids "$page")" "a-1002 a-1003"
    page=$(run_in a busctl call $A $M $I ListBuilds 'a{sv}' 2 limit u 2 before t 1003000000)
    assert_eq "$(row_ids "$page")" "a-1001 a-1002"
    # Without a limit, every row, as before paging.
    assert_eq "$(run_in a busctl call $A $M $I ListBuilds 'a{sv}' 1 type s short | grep -o '"a-1[0-9][0-9][0-9]" "short"' | wc -l)" 300
    assert_contains "$(run_in a busctl call $A $M $I ListBuilds 'a{sv}' 1 before s ../x 2>&1 || true)" "not a build id"
}

test_old_builds_are_served() {
    local path
    path=$(path_of a-1010)
    assert_eq "$path" /org/imagebuild/Agent1/build/a_2d1010
    assert_contains "$(run_in a busctl introspect $A "$path")" ".RetryOf"
    assert_contains "$(run_in a busctl call $A "$path" org.freedesktop.DBus.Properties GetAll s $B)" '"a-1010"'
    assert_eq "$(prop a-1200 State)" succeeded
    # Every build in the history is in the tree, made or not.
    local tree
    tree=$(run_in a busctl tree --list $A)
    assert_contains "$tree" /org/imagebuild/Agent1/build/a_2d1001
    assert_contains "$tree" /org/imagebuild/Agent1/build/a_2d1300
    # A path of no build has no Build1 (its node answers only the standard
    # interfaces, as any node under a fallback does).
    local rc=0 out
    out=$(run_in a busctl call $A /org/imagebuild/Agent1/build/a_2d9999 \
        org.freedesktop.DBus.Properties GetAll s $B 2>&1) || rc=$?
    [ "$rc" -ne 0 ] || { echo "GetAll on a path of no build answered: $out"; return 1; }
    assert_contains "$out" "Unknown"
}

test_start_reads_the_index() {
    assert_contains "$(run_in a cat /var/lib/imagebuild/index)" $'a-1005\tshort'
    stop_agent a
    # A record damaged after it was indexed: a start does not read it, so
    # its row is still listed and nothing is reported corrupt.
    echo '{"id": ' | write_into a /var/lib/imagebuild/builds/a-1100/record.json
    local since page
    since=$(run_in a date '+%Y-%m-%d %H:%M:%S')
    page=$(run_in a busctl call $A $M $I ListBuilds 'a{sv}' 3 limit u 1 type s short before s a-1101)
    assert_eq "$(row_ids "$page")" "a-1100"
    assert_eq "$(run_in a journalctl -q -o cat --since "$since" MESSAGE_ID=889deadd7061417a86090a6b10bf228a | grep -c a-1100 || true)" 0
    # Asked for in full, it is reported missing, not served half.
    assert_contains "$(run_in a busctl call $A $M $I GetBuild s a-1100 2>&1 || true)" "no build"
}

test_case "the contract is on the bus (bus-activated agent)" test_contract
test_case "meson install again keeps the administrator's imagebuild.conf" test_install_keeps_config
test_case "an oemdrv build makes an ISO labelled OEMDRV holding the kickstart" test_oemdrv_build
test_case "a failing build records failed and its exit status" test_failing_build
test_case "a build unit carries slice, limits, sandboxing and timeout" test_unit_carries_settings
test_case "a running build is cancelled" test_cancel_running_build
test_case "a build past its timeout_sec is timed-out" test_timeout
test_case "max_parallel and queue_max are honoured, FIFO" test_max_parallel_and_queue
test_case "each bad spec field gets an error naming it, nothing is written" test_bad_specs
test_case "an oversized kickstart is InvalidSpec naming the limit, nothing is written" test_oversized_kickstart
test_case "unknown and path-like ids are NotFound" test_bad_ids
test_case "nobody is denied by polkit; reads stay open" test_nobody_is_denied
test_case "submitter: recorded for root, refused to nobody naming submit-for, validated" test_submitter
test_case "ListBuilds filters" test_list_builds_filter
test_case "kill -9 of the agent mid-build: the next call reports the true result" test_agent_killed_mid_build
test_case "the agent exits when idle and the bus starts it again" test_idle_exit_and_reactivation
test_case "a corrupt record is skipped and logged; ids never repeat" test_corrupt_record_is_skipped
test_case "ListBuilds pages: limit, before and after by id and by time" test_list_builds_pages
test_case "every old build has its object: introspect, GetAll, busctl tree" test_old_builds_are_served
test_case "a start reads the index, not every record" test_start_reads_the_index
test_case "a unit systemd refuses: the build fails with systemd's error as its reason" test_unit_refused_by_systemd
test_case "a program that cannot be executed: failed, status 203/EXEC as its reason" test_unit_fails_to_exec
test_case "queued builds run after a power-off and boot" test_queued_builds_survive_reboot
finish
