#!/bin/bash
# A fleet of three hosts, each with a real agent and a real socket-activated
# forwarder, building different (arch, release) pairs:
#   a 127.0.0.2: x86_64/40    b 127.0.0.3: aarch64/40    c 127.0.0.4: ppc64le/41
# Requests all go to a; a places, forwards and streams from b and c.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/forwarder-lib.sh"
sandbox_require

a=http://127.0.0.2:8470
b=http://127.0.0.3:8470
c=http://127.0.0.4:8470
auth=(-H 'Authorization: Bearer alice-token')

# host_conf ARCH RELEASE: the agent's part of imagebuild.conf. The "lines"
# build prints 40 numbered lines over about 4 s and leaves a 300 kB artifact.
host_conf() {
    cat <<CONF
[host]
arches = $1
releases = $2
max_parallel = 2
idle_exit_sec = 0

[type.lines]
command = sh -c "echo build starts; i=0; while [ \$i -lt 40 ]; do i=\$((i+1)); echo line \$i; sleep 0.1; done; head -c 300000 /dev/urandom >{outdir}/image.bin; echo build done"
tools = sh
artifacts = *.bin
CONF
}

for host in a:127.0.0.2:x86_64:40 b:127.0.0.3:aarch64:40 c:127.0.0.4:ppc64le:41; do
    IFS=: read -r name address arch release <<<"$host"
    boot_host "$name" "$address"
    install_into "$name"
done
FORWARDER_EXTRA_CONF=$(host_conf x86_64 40) setup_forwarder a 127.0.0.2 "$b" "$c"
FORWARDER_EXTRA_CONF=$(host_conf aarch64 40) setup_forwarder b 127.0.0.3 "$a" "$c"
FORWARDER_EXTRA_CONF=$(host_conf ppc64le 41) setup_forwarder c 127.0.0.4 "$a" "$b"
for url in "$a" "$b" "$c"; do curl -sf "$url/v1/health" >/dev/null; done

spec() { printf '{"type":"lines","arch":"%s","release":"%s","kickstart":"lang en_US.UTF-8\\n"}' "$1" "$2"; }
# submit ARCH RELEASE: prints the new build's id (via a).
submit() { curl -sf "${auth[@]}" -X POST --data-binary "$(spec "$1" "$2")" "$a/v1/builds" | json_get id; }
json_get() { python3 -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"; }
build_state() { curl -sf "$a/v1/builds/$1" | json_get state; }
is_state() { [ "$(build_state "$1")" = "$2" ]; }
# host_field NAME FIELD: FIELD of host NAME in a's /v1/hosts.
host_field() {
    curl -sf "$a/v1/hosts" | python3 -c '
import json, sys
for h in json.load(sys.stdin)["hosts"]:
    if h["hostname"] == sys.argv[1]:
        print(h[sys.argv[2]])' "$1" "$2"
}
all_healthy() {
    curl -sf "$a/v1/hosts" | python3 -c '
import json, sys
hosts = json.load(sys.stdin)["hosts"]
sys.exit(0 if len(hosts) == 3 and all(h["healthy"] for h in hosts) else 1)'
}

test_fleet_is_up() {
    wait_for 15 all_healthy
    local hosts
    hosts=$(curl -sf "$a/v1/hosts")
    assert_contains "$hosts" '"hostname":"c"'
    assert_contains "$hosts" '"arches":["ppc64le"]'
    assert_contains "$hosts" '"image_types":["lines"]'
}

# Hosts start from fresh layers, so c's first build is c-1; later cases use it
# (each case runs in a subshell: a variable set in one is lost to the next).
c_build=c-1
test_build_for_c_runs_on_c() {
    assert_eq "$(submit ppc64le 41)" "$c_build"
    local record
    record=$(curl -sf "$a/v1/builds/$c_build")
    assert_contains "$record" '"host":"c"'
    assert_contains "$record" '"submitter":"alice"'
    # It runs in c's systemd and logs to c's journal, not a's.
    wait_for 30 is_state "$c_build" succeeded
    assert_contains "$(run_in c journalctl -o cat IMAGEBUILD_ID="$c_build")" "line 40"
    assert_eq "$(run_in a journalctl -q -o cat IMAGEBUILD_ID="$c_build")" ""
}

test_monitor_on_a_follows_c_live() {
    local id out
    id=$(submit ppc64le 41)
    # Started while the build is queued or running; ends by itself when it ends.
    out=$(curl -sfN --max-time 60 "$a/monitor/$id?follow=1")
    # The log ends (its end mark) before the end-of-build step has staged and
    # the agent recorded the end: the record follows within that step's time.
    wait_for 30 is_state "$id" succeeded
    # Every line of the build: the journal's up to the build's end mark.
    assert_eq "$out" "$(run_in c journalctl -q -o cat IMAGEBUILD_ID="$id" |
        sed '/^imagebuild: end of the log of build /,$d')"
    assert_contains "$out" "build done"
    # Browsers get an escaped page with the result.
    local page
    page=$(curl -sf -H 'Accept: text/html' "$a/monitor/$id")
    assert_contains "$page" '<pre id="log">'
    assert_contains "$page" "build starts"
    assert_contains "$page" "result: <b>succeeded</b>"
    assert_contains "$page" "/artifacts/$id/image.bin"
}

