#!/bin/bash
# imagebuild-forwarder on real systemd: socket activation, Type=notify, its
# unprivileged user, health and metrics, auth (401/403), the body limit
# (413), kickstart uploads (multipart: text, tar trees, bad entries), and
# peers going down and coming back across two hosts. Builds across hosts
# and monitors: test-forwarder-fleet.sh.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/forwarder-lib.sh"
sandbox_require

a=http://127.0.0.2:8470
b=http://127.0.0.3:8470

boot_host a 127.0.0.2
boot_host b 127.0.0.3
install_into a
install_into b
# An agent that starts (the forwarder asks it for /v1/builds, /v1/hosts,
# /metrics) and builds "noop" for x86_64/40 on a, aarch64/40 on b.
a_conf=$'[host]\narches = x86_64\nreleases = 40\n[type.noop]\ncommand = true\n[type.sleep]\ncommand = sleep 600'
b_conf=${a_conf/x86_64/aarch64}
# "lines N [PAD]": waits for /run/ib-go, writes "line 1" ... "line N" (each
# followed by PAD x's), fails.
for host in a b; do
    write_into "$host" /usr/local/bin/ib-lines <<'SH'
#!/bin/sh
while [ ! -e /run/ib-go ]; do sleep 0.1; done
awk -v n="$1" -v pad="${2:-0}" 'BEGIN {
    p = sprintf("%*s", pad, ""); gsub(/ /, "x", p)
    for (i = 1; i <= n; i++) print "line " i (pad ? " " p : "")
}'
exit 3
SH
    run_in "$host" chmod 0755 /usr/local/bin/ib-lines
    # The forwarder's threads now.
    write_into "$host" /usr/local/bin/ib-threads <<'SH'
#!/bin/sh
awk '/^Threads:/ { print $2 }' "/proc/$(systemctl show -P MainPID imagebuild-forwarder.service)/status"
SH
    run_in "$host" chmod 0755 /usr/local/bin/ib-threads
done
a_conf+=$'\n[type.lines]\ncommand = /usr/local/bin/ib-lines 2000'
# "stall": a line, silence until /run/ib-stall-go (stalled after 2 s), a
# line, then silence until /run/ib-stall-end; fails.
write_into a /usr/local/bin/ib-stall <<'SH'
#!/bin/sh
echo before
while [ ! -e /run/ib-stall-go ]; do sleep 0.1; done
echo after
while [ ! -e /run/ib-stall-end ]; do sleep 0.1; done
exit 3
SH
run_in a chmod 0755 /usr/local/bin/ib-stall
a_conf+=$'\n[type.stall]\ncommand = /usr/local/bin/ib-stall\nstall_timeout = 2'
b_conf+=$'\n[type.lines]\ncommand = /usr/local/bin/ib-lines 5000 2000'
b_conf+=$'\n[type.few]\ncommand = /usr/local/bin/ib-lines 500'
# a: a thousand followers from one address; b: a small ring, so that a
# follower that reads nothing falls off it.
FORWARDER_EXTRA_CONF=$a_conf FORWARDER_OPTIONS='max_connections_per_address = 2048' \
    setup_forwarder a 127.0.0.2 "$b"
FORWARDER_EXTRA_CONF=$b_conf FORWARDER_OPTIONS='follow_ring_lines = 1000' \
    setup_forwarder b 127.0.0.3 "$a"
