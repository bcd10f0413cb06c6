#!/bin/bash
# imagebuild-forwarder against hostile clients, installed on real systemd:
# unauthenticated bodies refused at the headers in little memory, per-route
# and upload limits, bounded metrics, a thousand slow connections while
# /v1/health answers, the head deadline and the per-address cap, NUL and
# duplicate Content-Length, the HTTP library's own errors as our JSON, what
# the fleet token may claim, a relayed stream whose peer is lost, and
# connections kept on the gate's loops across daemon-reload and kill -9,
# idle kept-alive connections holding no thread, and a burst of agent calls
# while the agent is stopped staying within the bus limits.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/forwarder-lib.sh"
sandbox_require

a=http://127.0.0.2:8470
b=http://127.0.0.3:8470
client=(python3 "$(dirname "$0")/hostile_client.py")

boot_host a 127.0.0.2
boot_host b 127.0.0.3
install_into a
install_into b
a_conf=$'[host]\narches = x86_64\nreleases = 40\n[type.sleep]\ncommand = sleep 600'
b_conf=${a_conf/x86_64/aarch64}
# Short head deadline so that the slow clients are seen answered 408.
FORWARDER_EXTRA_CONF=$a_conf setup_forwarder a 127.0.0.2 "$b"
printf 'head_timeout_sec = 5\nmax_upload_entries = 100\n' |
    run_in a sh -c 'cat >>/etc/imagebuild/imagebuild.conf'
FORWARDER_EXTRA_CONF=$b_conf setup_forwarder b 127.0.0.3 "$a"
auth=(-H 'Authorization: Bearer alice-token')

# is_json_error STATUS OUTPUT: curl -i output of a JSON error with that status.
is_json_error() {
    assert_contains "$2" "HTTP/1.1 $1"
    assert_contains "${2,,}" "content-type: application/json"
    assert_contains "$2" '"error":'
}
forwarder_pid() { run_in a systemctl show -p MainPID --value imagebuild-forwarder.service; }
# The forwarder's peak resident memory in kB (memory accounting may be off
# in the sandbox: /proc is always there).
peak_rss_kb() { run_in a awk '/^VmHWM/ {print $2}' "/proc/$(forwarder_pid)/status"; }

test_unauthenticated_bodies_are_refused_at_the_headers() {
    curl -sf "$a/v1/health" >/dev/null
    local before after i statuses big=$TEST_SCRATCH/big
    head -c $((15 * 1024 * 1024)) /dev/zero >"$big"
    before=$(peak_rss_kb)
    # 20 at once, with Expect: 100-continue (curl's default) and without it
    # (the body comes straight after the head).
    for i in $(seq 10); do
        http_status -X POST --data-binary @"$big" "$a/v1/builds" >"$TEST_SCRATCH/s$i" &
        curl -s -o /dev/null -H 'Expect:' -X POST --data-binary @"$big" "$a/v1/builds" &
    done
    wait
    statuses=$(for i in $(seq 10); do echo "$(cat "$TEST_SCRATCH/s$i")"; done | sort | uniq -c | tr -s ' ')
    assert_eq "$statuses" " 10 401"
    after=$(peak_rss_kb)
    echo "VmHWM before: ${before} kB, after 20 x 15 MB unauthenticated POSTs: ${after} kB"
    [ "$after" -lt $((before + 16 * 1024)) ] || {
        echo "the forwarder's peak RSS grew by more than 16 MB"
        return 1
    }
    local out
    out=$(curl -si -X POST --data-binary @"$big" "$a/v1/builds")
    is_json_error 401 "$out"
    assert_contains "${out,,}" "connection: close"
}