# SSE message events as "cursor<TAB>line", in order.
sse_lines() {
    awk '/^id: / { id = substr($0, 5) } /^data: / && id != "" { print id "\t" substr($0, 7) }
         /^$/ { id = "" }'
}

test_sse_resume_loses_and_repeats_nothing() {
    local all resumed cursor expected
    all=$(curl -sfN --max-time 30 -H 'Accept: text/event-stream' "$a/monitor/$c_build" | sse_lines)
    [ "$(printf "%s\n" "$all" | grep -c "line ")" -ge 40 ] || { echo "too few lines: $all"; return 1; }
    cursor=$(printf '%s\n' "$all" | sed -n 10p | cut -f1)
    expected=$(printf '%s\n' "$all" | sed -n '11,$p')
    resumed=$(curl -sfN --max-time 30 -H 'Accept: text/event-stream' \
        -H "Last-Event-ID: $cursor" "$a/monitor/$c_build" | sse_lines)
    assert_eq "$resumed" "$expected"
}

test_artifact_range_download_matches_sha256() {
    local path want whole part1 part2
    path=$(curl -sf "$a/v1/builds/$c_build" |
        python3 -c 'import json,sys; print(json.load(sys.stdin)["artifacts"][0]["path"])')
    want=$(run_in c sha256sum "$path" | cut -d' ' -f1)
    whole=$(curl -sf "$a/artifacts/$c_build/image.bin" | sha256sum | cut -d' ' -f1)
    assert_eq "$whole" "$want"
    assert_eq "$(http_status -r 0-99999 "$a/artifacts/$c_build/image.bin")" 206
    assert_eq "$({ curl -sf -r 0-99999 "$a/artifacts/$c_build/image.bin"
        curl -sf -r 100000- "$a/artifacts/$c_build/image.bin"; } | sha256sum | cut -d' ' -f1)" "$want"
    assert_contains "$(curl -sfI "$a/artifacts/$c_build/image.bin")" "Content-Length: 300000"
}

test_artifact_traversal_is_404() {
    assert_eq "$(http_status "$a/artifacts/$c_build/..%2F..%2F..%2Fetc%2Fpasswd")" 404
    # In the build directory, but not one of its artifacts.
    assert_eq "$(http_status "$a/artifacts/$c_build/record.json")" 404
    assert_eq "$(http_status "$a/artifacts/$c_build/..")" 404
}

