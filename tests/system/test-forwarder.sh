#!/bin/bash
# imagebuild-forwarder on real systemd, without builds: socket activation,
# Type=notify, its unprivileged user, health and metrics, auth (401/403),
# the body limit (413), and peers going down and coming back across two
# hosts. Builds across hosts: test-forwarder-fleet.sh.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/forwarder-lib.sh"
sandbox_require

a=http://127.0.0.2:8470
b=http://127.0.0.3:8470

boot_host a 127.0.0.2
boot_host b 127.0.0.3
install_into a
install_into b
# An agent that starts (the forwarder asks it for /v1/builds, /v1/hosts, /metrics).
FORWARDER_EXTRA_CONF=$'[host]\narches = x86_64\n[type.noop]\ncommand = true'
export FORWARDER_EXTRA_CONF
setup_forwarder a 127.0.0.2 "$b"
setup_forwarder b 127.0.0.3 "$a"

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
    # Chunked bodies (no Content-Length) are counted as they arrive.
    status=$(head -c 1100000 /dev/zero | tr '\0' x |
        curl -s -o /dev/null -w '%{http_code}' -H 'Authorization: Bearer alice-token' \
            -H 'Transfer-Encoding: chunked' --data-binary @- "$a/v1/builds")
    assert_eq "$status" 413
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

test_down_peer_is_marked_down_and_comes_back() {
    poweroff_host b
    # Down within 5 s (interval 1 s, timeout 1 s).
    wait_for 5 peer_up "$a" "$b" 0
    assert_eq "$(http_status "$a/v1/builds/b-1")" 503
    assert_contains "$(curl -s "$a/v1/builds/b-1")" '"error":"HostDown"'
    assert_contains "$(curl -s "$a/v1/builds" | grep -o '"unreachable":\[[^]]*\]')" '"b"'
    boot_host b 127.0.0.3
    # Installing again puts the agent's default imagebuild.conf back.
    install_into b
    setup_forwarder b 127.0.0.3 "$a"
    wait_for 10 peer_up "$a" "$b" 1
    [ "$(http_status "$a/v1/builds/b-1")" != 503 ] || {
        echo "b still down for a"
        return 1
    }
}

test_case "socket-activated, Type=notify, /v1/health answers" test_socket_activation
test_case "runs as its own unprivileged user with hardening" test_runs_unprivileged
test_case "/metrics is Prometheus text with requests and latency" test_metrics_are_prometheus_text
test_case "writes need a bearer token: 401 JSON, 403 for a read-only token" test_writes_need_a_token
test_case "a body over 1 MiB is refused with 413" test_body_over_the_limit_is_413
test_case "peers see each other as up" test_peers_see_each_other
test_case "a build id is served by the host it names" test_build_ids_route_to_their_host
test_case "a powered-off peer is down within 5 s and up again after boot" test_down_peer_is_marked_down_and_comes_back
finish