test_each_route_caps_its_body() {
    local out
    out=$(curl -si "${auth[@]}" -H 'Content-Type: application/json' \
        --data-binary @<(head -c $((2 * 1024 * 1024)) /dev/zero | tr '\0' ' ') "$a/v1/builds")
    is_json_error 413 "$out"
    assert_contains "$out" "max_body_bytes"
    out=$(curl -si -X GET --data-binary 'x=1' "$a/v1/health")
    is_json_error 413 "$out"
    assert_contains "$out" "GET /v1/health takes no request body"
    # No Content-Length: refused at the head, before a byte of the body.
    out=$(head -c $((2 * 1024 * 1024)) /dev/zero | tr '\0' ' ' |
        curl -si "${auth[@]}" -H 'Transfer-Encoding: chunked' -H 'Content-Type: application/json' \
            --data-binary @- "$a/v1/builds" || true)
    is_json_error 411 "$out"
}

# A malformed chunked body would be answered by libmicrohttpd with its own
# HTML: no chunked body is read at all, in our JSON.
test_a_chunked_body_is_411() {
    local out
    out=$("${client[@]}" raw 127.0.0.2 8470 \
        'POST /v1/builds HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nnot a chunk\r\n0\r\n\r\n')
    is_json_error 411 "$out"
    assert_contains "$out" "needs a Content-Length"
}

# A client that pipelines makes libmicrohttpd read ahead, where a later head
# cannot be checked first: it gets its first answer whole, then the
# connection ends; a malformed head read ahead gets no HTML answer.
test_a_pipelining_client_gets_one_answer_and_an_end() {
    local out
    # A request served on a thread (a DELETE without a token: 401):
    # libmicrohttpd read ahead, so the connection ends after one whole answer.
    out=$("${client[@]}" raw 127.0.0.2 8470 \
        'DELETE /v1/builds/a-1 HTTP/1.1\r\nHost: a\r\n\r\nGARBAGE\r\n\r\nDELETE /v1/builds/a-1 HTTP/1.1\r\nHost: a\r\n\r\n')
    assert_eq "$(grep -c '^HTTP/1.1 ' <<<"$out")" 1
    assert_contains "$out" "HTTP/1.1 401"
    [[ $out != *"<html"* && $out != *"<HTML"* ]] || { echo "library HTML: $out"; return 1; }
    # Health is answered on the gate's loop, which takes each head exactly:
    # the next head is checked as a first one, so the garbage is our 400,
    # and the connection ends there (the third request is not answered).
    out=$("${client[@]}" raw 127.0.0.2 8470 \
        'GET /v1/health HTTP/1.1\r\nHost: a\r\n\r\nGARBAGE\r\n\r\nGET /v1/health HTTP/1.1\r\nHost: a\r\n\r\n')
    assert_eq "$(grep -c '^HTTP/1.1 ' <<<"$out")" 2
    assert_eq "$(grep -m1 '^HTTP/1.1 ' <<<"$out" | tr -d '\r')" "HTTP/1.1 200 OK"
    assert_contains "$out" "HTTP/1.1 400"
    assert_contains "$out" '"error":"BadRequest"'
    [[ $out != *"<html"* && $out != *"<HTML"* ]] || { echo "library HTML: $out"; return 1; }
}

test_upload_entries_are_capped() {
    python3 - "$TEST_SCRATCH/many.tar" <<'PY'
import io, sys, tarfile
with tarfile.open(sys.argv[1], "w") as tar:
    for i in range(101):
        info = tarfile.TarInfo(f"e{i}.ks")
        tar.addfile(info, io.BytesIO(b""))
PY
    local out
    out=$(curl -s "${auth[@]}" -F type=sleep -F arch=x86_64 -F release=40 \
        -F "kickstart_file=@$TEST_SCRATCH/many.tar" -w '\n%{http_code}' "$a/v1/builds")
    assert_contains "$out" "413"
    assert_contains "$out" "more than 100 entries (max_upload_entries)"
}