test_unsupported_is_422_with_the_fleet() {
    local out
    out=$(curl -s "${auth[@]}" -X POST --data-binary "$(spec s390x 40)" "$a/v1/builds")
    assert_contains "$out" '"error":"Unsupported"'
    assert_contains "$out" '"arches":["ppc64le"]'
    assert_eq "$(http_status "${auth[@]}" -X POST --data-binary "$(spec s390x 40)" "$a/v1/builds")" 422
}

test_auth_and_limits() {
    assert_eq "$(http_status -X POST --data-binary "$(spec aarch64 40)" "$a/v1/builds")" 401
    assert_eq "$(http_status -H 'Authorization: Bearer nope' -X POST \
        --data-binary "$(spec aarch64 40)" "$a/v1/builds")" 401
    assert_eq "$(head -c 1100000 /dev/zero | tr '\0' x | curl -s -o /dev/null \
        -w '%{http_code}' "${auth[@]}" --data-binary @- "$a/v1/builds")" 413
}

# b's forwarder answers but its agent cannot be started: b says so in its own
# part of the list, and a passes that on instead of showing b as empty.
test_peer_without_agent_is_named_unreachable() {
    run_in b systemctl mask --runtime --now imagebuild-agent.service
    trap 'run_in b systemctl unmask --runtime imagebuild-agent.service' EXIT
    local own
    own=$(curl -s -w ' %{http_code}' "$b/v1/builds?scope=local")
    echo "b's own answer: $own"
    assert_contains "$own" '"unreachable":["b"]'
    assert_contains "$own" ' 200'
    assert_eq "$(unreachable_of "$a/v1/builds")" '"unreachable":["b"]'
    assert_contains "$(curl -sf "$a/v1/builds")" "\"id\":\"$c_build\""
    run_in b systemctl unmask --runtime imagebuild-agent.service
    trap - EXIT
    # The bus starts it again on the next call.
    assert_eq "$(unreachable_of "$a/v1/builds")" '"unreachable":[]'
}

test_c_down_then_back() {
    poweroff_host c
    local out
    # Asked at once, maybe before a's next probe: a relay to c finds nobody
    # (502, and c marked down on the spot), or c is known down already (503);
    # the next request asks nobody.
    out=$(curl -s "$a/v1/builds/$c_build")
    grep -Eq '"error":"(PeerUnreachable|HostDown)"' <<<"$out" || { echo "$out"; return 1; }
    assert_contains "$(curl -s "$a/v1/builds/$c_build")" '"error":"HostDown"'
    wait_for 5 peer_up "$a" "$c" 0
    # Down, with the error, not merely "not healthy".
    host_field c status | grep -qx down
    [ -n "$(host_field c error)" ] || { echo "c down without an error"; return 1; }
    # imagebuildctl says the same: c down with why, a and b up.
    out=$(run_in b imagebuildctl -H "$a" hosts --no-legend)
    grep -Eq '^c .* down: .+' <<<"$out" || { echo "$out"; return 1; }
    grep -Eq '^a .* up$' <<<"$out" || { echo "$out"; return 1; }
    out=$(curl -s "${auth[@]}" -X POST --data-binary "$(spec ppc64le 41)" "$a/v1/builds")
    assert_contains "$out" '"error":"HostDown"'
    # b still builds.
    local id
    id=$(submit aarch64 40)
    assert_eq "${id%%-*}" b
    assert_contains "$(unreachable_of "$a/v1/builds")" '"c"'
    boot_host c 127.0.0.4
    # Installed again as after an upgrade (it keeps /etc/imagebuild/imagebuild.conf);
    # setup_forwarder writes c's configuration all the same.
    install_into c
    FORWARDER_EXTRA_CONF=$(host_conf ppc64le 41) setup_forwarder c 127.0.0.4 "$a" "$b"
    wait_for 15 peer_up "$a" "$c" 1
    id=$(submit ppc64le 41)
    assert_eq "${id%%-*}" c
}

