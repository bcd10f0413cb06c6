#!/bin/bash
# The queue and the builds that fall silent, on a sandbox host: priorities
# order the queue (higher first, equal ones first-in first-out) and a
# priority above normal needs org.imagebuild.manage; a build whose log is
# silent for its type's stall_timeout is stalled (Build1, imagebuildctl,
# mail, the SSE events of its monitor), its next line clears it, and
# stall_action = cancel cancels it. Over HTTP a priority above normal needs
# an admin token.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/agent-lib.sh"
source "$(dirname "$0")/forwarder-lib.sh"
sandbox_require
AGENT_HOST=q

boot_host q 127.0.0.77
install_into q
# A sendmail that accepts every mail: the stall mail's marker says "sent".
printf '#!/bin/sh\ncat >/dev/null\n' | write_into q /usr/local/bin/ib-sendmail
run_in q chmod 0755 /usr/local/bin/ib-sendmail
q_conf=$(cat <<'CONF'
[host]
arches = x86_64
releases = 40
max_parallel = 1
queue_max = 10
idle_exit_sec = 0
min_free = 1M

[mail]
sendmail = /usr/local/bin/ib-sendmail

[type.hold]
command = sh -c "echo hold {id}; sleep 6; echo hold done"

[type.quick]
command = sh -c "echo quick {id}"

[type.silent]
command = sh -c "echo start; sleep 8; echo again; sleep 600"
stall_timeout = 2

[type.hang]
command = sh -c "echo start; sleep 600"
stall_timeout = 2
stall_action = cancel
CONF
)
q=http://127.0.0.77:8470
FORWARDER_EXTRA_CONF=$q_conf setup_forwarder q 127.0.0.77
run_in q systemctl stop imagebuild-agent.service 2>/dev/null || true

ctl() { run_in q imagebuildctl --no-pager "$@"; }
journal_of() { run_in q journalctl --sync; run_in q journalctl -q -o cat IMAGEBUILD_ID="$1"; }
journal_says() { journal_of "$1" | grep -qF "$2"; }
started_at() { prop "$1" StartedAt; }
stalled_is() { [ "$(prop "$1" Stalled)" = "$2" ]; }
# submit_priority TYPE N [busctl prefix...]: "--" so that busctl takes -5 for
# an argument, not an option.
submit_priority() {
    local type=$1 priority=$2
    shift 2
    run_in q "$@" busctl call -- $A $M $I Submit 'a{sv}' 5 type s "$type" arch s x86_64 \
        release s 40 kickstart s "$KS" priority i "$priority" | awk '{print $2}' | tr -d '"'
}

# One slot, held; then low, normal and high: they start high, normal, low.
test_priority_orders_the_queue() {
    local hold low normal normal2 high
    hold=$(submit hold)
    wait_for 20 state_is "$hold" running
    low=$(submit_priority quick -5)
    normal=$(submit quick)
    high=$(submit_priority quick 50)
    normal2=$(submit_priority quick 0)
    assert_eq "$(prop "$high" Priority)" 50
    assert_eq "$(prop "$low" Priority)" -5
    assert_contains "$(ctl status "$high")" "Priority: 50"
    assert_contains "$(ctl --json list)" '"priority":50'
    wait_for 60 state_is "$low" succeeded
    local h n n2 l
    h=$(started_at "$high") n=$(started_at "$normal") n2=$(started_at "$normal2") l=$(started_at "$low")
    [ "$h" -lt "$n" ] && [ "$n" -lt "$n2" ] && [ "$n2" -lt "$l" ] ||
        { echo "start order is not high, normal, normal, low: $h $n $n2 $l"; return 1; }
    # In the record, for the queue an agent rebuilds at its start.
    assert_contains "$(run_in q cat "/var/lib/imagebuild/builds/$high/record.json")" '"priority": 50'
}

# A user who may submit (group imagebuild) but not manage: priority 0 or
# less is theirs to ask, above normal is refused naming the action; out of
# range is InvalidSpec naming the field and the range.
test_priority_above_normal_needs_manage() {
    run_in q sh -c 'id qbuilder >/dev/null 2>&1 || useradd -G imagebuild qbuilder'
    local out id
    out=$(run_in q runuser -u qbuilder -- busctl call $A $M $I Submit 'a{sv}' 5 type s quick \
        arch s x86_64 release s 40 kickstart s "$KS" priority i 1 2>&1 || true)
    assert_contains "$out" "org.imagebuild.manage"
    out=$(run_in q runuser -u qbuilder -- gdbus call --system --dest $A --object-path $M \
        --method $I.Submit "{'type': <'quick'>, 'arch': <'x86_64'>, 'release': <'40'>, 'kickstart': <'lang en_US'>, 'priority': <1>}" 2>&1 || true)
    assert_contains "$out" "org.imagebuild.Error.AccessDenied"
    id=$(submit_priority quick -3 runuser -u qbuilder --)
    assert_eq "$(prop "$id" Priority)" -3
    out=$(run_in q busctl call $A $M $I Submit 'a{sv}' 5 type s quick arch s x86_64 release s 40 \
        kickstart s "$KS" priority i 101 2>&1 || true)
    assert_contains "$out" "'priority' is 101; allowed: -100 to 100"
    printf 'lang en_US.UTF-8\n' | write_into q /root/q.ks
    out=$(ctl build --priority 500 -t quick -a x86_64 -r 40 /root/q.ks 2>&1 || true)
    assert_contains "$out" "-100 to 100"
}

