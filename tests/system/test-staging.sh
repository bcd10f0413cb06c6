#!/bin/bash
# Staging and mail against the real thing: a real MTA (dma, installed inside
# the sandbox host only, delivering to the host's /var/mail/root), builds
# whose end-of-build step stages their artifacts and sends the final mail
# from the unit's ExecStopPost=, agent or no agent. Every check reads what a
# person would: the mailbox, the staging directory, sha256sum -c.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/agent-lib.sh"
sandbox_require
AGENT_HOST=s
MAILBOX=/var/mail/root
COPY=/srv/staging-copy
TO=root@localhost

boot_host s 127.0.0.50
install_into s

# dma and what it needs come from the directory tools/install-deps downloads
# them to, for sandbox hosts only; the host's own mail setup is never touched.
SANDBOX_DEBS=/var/cache/imagebuild-sandbox/debs/
install_mta() {
    compgen -G "$SANDBOX_DEBS/dma_*.deb" >/dev/null ||
        bail_out "no dma .deb in $SANDBOX_DEBS: run tools/install-deps"
    run_in s env DEBIAN_FRONTEND=noninteractive apt-get install -qq -y --no-download \
        --no-install-recommends -o Dir::Cache::archives="$SANDBOX_DEBS" dma >/dev/null ||
        bail_out "apt-get install dma (from $SANDBOX_DEBS) failed inside host s: run tools/install-deps"
    run_in s rm -f "$MAILBOX"
}
install_mta

# A webhook receiver inside host s: a socket unit with Accept=yes whose
# service (webhook-receiver.sh) writes each request body to $HOOKS.
HOOKS=/var/lib/hook-received
HOOK_URL=http://127.0.0.50:8099/hook
WEBHOOK_DELIVERED=3f0b1e6a2c7d4d0e9a51c8b7e4f2a913
WEBHOOK_FAILED=b6d94c2e07a84f3c8e1f5a2d9c3b7e60
start_receiver() {
    run_in s mkdir -p "$HOOKS"
    write_into s /etc/systemd/system/hook-receiver.socket <<UNIT
[Socket]
ListenStream=127.0.0.50:8099
Accept=yes
UNIT
    write_into s /etc/systemd/system/hook-receiver@.service <<UNIT
[Service]
ExecStart=/bin/bash $(cd "$(dirname "$0")" && pwd)/webhook-receiver.sh $HOOKS
StandardInput=socket
StandardOutput=socket
StandardError=journal
UNIT
    run_in s systemctl daemon-reload
    run_in s systemctl start hook-receiver.socket
}
start_receiver

# -D: dma delivers before it exits. By default it delivers from a background
# child, which systemd may stop with the rest of the unit once the
# end-of-build step returns (the mail would then wait in dma's queue).
write_into s /etc/imagebuild/imagebuild.conf <<CONF
[host]
arches = x86_64
releases = 40
max_parallel = 2
idle_exit_sec = 30
monitor_url = http://forwarder.example:8080/monitor/{id}

[staging]
copy_to = $COPY

[mail]
from = imagebuild@s.example
sendmail = /usr/sbin/sendmail -i -D
public_url = http://forwarder.example:8080/

[retention]
max_age = 1s

# Builds whose spec names no webhook of their own post here. The receiver
# is on this host's loopback address: allowed explicitly.
[webhook]
url = $HOOK_URL
allow_private = yes

[type.oemdrv]
command = xorriso -as mkisofs -volid OEMDRV -joliet -rational-rock
  -output {outdir}/oemdrv.iso {ks}
artifacts = *.iso