# imagebuildctl -H: a client on host b uses the fleet through a's forwarder
# only (HTTP), never a bus: hosts, a build that runs on c, its log from c's
# journal, its artifact, and the exit code of a write without a token.
test_imagebuildctl_over_http() {
    local out id
    out=$(run_in b imagebuildctl -H "$a" hosts --no-legend)
    assert_contains "$out" "ppc64le"
    assert_contains "$out" "aarch64"
    echo "lang en_US.UTF-8" | write_into b /root/fleet.ks
    out=$(run_in b env IMAGEBUILD_TOKEN=alice-token imagebuildctl -H "$a" \
        build /root/fleet.ks --type lines --arch ppc64le --release 41 --wait)
    id=$(sed -n 's/^Submitted build \(c-[0-9]*\)\.$/\1/p' <<<"$out")
    [ -n "$id" ] || { echo "no c build id in: $out"; return 1; }
    assert_contains "$(run_in b imagebuildctl -H "$a" list --all --no-legend)" "$id"
    assert_contains "$(run_in b imagebuildctl -H "$a" log "$id" -o cat)" "line 40"
    run_in b imagebuildctl -H "$a" artifacts "$id" --download /root/downloads
    assert_eq "$(run_in b sha256sum /root/downloads/image.bin | cut -d' ' -f1)" \
        "$(run_in c sha256sum "/var/lib/imagebuild/builds/$id/artifacts/image.bin" | cut -d' ' -f1)"
    assert_exit 4 run_in b imagebuildctl -H "$a" cancel "$id"
}

forwarder_threads() {
    run_in "$1" sh -c 'awk "/^Threads:/ { print \$2 }" "/proc/$(systemctl show -P MainPID imagebuild-forwarder.service)/status"'
}
# Asks PATH on N connections at once, reads every answer, prints how many
# were 200 and named host c (the first other answer goes to stderr), then
# holds the connections (kept alive) until
# the file FLAG exists.
HOLDER='
import os, socket, sys, time
host, port, path, n, flag = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), sys.argv[5]
# From an address of their own: the hosts reach each other from 127.0.0.1,
# and their pooled connections count against max_connections_per_address.
conns = [socket.create_connection((host, port), source_address=("127.0.0.50", 0)) for _ in range(n)]
for c in conns:
    c.sendall(f"GET {path} HTTP/1.1\r\nHost: a\r\n\r\n".encode())
good, bad = 0, ""
for c in conns:
    data = b""
    while b"\r\n\r\n" not in data:
        data += c.recv(65536)
    head, _, body = data.partition(b"\r\n\r\n")
    length = int([l.split(b":")[1] for l in head.split(b"\r\n") if l.lower().startswith(b"content-length:")][0])
    while len(body) < length:
        body += c.recv(65536)
    if head.startswith(b"HTTP/1.1 200") and b"\"host\":\"c\"" in body:
        good += 1
    elif not bad:
        bad = (head + b"\n\n" + body[:300]).decode(errors="replace")
print(f"answered={good}", flush=True)
if bad:
    print(f"the first other answer:\n{bad}", file=sys.stderr, flush=True)
while not os.path.exists(flag):
    time.sleep(0.05)
'

# 100 clients ask a about c's build at once and keep their connections: a's
# gate relays each request to c from its loop, so a holds no thread for
# them (with a thread per connection it would hold 100 more, waiting for
# each connection's next request).
# Holds 100 kept-alive clients asking ADDRESS about c's build; each
# named forwarder's threads must stay as they were (two more at most).
hold_clients_and_count_threads() {
    local address=$1 hosts=("${@:2}") out=$TEST_SCRATCH/holder.out
    local flag=$TEST_SCRATCH/holder.done pid host
    local -A before held
    rm -f "$out" "$flag"
    for host in "${hosts[@]}"; do before[$host]=$(forwarder_threads "$host"); done
    python3 -c "$HOLDER" "$address" 8470 "/v1/builds/$c_build" 100 "$flag" >"$out" &
    pid=$!
    wait_for 30 grep -q answered= "$out"
    for host in "${hosts[@]}"; do held[$host]=$(forwarder_threads "$host"); done
    touch "$flag"
    wait "$pid"
    assert_eq "$(cat "$out")" "answered=100"
    for host in "${hosts[@]}"; do
        echo "# $host's forwarder threads: ${before[$host]}, with 100 clients held ${held[$host]}"
        [ "${held[$host]}" -le $((before[$host] + 2)) ] || {
            echo "$host holds a thread per connection: ${before[$host]} -> ${held[$host]}"
            return 1
        }
    done
}