test_metrics_labels_stay_bounded() {
    local m
    for m in BREW FOO1 FOO2 FOO3 PROPFIND; do
        curl -s -o /dev/null -X "$m" "$a/v1/health"
        curl -s -o /dev/null -X "$m" "$a/nowhere/$m"
    done
    local text
    text=$(curl -sf "$a/metrics")
    assert_contains "$text" 'method="other"'
    if grep -E 'method="(BREW|FOO|PROPFIND)' <<<"$text"; then
        echo "a client's method became a label"
        return 1
    fi
    if grep -F '/nowhere/' <<<"$text"; then
        echo "a client's path became a label"
        return 1
    fi
}

test_slow_clients_do_not_starve_health() {
    local baseline during out pid
    baseline=$(curl -sf -o /dev/null -w '%{time_total}' "$a/v1/health")
    # 1000 connections sending a head a byte a second, from 8 addresses
    # (125 each, under the per-address cap of 128).
    "${client[@]}" slow 127.0.0.2 8470 1000 127.0.1.1 127.0.1.2 127.0.1.3 127.0.1.4 \
        127.0.1.5 127.0.1.6 127.0.1.7 127.0.1.8 20 >"$TEST_SCRATCH/slow" &
    pid=$!
    wait_for 20 grep -q opened=1000 "$TEST_SCRATCH/slow"
    during=$(curl -sf --max-time 10 -o /dev/null -w '%{time_total}' "$a/v1/health")
    echo "/v1/health: ${baseline} s alone, ${during} s with 1000 slow connections open"
    curl -sf "$a/v1/health" | grep -q '"status":"ok"'
    echo "forwarder threads meanwhile: $(run_in a ls "/proc/$(forwarder_pid)/task" | wc -l)"
    wait "$pid"
    out=$(tail -1 "$TEST_SCRATCH/slow")
    echo "$out"
    # Every one was answered 408 in JSON at the head deadline (5 s here).
    assert_eq "$out" "open=0 answered=1000 408=1000"
}

test_per_address_cap() {
    # 128 held (open) from one address; the 129th is answered 429 in JSON.
    local out
    out=$("${client[@]}" hold 127.0.0.2 8470 127.0.2.1 129)
    assert_eq "$(grep -c '^open$' <<<"$out")" 128
    assert_contains "$out" "HTTP/1.1 429 Too Many Requests"
    # Another address is not affected.
    curl -sf --interface 127.0.2.2 "$a/v1/health" >/dev/null
}

test_nul_is_refused_naming_the_field() {
    local out field body
    for field in kickstart name; do
        body=$(printf '{"type":"sleep","arch":"x86_64","release":"40","kickstart":"text","%s":"a\\u0000b"}' "$field")
        [ "$field" = kickstart ] && body='{"type":"sleep","arch":"x86_64","release":"40","kickstart":"text\u0000rootpw x"}'
        out=$(curl -si "${auth[@]}" -H 'Content-Type: application/json' -d "$body" "$a/v1/builds")
        is_json_error 400 "$out"
        assert_contains "$out" "'$field' holds a NUL character"
    done
    out=$(curl -si "${auth[@]}" -H 'Content-Type: application/json' \
        -d '{"type":"sleep","arch":"x86_64","release":"40","kickstart":"text","labels":{"k":"v\u0000"}}' \
        "$a/v1/builds")
    is_json_error 400 "$out"
    assert_contains "$out" "'labels'['k'] holds a NUL character"
    out=$(curl -si --path-as-is "$a/v1/builds/a-1%00x")
    is_json_error 400 "$out"
    assert_contains "$out" "URL path holds %00"
}

test_duplicate_content_length_is_400() {
    local out
    out=$("${client[@]}" raw 127.0.0.2 8470 \
        'POST /v1/builds HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\n{}')
    is_json_error 400 "$out"
    assert_contains "$out" "Content-Length is given twice"
    out=$("${client[@]}" raw 127.0.0.2 8470 \
        'POST /v1/builds HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n{}')
    is_json_error 400 "$out"
}