# Silent for stall_timeout: stalled on the bus, in status and list, and
# mailed; its next line clears it; silent again, stalled again.
test_silent_build_is_stalled_until_its_next_line() {
    local id
    id=$(submit silent 1 notify as 1 someone@example.org)
    wait_for 20 state_is "$id" running
    wait_for 20 stalled_is "$id" true
    [ "$(prop "$id" StalledSince)" -gt 0 ] || { echo "StalledSince is 0 while stalled"; return 1; }
    assert_contains "$(ctl status "$id")" "running (stalled"
    assert_contains "$(ctl --json status "$id")" '"stalled":true'
    assert_contains "$(ctl list)" "running (stalled"
    assert_contains "$(ctl --json list)" '"stalled":true'
    wait_for 30 run_in q grep -q sent "/var/lib/imagebuild/builds/$id/mail-stalled"
    # "again" ends the stall; the agent says so in the build's journal.
    wait_for 30 journal_says "$id" "writes its log again; no longer stalled"
    wait_for 20 stalled_is "$id" true
    run_in q busctl call $A "$(path_of "$id")" $B Cancel >/dev/null
    wait_for 30 state_is "$id" cancelled
    assert_eq "$(prop "$id" Stalled)" false
    assert_eq "$(prop "$id" StalledSince)" 0
}

# stall_action = cancel: cancelled, the Reason says for how long.
test_stall_action_cancel() {
    local id
    id=$(submit hang)
    wait_for 30 state_is "$id" cancelled
    assert_eq "$(prop "$id" Reason)" "stalled for 2 s"
    assert_contains "$(ctl status "$id")" "stalled for 2 s"
}

# A follower of the silent build's monitor (Server-Sent Events) is told as
# it happens: stalled, unstalled when the log writes again, stalled again;
# each stalled event says since when.
test_sse_follower_sees_stalled_and_unstalled() {
    local id events=$TEST_SCRATCH/sse follower
    id=$(submit silent)
    wait_for 20 state_is "$id" running
    curl -sN --max-time 60 -H 'Authorization: Bearer carol-token' \
        -H 'Accept: text/event-stream' "$q/monitor/$id" >"$events" &
    follower=$!
    stall_events() { grep -o '^event: [a-z]*stalled' "$events" | cut -d' ' -f2 | head -n3 | tr '\n' ' '; }
    three_events() { [ "$(stall_events | wc -w)" -ge 3 ]; }
    wait_for 40 three_events || { cat "$events"; kill "$follower"; return 1; }
    assert_eq "$(stall_events)" "stalled unstalled stalled "
    # Its data: {"stalled_since": usec}, non-zero for stalled, 0 for unstalled.
    local since
    since=$(grep -A1 '^event: stalled' "$events" | sed -n 's/^data: {"stalled_since":\([0-9]*\)}$/\1/p' | head -n1)
    [ -n "$since" ] && [ "$since" -gt 0 ] || { cat "$events"; kill "$follower"; return 1; }
    assert_contains "$(grep -A1 '^event: unstalled' "$events")" '"stalled_since":0'
    # The lines themselves came too, in order with the events.
    assert_contains "$(cat "$events")" "data: again"
    run_in q busctl call $A "$(path_of "$id")" $B Cancel >/dev/null
    wait "$follower" || true  # the stream ends with the build
    assert_contains "$(cat "$events")" "event: end"
}

# POST /v1/builds with a priority above normal: 403 for a write token (and
# no build), taken from an admin token; 0 or less is anyone's.
test_http_priority_above_normal_needs_admin() {
    local body out before id
    body='{"type":"quick","arch":"x86_64","release":"40","kickstart":"lang en_US\n","priority":5}'
    before=$(run_in q ls /var/lib/imagebuild/builds | sort)
    out=$(curl -s -H 'Authorization: Bearer alice-token' -H 'Content-Type: application/json' \
        -d "$body" -w '\n%{http_code}' "$q/v1/builds")
    echo "$out"
    assert_eq "$(tail -n1 <<<"$out")" 403
    assert_contains "$out" '"error":"Forbidden"'
    assert_contains "$out" "priority 5 is above normal"
    assert_eq "$(run_in q ls /var/lib/imagebuild/builds | sort)" "$before"
    out=$(curl -s -H 'Authorization: Bearer ops-token' -H 'Content-Type: application/json' \
        -d "$body" -w '\n%{http_code}' "$q/v1/builds")
    echo "$out"
    assert_eq "$(tail -n1 <<<"$out")" 201
    id=$(sed '$d' <<<"$out" | jq -r .id)
    assert_eq "$(prop "$id" Priority)" 5
    assert_eq "$(prop "$id" Submitter)" ops
    out=$(curl -s -H 'Authorization: Bearer alice-token' -H 'Content-Type: application/json' \
        -d "${body/\"priority\":5/\"priority\":-2}" -w '\n%{http_code}' "$q/v1/builds")
    echo "$out"
    assert_eq "$(tail -n1 <<<"$out")" 201
    assert_eq "$(prop "$(sed '$d' <<<"$out" | jq -r .id)" Priority)" -2
}

test_case "priorities: high, normal, normal, low start in that order; recorded" test_priority_orders_the_queue
test_case "a priority above normal needs manage; out of range names the range" test_priority_above_normal_needs_manage
test_case "a silent build is stalled (bus, status, list, mail) until its next line" test_silent_build_is_stalled_until_its_next_line
test_case "stall_action = cancel cancels with the reason" test_stall_action_cancel
test_case "an SSE follower of a silent build gets stalled, unstalled, stalled" test_sse_follower_sees_stalled_and_unstalled
test_case "HTTP: a priority above normal is 403 for a write token, taken from an admin token" test_http_priority_above_normal_needs_admin
finish