# a's gate relays each request to c from its loop, and c's gate asks its
# agent from its loop (D-Bus, asynchronous): neither holds a thread for them
# (with a thread per connection a would hold 100 more, waiting for each
# connection's next request, and c one per connection a keeps to it).
test_relayed_requests_hold_no_thread() {
    hold_clients_and_count_threads 127.0.0.2 a c
}

# The same 100 clients asking c itself about its build: answered from the
# agent on c's loop.
test_local_requests_hold_no_thread() {
    hold_clients_and_count_threads 127.0.0.4 c
}

# a's forwarder and socket stopped, then the socket started again: the next
# connection starts the forwarder, and what it answers comes from a completed
# probe of its peers. (b and c probe a every second, so one of their probes
# may come first now and then; the request still meets a forwarder that has
# just started.)
restart_a() {
    run_in a systemctl stop imagebuild-forwarder.socket imagebuild-forwarder.service
    assert_eq "$(run_in a systemctl is-active imagebuild-forwarder.service)" inactive
    run_in a systemctl start imagebuild-forwarder.socket
}

test_first_hosts_after_activation_see_the_peers() {
    restart_a
    local hosts
    hosts=$(curl -sf "$a/v1/hosts")
    echo "$hosts" | python3 -c '
import json, sys
hosts = {h["hostname"]: h for h in json.load(sys.stdin)["hosts"]}
for name in "abc":
    h = hosts[name]
    assert h["status"] == "up" and h["healthy"], h
assert hosts["c"]["arches"] == ["ppc64le"], hosts["c"]' || { echo "$hosts"; return 1; }
}

test_first_post_after_activation_is_routed() {
    restart_a
    local id
    id=$(submit ppc64le 41)
    assert_eq "${id%%-*}" c
    wait_for 30 is_state "$id" succeeded
}

test_case "three hosts, each healthy with its arches" test_fleet_is_up
test_case "a build for c's arch submitted to a runs on c" test_build_for_c_runs_on_c
test_case "a's monitor URL streams c's journal live until the end" test_monitor_on_a_follows_c_live
test_case "SSE resume with Last-Event-ID loses and repeats nothing" test_sse_resume_loses_and_repeats_nothing
test_case "artifact download with Range matches the file's sha256" test_artifact_range_download_matches_sha256
test_case "traversal in artifact names is 404" test_artifact_traversal_is_404
test_case "an arch nobody builds is 422 listing the fleet" test_unsupported_is_422_with_the_fleet
test_case "missing or wrong token is 401, body over the limit 413" test_auth_and_limits
test_case "imagebuildctl -H uses the fleet over HTTP" test_imagebuildctl_over_http
test_case "b's agent unavailable: a's list names b and still lists c's builds" \
    test_peer_without_agent_is_named_unreachable
test_case "a started by a request: its first /v1/hosts shows the peers up" \
    test_first_hosts_after_activation_see_the_peers
test_case "a started by a POST: the build is routed to c, not refused" \
    test_first_post_after_activation_is_routed
test_case "100 kept-alive clients asking a about c's build hold no thread of a or c" \
    test_relayed_requests_hold_no_thread
test_case "100 kept-alive clients asking c about its build hold no thread of c" \
    test_local_requests_hold_no_thread
# Last: c, booted again in this case's subshell, ends with it.
test_case "c off: its arch 503, b still builds; c back: used again" test_c_down_then_back
finish