test_library_errors_are_our_json() {
    local out
    out=$("${client[@]}" raw 127.0.0.2 8470 'GET /v1/health HTTP/2.0\r\nHost: a\r\n\r\n')
    is_json_error 505 "$out"
    out=$("${client[@]}" raw 127.0.0.2 8470 'GET /v1/health HTTP/1.1\r\n\r\n')
    is_json_error 400 "$out"
    assert_contains "$out" "needs a Host header"
    out=$(curl -si "$a/v1/health?x=$(head -c 9000 /dev/zero | tr '\0' a)")
    is_json_error 414 "$out"
    out=$(curl -si -H "X-Big: $(head -c 20000 /dev/zero | tr '\0' a)" "$a/v1/health")
    is_json_error 431 "$out"
    out=$("${client[@]}" raw 127.0.0.2 8470 'GET /v1/health HTTP/1.1\r\nHost: a\r\nbroken header\r\n\r\n')
    is_json_error 400 "$out"
}

# The same refusals in a kept-alive connection's second request, which never
# passes the gate: still our JSON, never libmicrohttpd's HTML.
test_library_errors_on_a_kept_alive_connection_are_our_json() {
    local first='GET /v1/health HTTP/1.1\r\nHost: a\r\n\r\n' out
    out=$("${client[@]}" second 127.0.0.2 8470 "$first" 'GET /v1/health HTTP/2.0\r\nHost: a\r\n\r\n')
    is_json_error 505 "$out"
    out=$("${client[@]}" second 127.0.0.2 8470 "$first" 'GET /v1/health HTTP/1.1\r\n\r\n')
    is_json_error 400 "$out"
    assert_contains "$out" "needs a Host header"
    out=$("${client[@]}" second 127.0.0.2 8470 "$first" \
        "GET /v1/health?x=$(head -c 9000 /dev/zero | tr '\0' a) HTTP/1.1\r\nHost: a\r\n\r\n")
    is_json_error 414 "$out"
    out=$("${client[@]}" second 127.0.0.2 8470 "$first" \
        "GET /v1/health HTTP/1.1\r\nHost: a\r\nX-Big: $(head -c 20000 /dev/zero | tr '\0' a)\r\n\r\n")
    is_json_error 431 "$out"
    out=$("${client[@]}" second 127.0.0.2 8470 "$first" 'GET /v1/health HTTP/1.1\r\nHost: a\r\nbroken header\r\n\r\n')
    is_json_error 400 "$out"
    # Counted in /metrics by reason and status.
    out=$(curl -sf "$a/metrics")
    assert_contains "$out" 'imagebuild_forwarder_refused_total{reason="HttpVersionNotSupported",status="505"}'
    assert_contains "$out" 'imagebuild_forwarder_refused_total{reason="UriTooLong",status="414"}'
}

test_the_fleet_token_claims_nobody() {
    local out
    out=$(curl -si -H 'Authorization: Bearer fleet-secret' -H 'X-Imagebuild-Submitter: ops' \
        -H 'X-Imagebuild-Role: admin' "$a/v1/whoami")
    is_json_error 400 "$out"
    assert_contains "$out" "X-Imagebuild-Submitter is not accepted"
    out=$(curl -s -H 'Authorization: Bearer fleet-secret' "$a/v1/whoami")
    assert_eq "$out" '{"name":"fleet","role":"read"}'
    out=$(curl -si -H 'Authorization: Bearer fleet-secret' -H 'Content-Type: application/json' \
        -d '{"type":"sleep","arch":"x86_64","release":"40","kickstart":"text"}' "$a/v1/builds")
    is_json_error 403 "$out"
    assert_contains "$out" "may only read"
}