[type.small]
command = sh -c "echo making a small image for {id}; seq 1 20000 > {outdir}/small.img; mkdir {outdir}/sub; echo {name} > {outdir}/sub/notes.txt; echo small image done"
tools = sh seq
artifacts = *.img sub/*.txt

[type.slow]
command = sh -c "echo slow build {id} starts; sleep 4; seq 1 500 > {outdir}/slow.img; echo slow build done"
tools = sh sleep seq
artifacts = *.img

[type.sleep]
command = sleep 600
tools = sleep

[type.fail]
command = sh -c "for i in \$(seq 1 80); do echo fail line \$i; done; exit 4"
tools = sh seq
CONF
run_in s systemctl stop imagebuild-agent.service 2>/dev/null || true

# mailed TYPE [extra busctl a{sv} entries: COUNT KEY SIG VALUE...]: submit
# with notify = $TO; prints the id.
mailed() {
    local type=$1 extra_count=${2:-0}
    shift 2 || shift $#
    submit "$type" $((1 + extra_count)) notify as 1 "$TO" "$@"
}
staged() { echo "/var/lib/imagebuild/builds/$1/artifacts"; }

# The mailbox is mbox: each message starts with a "From " line.
mailbox() { run_in s cat "$MAILBOX" 2>/dev/null || true; }
# count_subject "ID KIND": how many mails have the subject "[imagebuild] ID KIND...".
count_subject() { mailbox | grep -c "^Subject: \[imagebuild\] $1:" || true; }
has_mail() { [ "$(count_subject "$1 $2")" -ge 1 ]; }
# mail_of ID KIND: the first message whose subject is "[imagebuild] ID KIND...".
mail_of() {
    mailbox | awk -v subject="Subject: [imagebuild] $1 $2" '
        /^From / { if (keep) { printf "%s", text; exit } text = ""; keep = 0 }
        { text = text $0 "\n" }
        index($0, subject) == 1 { keep = 1 }
        END { if (keep) printf "%s", text }'
}

# check_artifacts_in_mail MAIL DIR: every artifact the mail lists is a file
# in DIR of that size and sha256, and every file sha256sum lists is in it.
check_artifacts_in_mail() {
    local mail=$1 dir=$2 name size sum listed=0
    while read -r name size; do
        sum=$(echo "$mail" | grep -A1 -F "  $name  $size bytes" | awk '/sha256/ {print $2}')
        assert_eq "$(run_in s stat -c %s "$dir/$name")" "$size" "size of $name"
        assert_eq "$(run_in s sha256sum "$dir/$name" | awk '{print $1}')" "$sum" "sha256 of $name"
        listed=$((listed + 1))
    done < <(echo "$mail" | sed -n '/^Artifacts:/,/^$/p' | awk '$3 == "bytes" {print $1, $2}')
    # SHA256SUMS covers every staged file but itself.
    assert_eq "$listed" "$(($(run_in s sh -c "wc -l < $dir/SHA256SUMS") + 1))" \
        "files listed in the mail vs SHA256SUMS"
}

# result_after_mail ID RESULT: the final mail goes out from the unit's
# ExecStopPost=, before the unit has ended; the agent sets Result once it has
# (a moment later, seconds on a loaded host). Waits for it, then says what
# it is if it never came.
result_after_mail() {
    wait_for 30 result_is "$1" "$2" || assert_eq "$(prop "$1" Result)" "$2"
}

test_submission_mail() {
    local id mail
    id=$(mailed small 1 name s ten-bytes)
    assert_eq "$id" s-1
    echo "$id" >"$TEST_SCRATCH/small"
    wait_for 30 has_mail "$id" submitted
    mail=$(mail_of "$id" submitted)
    assert_contains "$mail" "Subject: [imagebuild] s-1 submitted: small x86_64 40 (ten-bytes)"
    assert_contains "$mail" "From: imagebuild@s.example"
    assert_contains "$mail" "To: $TO"
    assert_contains "$mail" "Message-ID: <s-1.submitted."
    assert_contains "$mail" "Date: "
    assert_contains "$mail" "Content-Type: text/plain; charset=utf-8"
    assert_contains "$mail" "imagebuild accepted build s-1 on s."
    assert_contains "$mail" "http://forwarder.example:8080/monitor/s-1"
    assert_contains "$mail" "imagebuildctl log -f s-1"
    assert_eq "$(count_subject "s-1 submitted")" 1
}

test_success_mail() {
    local id mail dir
    id=$(cat "$TEST_SCRATCH/small")
    wait_for 30 has_mail "$id" succeeded
    result_after_mail "$id" succeeded
    mail=$(mail_of "$id" succeeded)
    assert_contains "$mail" "Subject: [imagebuild] $id succeeded: small x86_64 40 (ten-bytes)"
    assert_contains "$mail" "Build $id succeeded on s after"
    assert_contains "$mail" "Message-ID: <$id.finished."
    dir=$(staged "$id")
    for f in small.img notes.txt ks.cfg build.log manifest.json; do
        assert_contains "$mail" "  $f  "
    done
    assert_contains "$mail" "http://forwarder.example:8080/artifacts/$id/small.img"
    assert_contains "$mail" "on s: $dir"
    [[ $mail != *"Last "*" log lines"* ]] || { echo "a successful build's mail has a log tail"; return 1; }
    check_artifacts_in_mail "$mail" "$dir"
    assert_eq "$(count_subject "$id succeeded")" 1
}

test_sha256sums_and_copy() {
    local id dir
    id=$(cat "$TEST_SCRATCH/small")
    dir=$(staged "$id")
    run_in s sh -c "cd $dir && sha256sum --strict -c SHA256SUMS"
    assert_contains "$(run_in s cat "$dir/build.log")" "small image done"
    assert_eq "$(run_in s cat "$dir/ks.cfg")" "$(printf '%s' "$KS")"
    assert_contains "$(run_in s cat "$dir/manifest.json")" '"sha256"'
    # The extra copy: the same files, byte for byte, no temporary names left.
    run_in s diff -r "$dir" "$COPY/$id"
    run_in s sh -c "cd $COPY/$id && sha256sum --strict --quiet -c SHA256SUMS"
    assert_eq "$(run_in s find "$COPY/$id" -name '.*')" ""
}

test_failure_mail() {
    local id mail tail dir
    id=$(mailed fail)
    wait_for 30 has_mail "$id" failed
    result_after_mail "$id" failed
    assert_eq "$(prop "$id" ExitStatus)" 4
    mail=$(mail_of "$id" failed)
    assert_contains "$mail" "Subject: [imagebuild] $id failed: fail x86_64 40"
    assert_contains "$mail" "exit status: 4"
    assert_contains "$mail" "Last 50 log lines:"
    tail=$(echo "$mail" | sed -n '/^Last 50 log lines:/,/^$/p' | sed '1d;/^$/d')
    assert_eq "$(echo "$tail" | wc -l)" 50
    assert_contains "$tail" "  fail line 80"
    if echo "$tail" | grep -qx "  fail line 20"; then
        echo "the tail reaches back to line 20"
        return 1
    fi
    # A failed build stages its log, kickstart and manifest all the same.
    dir=$(staged "$id")
    assert_contains "$(run_in s cat "$dir/build.log")" "fail line 1"
    run_in s test -s "$dir/ks.cfg"
    run_in s test -s "$dir/manifest.json"
    run_in s sh -c "cd $dir && sha256sum --strict --quiet -c SHA256SUMS"
    check_artifacts_in_mail "$mail" "$dir"
    echo "$id" >"$TEST_SCRATCH/failed"
}

# How many times an agent has started on host s (MESSAGE_ID of its start).
agent_starts() { run_in s journalctl -q -o cat MESSAGE_ID=5131e74f3fba48dda9c7c89d93a3465a | wc -l; }
agent_started_since() { [ "$(agent_starts)" -gt "$1" ]; }

test_agent_killed_mid_build() {
    local id pid out starts
    id=$(mailed slow)
    wait_for 20 state_is "$id" running
    wait_for 20 has_mail "$id" submitted
    pid=$(run_in s systemctl show -p MainPID --value imagebuild-agent.service)
    starts=$(agent_starts)
    run_in s kill -9 "$pid"
    # Staging and the final mail happen with no agent at all; then the
    # end-of-build step pokes the bus, which starts an agent for the queue.
    wait_for 40 has_mail "$id" succeeded
    wait_for 20 agent_started_since "$starts"
    run_in s sh -c "cd $(staged "$id") && sha256sum --strict --quiet -c SHA256SUMS"
    run_in s diff -r "$(staged "$id")" "$COPY/$id"
    check_artifacts_in_mail "$(mail_of "$id" succeeded)" "$(staged "$id")"
    # A second run of the end-of-build step (a retry after a crash) sends
    # nothing and stages nothing again.
    out=$(run_in s /usr/libexec/imagebuild-build-hook finished "/var/lib/imagebuild/builds/$id")
    assert_contains "$out" "already handled: sent"
    # The next agent learns the result from disk, and mails nobody again.
    assert_eq "$(prop "$id" State)" succeeded
    assert_eq "$(prop "$id" Artifacts | awk '{print $1}')" 5
    assert_eq "$(count_subject "$id submitted")" 1
    assert_eq "$(count_subject "$id succeeded")" 1
}

test_oemdrv_mail() {
    local id mail
    id=$(mailed oemdrv)
    wait_for 40 has_mail "$id" succeeded
    mail=$(mail_of "$id" succeeded)
    assert_contains "$mail" "  oemdrv.iso  "
    check_artifacts_in_mail "$mail" "$(staged "$id")"
    run_in s cmp "$(staged "$id")/oemdrv.iso" "$COPY/$id/oemdrv.iso"
}

# A build the journal has no line of (its lines rotated away, say): the end
# of build still mails everything the record holds, and says so.
test_mail_without_journal() {
    local from=/var/lib/imagebuild/builds/$(cat "$TEST_SCRATCH/failed") to=/var/lib/imagebuild/builds/s-900 mail
    run_in s mkdir -p "$to"
    run_in s sh -c "sed 's/\"$(basename "$from")\"/\"s-900\"/g' $from/record.json > $to/record.json"
    run_in s cp "$from/ks.cfg" "$from/outcome" "$to/"
    run_in s /usr/libexec/imagebuild-build-hook finished "$to" >/dev/null
    wait_for 20 has_mail s-900 failed
    mail=$(mail_of s-900 failed)
    assert_contains "$mail" "Build s-900 failed on s after"
    assert_contains "$mail" "  type:      fail"
    assert_contains "$mail" "exit status: 4"
    assert_contains "$mail" "Last 0 log lines:"
    assert_contains "$mail" "(the journal holds no line of this build)"
    assert_contains "$mail" "imagebuildctl status s-900"
    run_in s sh -c "cd $to/artifacts && sha256sum --strict --quiet -c SHA256SUMS"
    run_in s rm -rf "$to" "$COPY/s-900"
}

# refused_submit "'KEY': <GVARIANT>": submits a small build with that extra
# entry, expects InvalidSpec and no build written; leaves the error in
# $refused. (Called directly, not in $(...), so a failed check fails the case.)
# The copy_to= destination full: a 16 KiB tmpfs over it, inside host s only.
# The build still succeeds; the problem is in the mail, the build's staging
# record and its log (with IMAGEBUILD_ID), and no half-written file is left there.
test_full_disk_is_a_problem_not_a_result() {
    local id mail leftovers
    run_in s mount -t tmpfs -o size=16k tmpfs "$COPY"
    trap 'run_in s umount "$COPY" 2>/dev/null || true' EXIT
    id=$(mailed small)
    wait_for 30 has_mail "$id" succeeded
    leftovers=$(run_in s find "$COPY/$id" -name '.*')
    result_after_mail "$id" succeeded
    mail=$(mail_of "$id" succeeded)
    assert_contains "$mail" "Staging problems:"
    assert_contains "$mail" "cannot copy small.img to $COPY/$id"
    assert_contains "$mail" "No space left on device"
    # manifest.json is written (and copied) before the copy fails: the build's
    # own staging record keeps the problem.
    assert_contains "$(run_in s cat "/var/lib/imagebuild/builds/$id/staging.json")" \
        "No space left on device"
    assert_contains "$(run_in s journalctl -o cat IMAGEBUILD_ID="$id")" \
        "imagebuild: problem: cannot copy small.img"
    run_in s sh -c "cd $(staged "$id") && sha256sum --strict --quiet -c SHA256SUMS"
    assert_eq "$leftovers" ""
}

refused_submit() {
    local before
    before=$(run_in s ls /var/lib/imagebuild/builds | wc -l)
    refused=$(run_in s gdbus call --system --dest $A --object-path $M --method $I.Submit \
        "{'type': <'small'>, 'arch': <'x86_64'>, 'release': <'40'>, 'kickstart': <'x'>, $1}" 2>&1 || true)
    assert_contains "$refused" "org.imagebuild.Error.InvalidSpec"
    assert_eq "$(run_in s ls /var/lib/imagebuild/builds | wc -l)" "$before"
}

test_invalid_address_refused() {
    refused_submit "'notify': <['$TO', 'nobody at example.org']>"
    assert_contains "$refused" "spec field 'notify' holds \"nobody at example.org\""
}

# hook_body ID EVENT: the body the receiver got for that build and event.
hook_body() { run_in s sh -c "grep -l '\"id\":\"$1\"' $HOOKS/*-$2.json 2>/dev/null | xargs -r cat"; }
has_hook() { [ -n "$(hook_body "$1" "$2")" ]; }
deliveries_logged() {
    [ "$(run_in s journalctl -q -o cat MESSAGE_ID=$WEBHOOK_DELIVERED IMAGEBUILD_ID="$1" | wc -l)" = "$2" ]
}

test_webhook_each_state() {
    local id body
    # The config's default: the first build named no webhook.
    wait_for 30 has_hook "$(cat "$TEST_SCRATCH/small")" succeeded
    id=$(submit small 1 webhook s "$HOOK_URL")
    wait_for 30 state_is "$id" succeeded
    wait_for 30 has_hook "$id" succeeded
    wait_for 30 has_hook "$id" queued
    wait_for 30 has_hook "$id" running
    assert_contains "$(hook_body "$id" queued)" '"state":"queued"'
    assert_contains "$(hook_body "$id" running)" '"state":"running"'
    body=$(hook_body "$id" succeeded)
    assert_contains "$body" '"state":"succeeded"'
    assert_contains "$body" '"result":"succeeded"'
    assert_contains "$body" '"name":"small.img"'
    assert_contains "$body" "\"host\":\"s\""
    # Exactly one final post; the headers say what it is.
    assert_eq "$(run_in s sh -c "grep -l '\"id\":\"$id\"' $HOOKS/*-succeeded.json | wc -l")" 1
    assert_contains "$(run_in s sh -c "grep -l '\"id\":\"$id\"' $HOOKS/*-succeeded.json | sed 's/json$/headers/' | xargs cat")" \
        "Content-Type: application/json"
    # The webhook is part of the record; each delivery is in the journal.
    run_in s grep -q "\"webhook\": \"$HOOK_URL\"" "/var/lib/imagebuild/builds/$id/record.json"
    wait_for 20 deliveries_logged "$id" 3
    assert_contains "$(run_in s journalctl -q -o cat MESSAGE_ID=$WEBHOOK_DELIVERED IMAGEBUILD_ID="$id")" \
        "webhook of build $id (running) delivered to $HOOK_URL"
    # Under the helpers' own names, not the agent's: the webhook unit posts
    # queued and running, the build's ExecStopPost hook the final state.
    assert_eq "$(run_in s journalctl -q -o cat -t imagebuild-webhook MESSAGE_ID=$WEBHOOK_DELIVERED \
        IMAGEBUILD_ID="$id" | wc -l)" 2
    assert_contains "$(run_in s journalctl -q -o cat -t imagebuild-build-hook \
        MESSAGE_ID=$WEBHOOK_DELIVERED IMAGEBUILD_ID="$id")" "webhook of build $id (succeeded) delivered"
}

test_webhook_cancelled() {
    local id other queued
    id=$(submit sleep 1 webhook s "$HOOK_URL")
    other=$(submit sleep)
    wait_for 20 has_hook "$id" running
    wait_for 20 state_is "$other" running
    # max_parallel = 2: this one waits, and is cancelled before it has a
    # unit; the agent posts its final record.
    queued=$(submit sleep 1 webhook s "$HOOK_URL")
    assert_eq "$(prop "$queued" State)" queued
    run_in s busctl call $A $M $I CancelBuild s "$queued"
    wait_for 30 has_hook "$queued" cancelled
    assert_contains "$(hook_body "$queued" cancelled)" '"result":"cancelled"'
    # A running build's final record comes from its unit's end-of-build step.
    run_in s busctl call $A $M $I CancelBuild s "$id"
    wait_for 30 has_hook "$id" cancelled
    assert_contains "$(hook_body "$id" cancelled)" '"result":"cancelled"'
    run_in s busctl call $A $M $I CancelBuild s "$other"
    wait_for 30 state_is "$other" cancelled
}

test_webhook_unreachable() {
    local id log
    # Port 9 of the host's own address: nobody listens there.
    id=$(submit small 1 webhook s http://127.0.0.50:9/hook)
    wait_for 30 state_is "$id" succeeded
    assert_eq "$(prop "$id" Result)" succeeded
    wait_for 30 run_in s grep -q failed "/var/lib/imagebuild/builds/$id/webhook-finished"
    log=$(run_in s journalctl -q -o cat MESSAGE_ID=$WEBHOOK_FAILED IMAGEBUILD_ID="$id")
    assert_contains "$log" "webhook of build $id (succeeded) to http://127.0.0.50:9/hook failed after 3 attempt(s): connecting: Connection refused"
    assert_contains "$log" "webhook of build $id (queued)"
    assert_eq "$(prop "$id" Result)" succeeded
}

test_invalid_webhook_refused() {
    refused_submit "'webhook': <'https://ci.example/hook'>"
    assert_contains "$refused" "spec field 'webhook'"
    assert_contains "$refused" "https is not supported"
    assert_contains "$refused" "http://HOST[:PORT][/PATH]"
    refused_submit "'webhook': <'http://ci.example:99999/hook'>"
    assert_contains "$refused" "the port must be a number from 1 to 65535"
}

CLEANUP_ID=79acfb3165ee4dcd9b95d8abc580a2e6
exists() { run_in s busctl call $A $M $I GetBuild s "$1" >/dev/null 2>&1; }

test_pin() {
    local id out
    id=$(cat "$TEST_SCRATCH/small")
    assert_eq "$(prop "$id" Pinned)" false
    run_in s imagebuildctl pin "$id"
    assert_eq "$(prop "$id" Pinned)" true
    run_in s grep -q '"pinned": true' "/var/lib/imagebuild/builds/$id/record.json"
    assert_contains "$(run_in s imagebuildctl --no-pager status "$id")" "Pinned: yes"
    assert_eq "$(run_in s imagebuildctl show "$id" -p Pinned)" "Pinned=yes"
    assert_contains "$(run_in s imagebuildctl --json show "$id")" '"pinned":true'
    # Someone else's build: org.imagebuild.manage, which nobody lacks.
    out=$(run_in s runuser -u nobody -- imagebuildctl --no-ask-password unpin "$id" 2>&1) &&
        { echo "nobody unpinned $id: $out"; return 1; }
    assert_contains "$out" "org.imagebuild.manage"
    assert_eq "$(prop "$id" Pinned)" true
    # Over HTTP there is no pin: a clear refusal, exit 2, nothing sent.
    out=$(run_in s imagebuildctl -H http://127.0.0.50:9 pin "$id" 2>&1) && return 1
    assert_contains "$out" "pin is not supported over -H"
    assert_exit 2 run_in s imagebuildctl -H http://127.0.0.50:9 pin "$id"
}

test_cleanup_timer_service() {
    local pinned running old out
    pinned=$(cat "$TEST_SCRATCH/small")
    old=$(cat "$TEST_SCRATCH/failed")
    running=$(submit sleep)
    wait_for 20 state_is "$running" running
    # Cleanup needs org.imagebuild.manage.
    out=$(run_in s runuser -u nobody -- busctl call $A $M $I Cleanup 2>&1) && return 1
    assert_contains "$out" "org.imagebuild.manage"
    exists "$old"
    # What the daily timer starts; max_age = 1s makes every ended build old.
    run_in s systemctl start imagebuild-cleanup.service
    assert_eq "$(run_in s systemctl show -p Result --value imagebuild-cleanup.service)" success
    # The timer that starts it daily is installed and wanted by timers.target.
    assert_eq "$(run_in s systemctl show -p Triggers --value imagebuild-cleanup.timer)" \
        imagebuild-cleanup.service
    assert_contains "$(run_in s systemctl show -p WantedBy --value imagebuild-cleanup.timer)" \
        timers.target
    if exists "$old"; then
        echo "the old build $old is still there"
        return 1
    fi
    run_in s test ! -e "/var/lib/imagebuild/builds/$old"
    assert_contains "$(run_in s journalctl -q -o cat MESSAGE_ID=$CLEANUP_ID IMAGEBUILD_ID="$old")" \
        "build $old removed: ended"
    # Kept: the pinned build with its staged files, and the running one.
    exists "$pinned"
    run_in s sh -c "cd $(staged "$pinned") && sha256sum --strict --quiet -c SHA256SUMS"
    exists "$running"
    assert_eq "$(prop "$running" State)" running
    # Unpinned, it goes with the next cleanup; the running build stays.
    run_in s imagebuildctl unpin "$pinned"
    assert_eq "$(prop "$pinned" Pinned)" false
    out=$(run_in s busctl call $A $M $I Cleanup)
    assert_contains "$out" "\"$pinned\""
    if exists "$pinned"; then
        echo "the unpinned build $pinned is still there"
        return 1
    fi
    exists "$running"
    run_in s busctl call $A $M $I CancelBuild s "$running"
    wait_for 20 state_is "$running" cancelled
}

test_case "submit: a submission mail with the monitor URL arrives" test_submission_mail
test_case "success: the final mail lists the artifacts with sizes and checksums that match" test_success_mail
test_case "sha256sum -c passes in the staging dir; the copy_to= copy matches" test_sha256sums_and_copy
test_case "failure: the final mail carries the last 50 log lines; staging still happens" test_failure_mail
test_case "agent killed mid-build: staging and the final mail happen, exactly once" test_agent_killed_mid_build
test_case "oemdrv: the ISO is staged, copied and listed in the mail" test_oemdrv_mail
test_case "a mail is complete when the journal has no line of the build" test_mail_without_journal
test_case "an invalid notify address is refused at submit" test_invalid_address_refused
test_case "a full copy_to= disk is a staging problem, never the result" \
    test_full_disk_is_a_problem_not_a_result
test_case "webhook: the JSON record arrives for queued, running and the final state (spec, config default)" test_webhook_each_state
test_case "webhook: a cancelled build posts its final record, queued or running" test_webhook_cancelled
test_case "webhook: an unreachable URL is logged with the id; the build still succeeds" test_webhook_unreachable
test_case "an invalid webhook is refused at submit" test_invalid_webhook_refused
test_case "imagebuildctl pin/unpin: Pinned on the bus and in the record; not over -H" test_pin
test_case "imagebuild-cleanup.service removes an old build, keeps pinned and running ones" test_cleanup_timer_service
finish