auth=(-H 'Authorization: Bearer alice-token')
json_get() { python3 -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"; }

# make_tar OUT ENTRY...: a tar (gzip if OUT ends in .tgz) of forged entries:
# PATH=CONTENT (a file), PATH@TARGET (a symbolic link).
make_tar() {
    python3 - "$@" <<'PY'
import io, sys, tarfile
out, entries = sys.argv[1], sys.argv[2:]
with tarfile.open(out, "w:gz" if out.endswith(".tgz") else "w") as tar:
    for entry in entries:
        if "=" in entry:
            name, content = entry.split("=", 1)
            data = content.encode().decode("unicode_escape").encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        else:
            name, target = entry.split("@", 1)
            info = tarfile.TarInfo(name)
            info.type = tarfile.SYMTYPE
            info.linkname = target
            tar.addfile(info)
PY
}
# upload FIELD...: POST /v1/builds to a as multipart/form-data; prints the body.
upload() {
    local args=() field
    for field in "$@"; do args+=(-F "$field"); done
    curl -s "${auth[@]}" "${args[@]}" -w '\n%{http_code}' "$a/v1/builds"
}

test_socket_activation() {
    # Nothing runs until the first connection; systemd owns the port.
    assert_eq "$(run_in a systemctl is-active imagebuild-forwarder.service)" inactive
    local body
    body=$(curl -sf "$a/v1/health")
    assert_contains "$body" '"hostname":"a"'
    assert_contains "$body" '"status":"ok"'
    # Type=notify: "active" only after READY=1.
    assert_eq "$(run_in a systemctl is-active imagebuild-forwarder.service)" active
    assert_eq "$(run_in a systemctl show -p StatusText --value imagebuild-forwarder.service)" serving
}

test_runs_unprivileged() {
    local pid
    pid=$(run_in a systemctl show -p MainPID --value imagebuild-forwarder.service)
    assert_eq "$(run_in a ps -o user= -p "$pid")" imagebuild-forwarder
    assert_contains "$(run_in a id -nG imagebuild-forwarder)" imagebuild
    assert_contains "$(run_in a id -nG imagebuild-forwarder)" systemd-journal
    assert_eq "$(run_in a systemctl show -p NoNewPrivileges --value imagebuild-forwarder.service)" yes
}

test_metrics_are_prometheus_text() {
    curl -sf "$a/v1/health" >/dev/null
    local text
    text=$(curl -sf "$a/metrics")
    assert_contains "$text" '# TYPE imagebuild_forwarder_requests_total counter'
    assert_contains "$text" 'imagebuild_forwarder_requests_total{route="/v1/health",method="GET",code="200"}'
    assert_contains "$text" 'imagebuild_forwarder_request_duration_seconds_bucket{route="/v1/health",le="+Inf"}'
    assert_contains "$(curl -sf -D - -o /dev/null "$a/metrics")" 'text/plain; version=0.0.4'
}

test_writes_need_a_token() {
    local spec='{"type":"boot","arch":"x86_64","release":"f40","kickstart":"text"}'
    assert_eq "$(http_status -X POST -d "$spec" "$a/v1/builds")" 401
    assert_eq "$(curl -s -X POST -d "$spec" "$a/v1/builds")" \
        '{"error":"Unauthorized","message":"this request needs '"'"'Authorization: Bearer <token>'"'"'"}'
    assert_eq "$(http_status -H 'Authorization: Bearer wrong' -X POST -d "$spec" "$a/v1/builds")" 401
    assert_eq "$(http_status -H 'Authorization: Bearer carol-token' -X POST -d "$spec" "$a/v1/builds")" 403
    assert_eq "$(http_status -H 'Authorization: Bearer wrong' -X DELETE "$a/v1/builds/a-1")" 401
    # Reads are open by default.
    assert_eq "$(http_status "$a/v1/hosts")" 200
}

test_body_over_the_limit_is_413() {
    local status
    status=$(head -c 1100000 /dev/zero | tr '\0' x |
        curl -s -o /dev/null -w '%{http_code}' -H 'Authorization: Bearer alice-token' \
            -H 'Content-Type: application/json' --data-binary @- "$a/v1/builds")
    assert_eq "$status" 413
    # A body without a Content-Length is not read at all.
    status=$(head -c 1100000 /dev/zero | tr '\0' x |
        curl -s -o /dev/null -w '%{http_code}' -H 'Authorization: Bearer alice-token' \
            -H 'Transfer-Encoding: chunked' --data-binary @- "$a/v1/builds")
    assert_eq "$status" 411
    # The forwarder is still there.
    assert_eq "$(http_status "$a/v1/health")" 200
}

test_peers_see_each_other() {
    curl -sf "$b/v1/health" >/dev/null
    wait_for 10 peer_up "$a" "$b" 1
    wait_for 10 peer_up "$b" "$a" 1
}

test_build_ids_route_to_their_host() {
    # b's id is answered by b (whatever its agent says), never "no host".
    local body
    body=$(curl -s "$a/v1/builds/b-999999")
    assert_contains "$body" '"error"'
    [[ $body != *"no host 'b'"* ]] || { echo "a did not know b: $body"; return 1; }
    assert_contains "$(curl -sf "$a/metrics")" \
        "imagebuild_forwarder_forwarded_total{peer=\"$b\",outcome=\"answered\"}"
    assert_contains "$(curl -s "$a/v1/builds/zz-1")" "no host 'zz' in this fleet"
    assert_eq "$(http_status "$a/v1/builds/..%2Fetc-1")" 404
}

test_upload_tree_with_include_builds_on_the_right_host() {
    local tree=$TEST_SCRATCH/tree answer id
    mkdir -p "$tree/parts"
    printf 'lang en_US.UTF-8\n%%include parts/repo.ks\n' >"$tree/ks.cfg"
    printf 'repo --name=fedora --baseurl=http://example/\n' >"$tree/parts/repo.ks"
    tar -C "$tree" -czf "$TEST_SCRATCH/tree.tgz" .
    # aarch64 is b's: a flattens, places and forwards the JSON spec to b.
    answer=$(upload type=noop arch=aarch64 release=40 label=ticket=OPS-1 notify= \
        "kickstart_file=@$TEST_SCRATCH/tree.tgz")
    assert_eq "${answer##*$'\n'}" 201
    id=$(json_get id <<<"${answer%$'\n'*}")
    assert_eq "${id%-*}" b
    assert_eq "$(run_in b cat "/var/lib/imagebuild/builds/$id/ks.cfg")" \
        "$(printf 'lang en_US.UTF-8\nrepo --name=fedora --baseurl=http://example/')"
    assert_contains "$(curl -sf "$a/v1/builds/$id")" '"labels":{"ticket":"OPS-1"}'
    # b recorded the token's name (passed on by a) as the submitter.
    assert_eq "$(curl -sf "$a/v1/builds/$id" | json_get submitter)" alice
    # Pasted text: x86_64 is a's own.
    answer=$(upload type=noop arch=x86_64 release=40 'kickstart=lang C')
    assert_eq "${answer##*$'\n'}" 201
    id=$(json_get id <<<"${answer%$'\n'*}")
    assert_eq "${id%-*}" a
    assert_eq "$(run_in a cat "/var/lib/imagebuild/builds/$id/ks.cfg")" "lang C"
    # MonitorUrl follows [forwarder] public_url when [host] monitor_url is unset.
    assert_eq "$(curl -sf "$a/v1/builds/$id" | json_get monitor_url)" \
        "http://127.0.0.2:8470/monitor/$id"
    # A tree whose include is missing: the file and line of the directive.
    make_tar "$TEST_SCRATCH/broken.tar" 'main.ks=lang C\n%include nothere.ks\n' 'other.cfg=x\n'
    answer=$(upload type=noop arch=x86_64 release=40 kickstart_main=main.ks \
        "kickstart_file=@$TEST_SCRATCH/broken.tar")
    assert_eq "${answer##*$'\n'}" 400
    assert_contains "$answer" '{"error":"InvalidKickstart","message":"main.ks:2: %include nothere.ks'
    # Two candidates and no kickstart_main: the field is named.
    answer=$(upload type=noop arch=x86_64 release=40 "kickstart_file=@$TEST_SCRATCH/broken.tar")
    assert_eq "${answer##*$'\n'}" 400
    assert_contains "$answer" 'kickstart_main is required'
}

test_upload_refuses_entries_leaving_the_tree() {
    local answer
    make_tar "$TEST_SCRATCH/dotdot.tgz" 'ks.cfg=%include ../x.ks\n' '../x.ks=lang C\n'
    answer=$(upload type=noop arch=x86_64 release=40 "kickstart_file=@$TEST_SCRATCH/dotdot.tgz")
    assert_eq "${answer##*$'\n'}" 400
    assert_contains "$answer" '"error":"InvalidUpload"'
    assert_contains "$answer" "entry '../x.ks' contains '..'"
    make_tar "$TEST_SCRATCH/link.tar" 'ks.cfg=%include repo.ks\n' 'repo.ks@../../../etc/passwd'
    answer=$(upload type=noop arch=x86_64 release=40 "kickstart_file=@$TEST_SCRATCH/link.tar")
    assert_eq "${answer##*$'\n'}" 400
    assert_contains "$answer" "entry 'repo.ks' is a symbolic link to '../../../etc/passwd'"
}

test_upload_limits_and_missing_fields() {
    local answer
    head -c 17000000 /dev/zero >"$TEST_SCRATCH/big.ks"
    answer=$(upload type=noop arch=x86_64 release=40 "kickstart_file=@$TEST_SCRATCH/big.ks")
    assert_eq "${answer##*$'\n'}" 413
    assert_contains "$answer" 'max_upload_bytes'
    answer=$(upload type=noop release=40 'kickstart=lang C')
    assert_eq "${answer##*$'\n'}" 400
    assert_contains "$answer" "\"message\":\"'arch' is required\""
    answer=$(upload type=noop arch=x86_64 release=40)
    assert_eq "${answer##*$'\n'}" 400
    assert_contains "$answer" "'kickstart' (text) or 'kickstart_file'"
    assert_eq "$(http_status "$a/v1/health")" 200
}

# delete_as TOKEN URL: DELETE, prints the body then the status on a line of its own.
delete_as() { curl -s -w '\n%{http_code}' -H "Authorization: Bearer $1" -X DELETE "$2"; }
build_state() { curl -sf "$a/v1/builds/$1" | json_get state; }
is_state() { [ "$(build_state "$1")" = "$2" ]; }
is_state_on() { [ "$(curl -sf "$1/v1/builds/$2" | json_get state)" = "$3" ]; }
submit_sleep() {
    curl -sf "${auth[@]}" -X POST "$a/v1/builds" \
        --data-binary '{"type":"sleep","arch":"x86_64","release":"40","kickstart":"lang C"}' |
        json_get id
}

test_cancel_is_for_the_submitting_token_or_an_admin() {
    local id answer
    id=$(submit_sleep)
    assert_eq "${id%-*}" a
    assert_eq "$(curl -sf "$a/v1/builds/$id" | json_get submitter)" alice
    assert_eq "$(run_in a busctl get-property org.imagebuild.Agent1 \
        "$(run_in a busctl call org.imagebuild.Agent1 /org/imagebuild/Agent1 \
            org.imagebuild.BuildManager1 GetBuild s "$id" | cut -d' ' -f2 | tr -d '"')" \
        org.imagebuild.Build1 Submitter)" 's "alice"'
    # bob (write) may not cancel alice's build, asked through b: a, which owns
    # the build, decides with bob's name and role.
    answer=$(delete_as bob-token "$b/v1/builds/$id")
    assert_eq "${answer##*$'\n'}" 403
    assert_contains "$answer" "\"error\":\"Forbidden\""
    assert_contains "$answer" "build $id was submitted by 'alice'; token 'bob' may cancel only its own builds"
    [ "$(build_state "$id")" != cancelled ] || { echo "bob cancelled alice's build"; return 1; }
    # alice may.
    answer=$(delete_as alice-token "$a/v1/builds/$id")
    assert_eq "${answer##*$'\n'}" 200
    wait_for 20 is_state "$id" cancelled
    # An admin token cancels anyone's, also through b.
    id=$(submit_sleep)
    answer=$(delete_as ops-token "$b/v1/builds/$id")
    assert_eq "${answer##*$'\n'}" 200
    wait_for 20 is_state "$id" cancelled
    # A build submitted over D-Bus (by root): only an admin token, even for
    # a token that shares a user's name; the agent lets the forwarder cancel
    # it (polkit/50-imagebuild.rules).
    id=$(run_in a busctl call org.imagebuild.Agent1 /org/imagebuild/Agent1 org.imagebuild.BuildManager1 \
        Submit 'a{sv}' 4 type s sleep arch s x86_64 release s 40 kickstart s 'lang C' | awk '{print $2}' | tr -d '"')
    assert_eq "$(curl -sf "$a/v1/builds/$id" | json_get submitter)" root
    answer=$(delete_as alice-token "$a/v1/builds/$id")
    assert_eq "${answer##*$'\n'}" 403
    assert_contains "$answer" "only an admin token may cancel it"
    answer=$(delete_as ops-token "$a/v1/builds/$id")
    assert_eq "${answer##*$'\n'}" 200
    wait_for 20 is_state "$id" cancelled
    # A body cannot claim a submitter.
    answer=$(curl -s -w '\n%{http_code}' "${auth[@]}" -X POST "$a/v1/builds" \
        --data-binary '{"type":"sleep","arch":"x86_64","release":"40","kickstart":"lang C","submitter":"bob"}')
    assert_eq "${answer##*$'\n'}" 400
    assert_contains "$answer" "'submitter' cannot be given"
}

# post_as TOKEN URL: POST with no body, prints the body then the status on a line of its own.
post_as() { curl -s -w '\n%{http_code}' -H "Authorization: Bearer $1" -X POST "$2"; }

# A retry over HTTP is the retrying token's build (BuildManager1.Retry's
# submitter option), never the forwarder's user's, whoever submitted the old one.
test_retry_is_in_the_tokens_name() {
    local old new answer
    # root's build, over D-Bus: an admin token retries it.
    old=$(run_in a busctl call org.imagebuild.Agent1 /org/imagebuild/Agent1 org.imagebuild.BuildManager1 \
        Submit 'a{sv}' 4 type s sleep arch s x86_64 release s 40 kickstart s 'lang C' | awk '{print $2}' | tr -d '"')
    answer=$(post_as ops-token "$b/v1/builds/$old/retry")
    assert_eq "${answer##*$'\n'}" 201
    new=$(echo "${answer%$'\n'*}" | json_get id)
    assert_eq "$(curl -sf "$a/v1/builds/$new" | json_get retry_of)" "$old"
    assert_eq "$(curl -sf "$a/v1/builds/$new" | json_get submitter)" ops
    assert_eq "$(curl -sf "$a/v1/builds/$old" | json_get submitter)" root
    delete_as ops-token "$a/v1/builds/$new" >/dev/null
    delete_as ops-token "$a/v1/builds/$old" >/dev/null
    # alice's build: retried by the admin, it is the admin's; by alice, hers.
    old=$(submit_sleep)
    answer=$(post_as ops-token "$a/v1/builds/$old/retry")
    assert_eq "${answer##*$'\n'}" 201
    new=$(echo "${answer%$'\n'*}" | json_get id)
    assert_eq "$(curl -sf "$a/v1/builds/$new" | json_get submitter)" ops
    delete_as ops-token "$a/v1/builds/$new" >/dev/null
    answer=$(post_as alice-token "$a/v1/builds/$old/retry")
    assert_eq "${answer##*$'\n'}" 201
    new=$(echo "${answer%$'\n'*}" | json_get id)
    assert_eq "$(curl -sf "$a/v1/builds/$new" | json_get submitter)" alice
    delete_as ops-token "$a/v1/builds/$new" >/dev/null
    delete_as ops-token "$a/v1/builds/$old" >/dev/null
    # Over D-Bus the option needs submit-for: a user without it is told so.
    answer=$(run_in a setpriv --reuid=nobody --regid=nogroup --clear-groups busctl call \
        org.imagebuild.Agent1 /org/imagebuild/Agent1 org.imagebuild.BuildManager1 \
        Retry 'sa{sv}' "$old" 1 submitter s mallory 2>&1 || true)
    assert_contains "$answer" "org.imagebuild.submit-for"
}

# The list a host serves is kept between requests (forwarder/agent_list_cache):
# whatever the agent has answered before a GET /v1/builds is in it, whoever
# made the change. "ID STATE" per line, this host's builds only.
A=org.imagebuild.Agent1
M=/org/imagebuild/Agent1
I=org.imagebuild.BuildManager1
listed() { curl -sf "$a/v1/builds?scope=local" | python3 -c '
import json, sys
for b in json.load(sys.stdin)["builds"]:
    print(b["id"], b["state"])'; }
# write_builds HOST FIRST COUNT T0 STEP [TIE]: finished builds HOST-FIRST.. in
# the agent's on-disk format, release "paging", the k-th submitted at
# T0 + k*STEP usec, plus TIE for every fifth (read when the agent next
# starts; next-id moved past them). Written aside, then moved in with the
# agent stopped, and stopped again after: any call (a peer's health probe)
# starts it, and an agent started meanwhile would not see them all.
write_builds() {
    run_in "$1" /usr/bin/python3 - "$@" <<'PY'
import json, os, sys
host, first, count, t0, step, *tie = sys.argv[1], *map(int, sys.argv[2:])
for k in range(count):
    n = first + k
    d = f'/var/lib/imagebuild/paging-staging/{host}-{n}'
    os.makedirs(d)
    t = t0 + k * step + (tie[0] if tie and k % 5 == 4 else 0)
    record = {'id': f'{host}-{n}', 'number': n, 'type': 'noop', 'arch': 'x86_64', 'release': 'paging',
              'name': f'page-{n}', 'notify': [], 'timeout_sec': 0, 'labels': {},
              'state': 'succeeded', 'result': 'succeeded', 'exit_status': 0,
              'unit': f'imagebuild-{host}-{n}.service', 'submitter_uid': 0, 'submitted_at': t,
              'started_at': t + 1000, 'finished_at': t + 2000, 'timeout_usec': 0,
              'monitor_url': '', 'artifacts': [], 'cancel_requested': False}
    with open(f'{d}/record.json', 'w') as f:
        json.dump(record, f)
PY
    run_in "$1" sh -c 'systemctl stop imagebuild-agent.service &&
        find /var/lib/imagebuild/paging-staging -mindepth 1 -maxdepth 1 -exec mv -t /var/lib/imagebuild/builds {} + &&
        n=$(cat /var/lib/imagebuild/next-id 2>/dev/null || echo 0) &&
        if [ "$n" -lt "$1" ]; then echo "$1" >/var/lib/imagebuild/next-id; fi &&
        systemctl stop imagebuild-agent.service' sh "$(($2 + $3 - 1))"
}
# walk_pages URL: every page of URL by its next_cursor; prints the ids in order.
walk_pages() {
    python3 - "$1" <<'PY'
import json, sys, urllib.parse, urllib.request
url, cursor, pages = sys.argv[1], None, 0
while True:
    page = json.load(urllib.request.urlopen(url + ('&cursor=' + urllib.parse.quote(cursor) if cursor else '')))
    assert 'total' not in page, page
    assert page['unreachable'] == [], page['unreachable']
    pages += 1
    for b in page['builds']:
        print(b['id'])
    cursor = page['next_cursor']
    if cursor is None:
        break
    assert pages < 100, 'no end of pages'
PY
}
test_builds_page_by_cursor_across_hosts() {
    # 30 builds on a and 25 on b, interleaved in time (every fifth of b's in
    # the same microsecond as one of a's): more than a page on each host and
    # in the fleet.
    local t0=1710000000000000
    write_builds a 5001 30 $t0 2000000
    write_builds b 5001 25 $((t0 + 1000000)) 2000000 1000000
    # Both agents started again (they read the builds), both peers up.
    curl -sf "$a/v1/builds?scope=local&limit=1" >/dev/null
    curl -sf "$b/v1/builds?scope=local&limit=1" >/dev/null
    wait_for 10 peer_up "$a" "$b" 1
    wait_for 10 peer_up "$b" "$a" 1
    local expected got
    # The fleet's order, newest first: time, then host, then number.
    expected=$(curl -sf "$a/v1/builds?release=paging" | python3 -c '
import json, sys
bs = json.load(sys.stdin)["builds"]
key = lambda b: (b["submitted_at"], b["host"], int(b["id"].rsplit("-", 1)[1]))
print("\n".join(b["id"] for b in sorted(bs, key=key, reverse=True)))')
    assert_eq "$(echo "$expected" | wc -l)" 55 "$expected"
    got=$(walk_pages "$a/v1/builds?release=paging&order=newest&limit=7")
    assert_eq "$got" "$expected"
    # Oldest first, a page of one, through b: the same builds the other way.
    got=$(walk_pages "$b/v1/builds?release=paging&order=oldest&limit=8")
    assert_eq "$got" "$(echo "$expected" | tac)"
    # One host's own pages.
    got=$(walk_pages "$b/v1/builds?release=paging&order=newest&limit=10&scope=local")
    assert_eq "$got" "$(echo "$expected" | grep '^b-')"
    # A page answer has no total; the offset pages keep theirs.
    assert_eq "$(curl -sf "$a/v1/builds?release=paging&limit=5&offset=50" | json_get total)" 55
    assert_eq "$(http_status "$a/v1/builds?limit=5&cursor=nonsense")" 400
    assert_eq "$(http_status "$a/v1/builds?cursor=1.a-1")" 400
}

agent_state() {
    run_in a busctl get-property $A "$(run_in a busctl call $A $M $I GetBuild s "$1" | awk '{print $2}' | tr -d '"')" \
        org.imagebuild.Build1 State | awk '{print $2}' | tr -d '"'
}
agent_says() { [ "$(agent_state "$1")" = "$2" ]; }
# ended_over_a_second_ago USEC: the clock (shared with the hosts) is past USEC + 1 s.
ended_over_a_second_ago() { [ "$(date +%s%6N)" -gt $(($1 + 1000000)) ]; }
test_build_list_shows_every_change_at_once() {
    local id posted out
    listed >/dev/null
    # Submitted over D-Bus, not through the forwarder: in the very next list.
    id=$(run_in a busctl call $A $M $I Submit 'a{sv}' 4 type s noop arch s x86_64 release s 40 \
        kickstart s 'lang C' | awk '{print $2}' | tr -d '"')
    assert_contains "$(listed)" "$id "
    # Each state the agent reports is the one listed right after.
    wait_for 20 agent_says "$id" succeeded
    assert_contains "$(listed)" "$id succeeded"
    id=$(run_in a busctl call $A $M $I Submit 'a{sv}' 4 type s sleep arch s x86_64 release s 40 \
        kickstart s 'lang C' | awk '{print $2}' | tr -d '"')
    listed >/dev/null
    run_in a busctl call $A $M $I CancelBuild s "$id"
    wait_for 20 agent_says "$id" cancelled
    assert_contains "$(listed)" "$id cancelled"
    # Submitted through this forwarder: listed at once too.
    posted=$(curl -sf "${auth[@]}" -X POST "$a/v1/builds" \
        --data-binary '{"type":"noop","arch":"x86_64","release":"40","kickstart":"lang C"}' | json_get id)
    assert_contains "$(listed)" "$posted "
    wait_for 20 agent_says "$posted" succeeded
    # The cleanup below removes builds that ended over max_age (1 s) ago:
    # wait until this one has, rather than count on the steps taking that long.
    local ended
    ended=$(curl -sf "$a/v1/builds/$posted" | json_get finished_at)
    wait_for 10 sh -c "[ \$((\$(date +%s%N) / 1000)) -gt $((ended + 1500000)) ]"
    # An agent restarted reads its builds from disk: one written there while
    # it was stopped is listed, not the list from before.
    run_in a cp /etc/imagebuild/imagebuild.conf /var/tmp/imagebuild.conf.saved
    printf '[retention]\nmax_age = 1s\n' | run_in a sh -c 'cat >>/etc/imagebuild/imagebuild.conf'
    stop_agent a
    run_in a sh -c 'd=/var/lib/imagebuild/builds/a-9000 && mkdir -p $d && cat >$d/record.json && echo 9000 >/var/lib/imagebuild/next-id' <<'JSON'
{"id": "a-9000", "number": 9000, "type": "noop", "arch": "x86_64", "release": "40", "name": "from-disk",
 "notify": [], "timeout_sec": 0, "labels": {}, "state": "succeeded", "result": "succeeded", "exit_status": 0,
 "unit": "imagebuild-a-9000.service", "submitter_uid": 0, "submitted_at": 1700000000000000,
 "started_at": 1700000001000000, "finished_at": 1700000061000000, "timeout_usec": 0, "monitor_url": "",
 "artifacts": [], "cancel_requested": false}
JSON
    assert_contains "$(listed)" "a-9000 succeeded"
    # Removed by the agent's cleanup once past max_age (1 s after its end):
    # gone from the very next list.
    local finished
    finished=$(run_in a busctl get-property $A "$(run_in a busctl call $A $M $I GetBuild s "$posted" |
        awk '{print $2}' | tr -d '"')" org.imagebuild.Build1 FinishedAt | awk '{print $2}')
    wait_for 10 ended_over_a_second_ago "$finished"
    out=$(run_in a busctl call $A $M $I Cleanup)
    assert_contains "$out" '"a-9000"'
    assert_contains "$out" "\"$posted\""
    out=$(listed)
    [[ "$out" != *"a-9000 "* && "$out" != *"$posted "* ]] || {
        echo "cleaned builds still listed: $out"
        return 1
    }
    # The agent's own configuration again, read when it next starts.
    run_in a cp /var/tmp/imagebuild.conf.saved /etc/imagebuild/imagebuild.conf
    stop_agent a
}

# stats_match_builds URL: GET URL/v1/stats adds up what GET URL/v1/builds
# lists: per UTC day and state, and per host the builds that started and
# ended. Prints "<succeeded> <hosts>" of the stats.
stats_match_builds() {
    python3 - "$1" <<'PY'
import datetime, json, sys, urllib.request
base = sys.argv[1]
def get(path):
    with urllib.request.urlopen(base + path, timeout=30) as answer:
        return json.load(answer)
stats, builds = get("/v1/stats"), get("/v1/builds")["builds"]
assert stats["days"] == 14 and len(stats["per_day"]) == 14, stats
assert "samples" not in stats, "the fleet answer carries the peers' samples"
def day(usec):
    return datetime.datetime.fromtimestamp(usec // 1000000, datetime.timezone.utc).strftime("%Y-%m-%d")
mine = [b for b in builds if b["submitted_at"] >= stats["from"]]
for d in stats["per_day"]:
    expected = {}
    for b in mine:
        if day(b["submitted_at"]) == d["day"]:
            expected[b["state"]] = expected.get(b["state"], 0) + 1
    assert d["states"] == expected, (d, expected)
    assert d["total"] == sum(expected.values()), d
for host, summary in stats["duration"]["per_host"].items():
    ended = [b for b in mine if b["host"] == host and b["started_at"] and b["finished_at"]]
    assert summary["count"] == len(ended), (host, summary, len(ended))
    assert summary["max_usec"] == max(b["finished_at"] - b["started_at"] for b in ended), host
print(sum(d["states"].get("succeeded", 0) for d in stats["per_day"]), ",".join(sorted(stats["hosts"])))
PY
}
# post_build URL JSON: the new build's id; what was answered if not a 2xx.
post_build() {
    local out code
    out=$(curl -s -w '\n%{http_code}' "${auth[@]}" -X POST "$1/v1/builds" --data-binary "$2")
    code=${out##*$'\n'}
    out=${out%$'\n'*}
    [[ $code == 2?? ]] || {
        echo "POST $1/v1/builds answered $code: $out" >&2
        return 1
    }
    json_get id <<<"$out"
}
succeeded_on() { [ "$(curl -sf "$a/v1/builds/$1" | json_get state)" = succeeded ]; }
test_stats_add_up_the_fleets_builds() {
    local before after id ids=()
    before=$(stats_match_builds "$a")
    # Two builds on a, one on b, through a.
    for arch in x86_64 x86_64 aarch64; do
        id=$(post_build "$a" "{\"type\":\"noop\",\"arch\":\"$arch\",\"release\":\"40\",\"kickstart\":\"lang C\"}")
        ids+=("$id")
    done
    for id in "${ids[@]}"; do wait_for 30 succeeded_on "$id"; done
    after=$(stats_match_builds "$a")
    assert_eq "${after% *}" "$((${before% *} + 3))"
    assert_eq "${after#* }" "a,b"
    # Asked of b, the same fleet.
    assert_eq "$(stats_match_builds "$b")" "$after"
    # A peer's part carries its samples; days are bounded.
    local part
    part=$(curl -sf -H 'Authorization: Bearer fleet-secret' "$b/v1/stats?scope=local&days=2")
    assert_contains "$part" '"samples":[{"duration_usec":['
    assert_contains "$part" '"hosts":["b"]'
    assert_eq "$(http_status "$a/v1/stats?days=91")" 400
    assert_eq "$(http_status "$a/v1/stats?days=x")" 400
}

FOLLOWERS=$(dirname "$0")/sse_followers.py
submit_lines() {
    curl -sf "${auth[@]}" -X POST "$1/v1/builds" \
        --data-binary "{\"type\":\"lines\",\"arch\":\"$2\",\"release\":\"40\",\"kickstart\":\"lang C\"}" |
        json_get id
}
go_command() { echo "nsenter -t $(sb_pid "$1") -a -r -w -- touch /run/ib-go"; }
threads_command() { echo "nsenter -t $(sb_pid "$1") -a -r -w -- /usr/local/bin/ib-threads"; }
inotify_instances() { find /proc/"$1"/fd -lname 'anon_inode:inotify' 2>/dev/null | wc -l; }

test_a_thousand_followers_share_one_reader() {
    local id result pid
    run_in a rm -f /run/ib-go
    id=$(submit_lines "$a" x86_64)
    wait_for 30 is_state "$id" running
    # Default inotify limits (128 instances a user): one reader for all.
    echo "# fs.inotify.max_user_instances=$(cat /proc/sys/fs/inotify/max_user_instances)"
    # Held by the stream loop: parked, no thread each (a thread per
    # connection would hold a thousand).
    result=$(python3 "$FOLLOWERS" "$a/monitor/$id" --followers 1000 --lines 2000 --end failed \
        --then "$(threads_command a) >$TEST_SCRATCH/held-threads; $(go_command a)" \
        --health "$a/v1/health")
    echo "# $result" | head -3
    echo "# forwarder threads with the followers held: $(cat "$TEST_SCRATCH/held-threads")"
    [ "$(cat "$TEST_SCRATCH/held-threads")" -lt 100 ] || {
        echo "the held followers hold a thread each"
        return 1
    }
    pid=$(run_in a systemctl show -P MainPID imagebuild-forwarder.service)
    echo "# forwarder inotify instances after: $(run_in a sh -c "find /proc/$pid/fd -lname 'anon_inode:inotify' | wc -l")"
    assert_contains "$result" "connected=1000 complete=1000 "
    [[ $result =~ health_ok=([0-9]+)\ health_total=([0-9]+) ]] &&
        [ "${BASH_REMATCH[1]}" -gt 0 ] && [ "${BASH_REMATCH[1]}" = "${BASH_REMATCH[2]}" ] || {
        echo "/v1/health did not answer every time: $result"
        return 1
    }
    assert_eq "$(build_state "$id")" failed
}

test_a_slow_follower_is_cut_and_the_others_complete() {
    local id result
    run_in b rm -f /run/ib-go
    id=$(submit_lines "$b" aarch64)
    wait_for 30 is_state_on "$b" "$id" running
    # Lines of 2 KB: 10 MB, more than the socket buffers of the slow one
    # hold. Late followers come once the others are done, while the slow one
    # still holds the build's reader, whose ring has moved on: they read the
    # history from the journal, then the rest: every line, the true end.
    result=$(python3 "$FOLLOWERS" "$b/monitor/$id" --followers 5 --slow 1 --late 2 --lines 5000 \
        --end failed --then "$(go_command b)")
    echo "# $result" | head -3
    assert_contains "$result" "connected=6 complete=5 slow_cut=1 late_complete=2 "
}

# a's connections to b's forwarder now.
connections_command() {
    echo "nsenter -t $(sb_pid "$1") -a -r -w -- ss -Htn state established '( dst 127.0.0.3 and dport = :8470 )'"
}

# Followers on a of b's build: a's follow hub reads one stream from b for
# all of them, on its own thread, and they are parked on a's stream loop
# as a local build's followers are. With a relay per follower a would hold
# 300 threads and 300 connections to b.
test_followers_of_a_peers_build_share_one_stream() {
    local id result threads connections
    run_in b rm -f /run/ib-go
    id=$(curl -sf "${auth[@]}" -X POST "$a/v1/builds" \
        --data-binary '{"type":"few","arch":"aarch64","release":"40","kickstart":"lang C"}' |
        json_get id)
    wait_for 30 is_state_on "$b" "$id" running
    result=$(python3 "$FOLLOWERS" "$a/monitor/$id" --followers 300 --lines 500 --end failed \
        --then "$(threads_command a) >$TEST_SCRATCH/threads; \
                $(connections_command a) >$TEST_SCRATCH/connections; $(go_command b)" \
        --health "$a/v1/health")
    echo "# $result" | head -3
    threads=$(cat "$TEST_SCRATCH/threads")
    connections=$(wc -l <"$TEST_SCRATCH/connections")
    echo "# a's forwarder with 300 followers of b's build held: $threads threads, $connections connections to b"
    assert_contains "$result" "connected=300 complete=300 "
    [ "$threads" -lt 50 ] || { echo "the relayed followers hold a thread each"; return 1; }
    # One stream, and perhaps a probe, a pooled relay of a request and the
    # fleet-wide answers' kept connections (one per kept engine, at most 4).
    [ "$connections" -le 8 ] || { echo "a relays each follower on its own connection"; return 1; }
}

forwarder_fds() { run_in "$1" sh -c 'ls /proc/$(systemctl show -P MainPID imagebuild-forwarder.service)/fd | wc -l'; }
fds_at_most() { [ "$(forwarder_fds "$1")" -le "$2" ]; }
fds_at_least() { [ "$(forwarder_fds "$1")" -ge "$2" ]; }

# A parked follower's connection notices nothing by itself: the hub wakes
# each one now and then to look at its client. Followers that leave a quiet
# build (SSE and text) are let go, their connections closed.
test_followers_that_leave_a_quiet_build_are_let_go() {
    local id before pids=() pid
    run_in a rm -f /run/ib-go
    id=$(submit_lines "$a" x86_64)
    wait_for 30 is_state "$id" running
    before=$(forwarder_fds a)
    for _ in $(seq 10); do
        curl -sN -H 'Accept: text/event-stream' "$a/monitor/$id" >/dev/null &
        pids+=($!)
        curl -sN "$a/monitor/$id?follow=1" >/dev/null &
        pids+=($!)
    done
    wait_for 30 fds_at_least a $((before + 20))
    echo "# forwarder descriptors: $before, with 20 followers $(forwarder_fds a)"
    for pid in "${pids[@]}"; do kill "$pid"; done
    wait "${pids[@]}" 2>/dev/null || true
    wait_for 60 fds_at_most a $((before + 2))
    run_in a touch /run/ib-go
    wait_for 30 is_state "$id" failed
}

state_asks() {
    curl -sf "$a/metrics" | awk '$1 == "imagebuild_forwarder_follow_state_asks_total" { print $2 }'
}
asks_above() { [ "$(state_asks)" -gt "$1" ]; }
sse_has() { grep -q "^event: $1\$" "$TEST_SCRATCH/stall.sse"; }

# The follow hub learns a followed build's state from the agent's signals,
# not by asking it again and again: a stalled build, silent for seconds, is
# not asked about at all meanwhile; its stall and the line that ends it
# reach the follower as events, and so does the true end, across an agent
# killed with -9 (its name's NameOwnerChanged has the hub ask again, which
# starts it again) and a daemon-reload of the host's systemd.
test_a_followed_builds_state_comes_by_signal() {
    local id follower rc=0
    run_in a rm -f /run/ib-stall-go /run/ib-stall-end
    id=$(curl -sf "${auth[@]}" -X POST "$a/v1/builds" \
        --data-binary '{"type":"stall","arch":"x86_64","release":"40","kickstart":"lang C"}' |
        json_get id)
    wait_for 30 is_state "$id" running
    # Bounded and stopped by its pid whatever happens: a follower left
    # behind would hold the test's output open.
    timeout 120 curl -sN -H 'Accept: text/event-stream' "$a/monitor/$id" \
        >"$TEST_SCRATCH/stall.sse" 2>/dev/null &
    follower=$!
    the_follower_is_told_by_signal "$id" || rc=1
    kill "$follower" 2>/dev/null || true  # ended by itself, as it should
    wait "$follower" 2>/dev/null || true
    return $rc
}

# COUNT PropertiesChanged of build ID's State, sent by nobody, not the agent.
forge_state_signals() {
    local path
    path=$(run_in a busctl call org.imagebuild.Agent1 /org/imagebuild/Agent1 \
        org.imagebuild.BuildManager1 GetBuild s "$1" | awk '{ print $2 }' | tr -d '"')
    [ -n "$path" ] || { echo "no object path for $1"; return 1; }
    run_in a runuser -u nobody -- sh -c "for i in \$(seq $2); do
        busctl emit '$path' org.freedesktop.DBus.Properties PropertiesChanged 'sa{sv}as' \
            org.imagebuild.Build1 1 State s failed 0 || exit 1; done"
}

# Called in an || list, where errexit does not hold: each step says it failed.
the_follower_is_told_by_signal() {
    local quiet_from quiet_to
    wait_for 30 sse_has stalled || return 1
    quiet_from=$(state_asks)
    # Meanwhile an unprivileged user sends the agent's signal for this build
    # (the bus lets anyone send one): only the agent's own count.
    forge_state_signals "$1" 50 || return 1
    sleep 3
    quiet_to=$(state_asks)
    echo "# questions about the followed build: $quiet_from when it stalled, $quiet_to 3 s and 50 forged signals later"
    assert_eq "$quiet_to" "$quiet_from" || return 1
    run_in a systemctl kill -s KILL imagebuild-agent.service || return 1
    wait_for 30 asks_above "$quiet_to" || return 1
    run_in a systemctl daemon-reload || return 1
    run_in a touch /run/ib-stall-go || return 1
    wait_for 30 sse_has unstalled || return 1
    run_in a touch /run/ib-stall-end || return 1
    wait_for 30 sse_has end || return 1
    echo "# questions after a kill -9, a daemon-reload, an unstall and the end: $(state_asks)"
    assert_eq "$(grep -E '^(event: (stalled|unstalled|end)|data: (before|after))' "$TEST_SCRATCH/stall.sse" |
        tr '\n' ' ')" \
        "data: before event: stalled data: after event: unstalled event: end " || return 1
    assert_contains "$(grep -A1 '^event: end' "$TEST_SCRATCH/stall.sse")" failed
}

test_down_peer_is_marked_down_and_comes_back() {
    poweroff_host b
    # Down within 5 s (interval 1 s, timeout 1 s).
    wait_for 5 peer_up "$a" "$b" 0
    assert_eq "$(http_status "$a/v1/builds/b-1")" 503
    assert_contains "$(curl -s "$a/v1/builds/b-1")" '"error":"HostDown"'
    assert_contains "$(unreachable_of "$a/v1/builds")" '"b"'
    # The statistics still answer, of a alone, and name b.
    assert_contains "$(unreachable_of "$a/v1/stats")" '"b"'
    assert_contains "$(curl -sf "$a/v1/stats")" '"hosts":["a"]'
    boot_host b 127.0.0.3
    # Installed again as after an upgrade; setup_forwarder writes b's configuration.
    install_into b
    FORWARDER_EXTRA_CONF=$b_conf setup_forwarder b 127.0.0.3 "$a"
    wait_for 10 peer_up "$a" "$b" 1
    [ "$(http_status "$a/v1/builds/b-1")" != 503 ] || {
        echo "b still down for a"
        return 1
    }
}

# /metrics: the resource record of a's ended builds, per type and resource,
# as the records say (what the agent measured; a figure this host cannot
# measure counts 0 builds and has no sum); one series per type, not per build.
test_metrics_resources_per_type() {
    local answer id
    answer=$(upload type=noop arch=x86_64 release=40 'kickstart=lang C')
    assert_eq "${answer##*$'\n'}" 201
    id=$(json_get id <<<"${answer%$'\n'*}")
    wait_for 30 sh -c "curl -sf $a/v1/builds/$id | grep -q '\"state\":\"succeeded\"'"
    # The records' own figures, build by build, against the metrics' sums.
    curl -sf "$a/metrics" >"$TEST_SCRATCH/metrics"
    local ids
    ids=$(curl -sf "$a/v1/builds?scope=local" | jq -r '.builds[] | select(.finished_at > 0) | .id')
    for id in $ids; do curl -sf "$a/v1/builds/$id"; echo; done >"$TEST_SCRATCH/records"
    python3 - "$TEST_SCRATCH/metrics" "$TEST_SCRATCH/records" <<'PY'
import json, re, sys
metrics = open(sys.argv[1]).read()
records = [json.loads(line) for line in open(sys.argv[2]) if line.strip()]
series = {}
for name, type_, resource, value in re.findall(
        r'^imagebuild_forwarder_build_resource_(sum|builds)\{type="([^"]*)",resource="([^"]*)"\} (\S+)$',
        metrics, re.M):
    series[(name, type_, resource)] = float(value)
figures = {'cpu_seconds': ('cpu_usec', 1e-6), 'wall_seconds': ('wall_usec', 1e-6),
           'memory_peak_bytes': ('memory_peak_bytes', 1), 'io_read_bytes': ('io_read_bytes', 1),
           'io_write_bytes': ('io_write_bytes', 1)}
types = sorted({r['type'] for r in records})
assert 'noop' in types, types
assert len(series) <= 2 * 5 * len(types), f'{len(series)} series for {len(types)} types'
for type_ in types:
    mine = [r['resources'] for r in records if r['type'] == type_]
    for resource, (key, scale) in figures.items():
        have = [m[key] for m in mine if m.get(key) is not None]
        builds = series.get(('builds', type_, resource))
        assert builds == len(have), f'{type_} {resource}: {builds} builds, the records {len(have)}'
        if have:
            total = series[('sum', type_, resource)]
            assert abs(total - sum(have) * scale) <= 1e-6 * max(1, total), f'{type_} {resource}: {total}'
        else:
            assert ('sum', type_, resource) not in series, f'{type_} {resource}: a sum of nothing'
        print(f'{type_} {resource}: {len(have)} of {len(mine)} builds')
PY
}

test_case "socket-activated, Type=notify, /v1/health answers" test_socket_activation
test_case "runs as its own unprivileged user with hardening" test_runs_unprivileged
test_case "/metrics is Prometheus text with requests and latency" test_metrics_are_prometheus_text
test_case "writes need a bearer token: 401 JSON, 403 for a read-only token" test_writes_need_a_token
test_case "a body over 1 MiB is refused with 413" test_body_over_the_limit_is_413
test_case "peers see each other as up" test_peers_see_each_other
test_case "a build id is served by the host it names" test_build_ids_route_to_their_host
test_case "upload: a tar tree with %include is flattened and built on the host for its arch" \
    test_upload_tree_with_include_builds_on_the_right_host
test_case "upload: '..' and a symlink out of the tree are refused naming the entry" \
    test_upload_refuses_entries_leaving_the_tree
test_case "upload: over max_upload_bytes is 413, a missing field is 400 naming it" \
    test_upload_limits_and_missing_fields
test_case "/metrics: the resource record of ended builds per type, as the records say" \
    test_metrics_resources_per_type
test_case "DELETE: the submitting token or an admin one; forwarded with name and role" \
    test_cancel_is_for_the_submitting_token_or_an_admin
test_case "POST /v1/builds/<id>/retry: the new build is the retrying token's" \
    test_retry_is_in_the_tokens_name
test_case "GET /v1/builds pages by cursor across hosts, each agent asked for one page" \
    test_builds_page_by_cursor_across_hosts
test_case "GET /v1/builds shows a change by busctl, this forwarder, a restart or a cleanup at once" \
    test_build_list_shows_every_change_at_once
test_case "GET /v1/stats adds up the fleet's builds per day, state and host, asked of either host" \
    test_stats_add_up_the_fleets_builds
test_case "1,000 SSE followers of one build: every line in order, the true end; /v1/health answers" \
    test_a_thousand_followers_share_one_reader
test_case "a follower that reads nothing is cut with SlowFollower; the others and a late one complete" \
    test_a_slow_follower_is_cut_and_the_others_complete
test_case "300 followers on a of b's build: one stream from b, no thread each, every line" \
    test_followers_of_a_peers_build_share_one_stream
test_case "followers that leave a quiet build are let go" \
    test_followers_that_leave_a_quiet_build_are_let_go
test_case "a followed build's stall, unstall and end come by signal; no question while it is quiet" \
    test_a_followed_builds_state_comes_by_signal
test_case "a powered-off peer is down within 5 s and up again after boot; /v1/stats names it" \
    test_down_peer_is_marked_down_and_comes_back
finish