test_a_lost_peer_ends_the_relayed_stream_with_an_error() {
    wait_for 10 peer_up "$a" "$b" 1
    # alice's build for aarch64 is placed on b through a (with alice's own
    # token, which b checks itself).
    local out id
    out=$(curl -sf "${auth[@]}" -H 'Content-Type: application/json' \
        -d '{"type":"sleep","arch":"aarch64","release":"40","kickstart":"text\n"}' "$a/v1/builds")
    id=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])' <<<"$out")
    assert_contains "$id" "b-"
    assert_contains "$out" '"submitter":"alice"'
    curl -sN --max-time 60 -H 'Accept: text/event-stream' "$a/monitor/$id" >"$TEST_SCRATCH/sse" &
    local pid=$!
    # b's forwarder is serving the stream; then it dies.
    # Streaming: the first bytes came through a.
    wait_for 30 test -s "$TEST_SCRATCH/sse"
    run_in b systemctl kill -s KILL imagebuild-forwarder.service
    wait "$pid" || true
    out=$(cat "$TEST_SCRATCH/sse")
    assert_contains "$out" "event: error"
    assert_contains "$out" "lost host $b"
    run_in b imagebuildctl cancel "$id" >/dev/null 2>&1 || true
}

# Connections the gate's loops answered and keep: a daemon-reload leaves
# them answered by the same process; a later request of another route on
# one crosses the bridge to the request loop (answered, then the connection ends);
# kill -9 ends them all, and the socket starts a new forwarder that answers.
test_kept_loop_connections_across_reload_and_kill() {
    local out
    out=$(run_in a python3 - <<'PY'
import os, signal, socket, subprocess, time

def main_pid():
    return int(subprocess.run(["systemctl", "show", "-p", "MainPID", "--value",
                               "imagebuild-forwarder.service"],
                              capture_output=True, text=True, check=True).stdout)

def health(s):
    s.sendall(b"GET /v1/health HTTP/1.1\r\nHost: a\r\n\r\n")
    data = s.recv(4096)
    assert data.startswith(b"HTTP/1.1 200"), data

kept = [socket.create_connection(("127.0.0.2", 8470), timeout=10) for _ in range(20)]
for s in kept:
    health(s)
pid = main_pid()
subprocess.run(["systemctl", "daemon-reload"], check=True)
for s in kept[1:]:
    health(s)
assert main_pid() == pid, "the forwarder was restarted by a daemon-reload"
print("reload: 19 kept connections answered by the same process")
bridged = kept[0]
bridged.sendall(b"DELETE /v1/builds/a-1 HTTP/1.1\r\nHost: a\r\n\r\n")
reply = b""
while chunk := bridged.recv(4096):
    reply += chunk
assert reply.startswith(b"HTTP/1.1 401"), reply
assert b'"error":"Unauthorized"' in reply, reply
print("bridged: one 401 in JSON, then the end")
os.kill(pid, signal.SIGKILL)
ended = 0
for s in kept[1:]:
    s.settimeout(10)
    try:
        ended += s.recv(1) == b""
    except OSError:
        ended += 1
print(f"kill -9: {ended} of 19 kept connections ended")
for _ in range(100):
    try:
        s = socket.create_connection(("127.0.0.2", 8470), timeout=5)
        health(s)
        break
    except (OSError, AssertionError):
        time.sleep(0.1)
assert main_pid() not in (0, pid), "no new forwarder"
print("after kill -9: a new forwarder answers")
PY
    )
    echo "$out"
    assert_contains "$out" "reload: 19 kept connections answered by the same process"
    assert_contains "$out" "bridged: one 401 in JSON, then the end"
    assert_contains "$out" "kill -9: 19 of 19 kept connections ended"
    assert_contains "$out" "after kill -9: a new forwarder answers"
}

# A connection the request loop answered waits there a second, then is the
# gate's again until its next request: 200 of them idle hold no thread (each
# held its own with a thread per connection), and each is served again on
# the same connection.
test_idle_kept_alive_connections_hold_no_thread() {
    local out
    out=$(run_in a python3 - <<'PY'
import os, socket, subprocess, time

pid = int(subprocess.run(["systemctl", "show", "-p", "MainPID", "--value",
                          "imagebuild-forwarder.service"],
                         capture_output=True, text=True, check=True).stdout)
threads = lambda: len(os.listdir(f"/proc/{pid}/task"))

def answered(s):
    """One answer with a Content-Length body; its status line."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = s.recv(65536)
        assert chunk, "the connection closed before its answer"
        data += chunk
    head, body = data.split(b"\r\n\r\n", 1)
    length = next(int(line.split(b":")[1]) for line in head.split(b"\r\n")
                  if line.lower().startswith(b"content-length:"))
    while len(body) < length:
        body += s.recv(65536)
    assert b"connection: close" not in head.lower(), head
    return head.split(b"\r\n")[0].decode()

baseline = threads()
kept = []
for i in range(200):  # from 4 addresses: under the per-address cap
    s = socket.socket()
    s.settimeout(10)
    s.bind((f"127.0.1.{i % 4 + 1}", 0))
    s.connect(("127.0.0.2", 8470))
    kept.append(s)
for s in kept:  # all sent first: 200 requests on the request loop at once
    s.sendall(b"GET /metrics HTTP/1.1\r\nHost: a\r\n\r\n")
first = sum(answered(s).startswith("HTTP/1.1 200") for s in kept)
held = threads()
for _ in range(100):  # a worker that ran a handler ends after 10 s idle at most
    if threads() <= baseline + 2:
        break
    time.sleep(0.1)
idle = threads()
for s in kept:
    s.sendall(b"GET /metrics HTTP/1.1\r\nHost: a\r\n\r\n")
again = sum(answered(s).startswith("HTTP/1.1 200") for s in kept)
print(f"first: {first} of 200 answered; threads {baseline} before, {held} just after")
print(f"idle: 200 kept-alive connections, {idle - baseline} threads more than before")
print(f"again: {again} of 200 answered on the same connections")
PY
    )
    echo "$out"
    assert_contains "$out" "first: 200 of 200 answered"
    local more
    more=$(sed -n 's/^idle: 200 kept-alive connections, \(-\?[0-9]*\) threads.*/\1/p' <<<"$out")
    [ -n "$more" ] && [ "$more" -le 2 ] || {
        echo "idle kept-alive connections hold threads: $more more"
        return 1
    }
    assert_contains "$out" "again: 200 of 200 answered on the same connections"
}

# burst_while_stopped HOST REQUEST...: 300 connections to a (from three
# addresses, under its per-address cap), each sending one of the REQUESTs in
# turn, while HOST's agent is stopped for 3 s (kill -STOP: a host busy
# elsewhere); prints how many got each status line.
burst_while_stopped() {
    local host=$1 url=$a agent pid
    shift
    [ "$host" = a ] || url=$b
    curl -s -o /dev/null "$url/v1/builds/$host-99999" || true # the agent is running
    agent=$(run_in "$host" systemctl show -p MainPID --value imagebuild-agent.service)
    [ "$agent" -gt 0 ] || return 1
    run_in "$host" kill -STOP "$agent"
    "${client[@]}" burst 127.0.0.2 8470 300 127.0.1.1,127.0.1.2,127.0.1.3 "$@" \
        >"$TEST_SCRATCH/burst" &
    pid=$!
    sleep 3
    run_in "$host" kill -CONT "$agent"
    wait "$pid"
    cat "$TEST_SCRATCH/burst"
}

# Requests that each ask the local agent on a thread: every one is answered
# by the agent once it goes on (404, a build that does not exist), none is
# refused by the bus for the forwarder's connections (the system bus lets a
# user hold 256, and 64 being set up).
test_a_burst_of_agent_calls_stays_within_the_bus_limits() {
    local out
    out=$(burst_while_stopped a 'GET /v1/builds/a-99999/kickstart HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n')
    echo "$out"
    assert_eq "$out" "300 HTTP/1.1 404 Not Found"
}

# The same passed on to a peer whose agent is stopped: a's connections to b
# stay under b's per-address cap (128), so b answers every one (404) once
# its agent goes on, none 429. Half are DELETEs (passed on from a thread),
# half GETs of a kickstart (relayed on the gate's loop).
test_a_burst_relayed_to_a_peer_stays_within_its_cap() {
    local out auth_line='Authorization: Bearer alice-token\r\nConnection: close\r\n\r\n'
    out=$(burst_while_stopped b "DELETE /v1/builds/b-99999 HTTP/1.1\r\nHost: a\r\n$auth_line" \
        "GET /v1/builds/b-99999/kickstart HTTP/1.1\r\nHost: a\r\n$auth_line")
    echo "$out"
    assert_eq "$out" "300 HTTP/1.1 404 Not Found"
}

# Fleet-wide lists while the peer's agent is stopped: each list asks b for
# its part on a connection of its own; b answers every one once its agent
# goes on, so no list names b unreachable (a 429 from b would).
test_a_burst_of_fleet_lists_stays_within_the_peers_cap() {
    local out
    out=$(BURST_MARK='"unreachable":[]' burst_while_stopped b \
        'GET /v1/builds?limit=1 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n')
    echo "$out"
    assert_eq "$out" '300 HTTP/1.1 200 OK with "unreachable":[]'
}

test_case "20 unauthenticated 15 MB POSTs: 401 at the headers, peak RSS stays small" \
    test_unauthenticated_bodies_are_refused_at_the_headers
test_case "each route caps its body: 413 naming the limit at the headers; no Content-Length: 411" \
    test_each_route_caps_its_body
test_case "an upload's entries are capped: 413 naming max_upload_entries" test_upload_entries_are_capped
test_case "metrics: unknown methods and paths share one series" test_metrics_labels_stay_bounded
test_case "1000 slow connections: /v1/health answers, each gets 408 at the head deadline" \
    test_slow_clients_do_not_starve_health
test_case "per-address connection cap: 429 in JSON, other addresses served" test_per_address_cap
test_case "NUL in a JSON string or %00 in the path: 400 naming the field" \
    test_nul_is_refused_naming_the_field
test_case "duplicate or conflicting Content-Length: 400" test_duplicate_content_length_is_400
test_case "what the HTTP library refused itself (400, 414, 431, 505) is JSON" \
    test_library_errors_are_our_json
test_case "the same in a kept-alive connection's later request is JSON, and counted" \
    test_library_errors_on_a_kept_alive_connection_are_our_json
test_case "a chunked request body: 411 in JSON at the head, never the library's HTML" \
    test_a_chunked_body_is_411
test_case "a pipelining client: nothing read ahead is answered by the library, a bad head is our JSON" \
    test_a_pipelining_client_gets_one_answer_and_an_end
test_case "the fleet token reads only and cannot claim a submitter or a role" \
    test_the_fleet_token_claims_nobody
test_case "a relayed stream whose peer is lost ends with an SSE error naming the host" \
    test_a_lost_peer_ends_the_relayed_stream_with_an_error
test_case "kept loop connections: answered across daemon-reload, bridged to the request loop, ended by kill -9" \
    test_kept_loop_connections_across_reload_and_kill
test_case "200 idle kept-alive connections the request loop answered hold no thread" \
    test_idle_kept_alive_connections_hold_no_thread
test_case "300 requests asking the agent at once: every one answered, none refused by the bus" \
    test_a_burst_of_agent_calls_stays_within_the_bus_limits
test_case "300 requests relayed to a peer whose agent is stopped: every one answered, none 429" \
    test_a_burst_relayed_to_a_peer_stays_within_its_cap
test_case "300 fleet-wide lists while a peer's agent is stopped: none names the peer unreachable" \
    test_a_burst_of_fleet_lists_stays_within_the_peers_cap
finish
