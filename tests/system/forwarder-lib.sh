# shellcheck shell=bash
# Helpers shared by the forwarder's system tests (test-forwarder*.sh).

token_hash() { printf %s "$1" | sha256sum | cut -d' ' -f1; }

# http_status ARGS...: curl's status code only.
http_status() { curl -s -o /dev/null -w '%{http_code}' "$@"; }

# unreachable_of URL: the "unreachable" member of a build list, as it is sent.
unreachable_of() { curl -s "$1" | grep -o '"unreachable":\[[^]]*\]'; }

# peer_up FORWARDER_URL PEER_URL 0|1: the forwarder's metrics say so.
peer_up() { curl -sf "$1/metrics" | grep -qx "imagebuild_forwarder_peer_up{peer=\"$2\"} $3"; }

# setup_forwarder HOST ADDRESS [PEER_URL...]: the [forwarder] section (after
# $FORWARDER_EXTRA_CONF, e.g. an agent's [host] and [type.*] sections, and
# with $FORWARDER_OPTIONS in it),
# tokens (alice, bob: write, carol: read, ops: admin, fleet), the fleet token, the user, and
# the socket on the host's own address (hosts share the network namespace).
setup_forwarder() {
    local host=$1 address=$2
    shift 2
    {
        printf '%s\n' "${FORWARDER_EXTRA_CONF:-}"
        printf '[forwarder]\npeers = %s\npublic_url = http://%s:8470\n' "$*" "$address"
        printf 'health_interval_sec = 1\nhealth_timeout_sec = 1\n'
        printf '%s\n' "${FORWARDER_OPTIONS:-}"
    } | write_into "$host" /etc/imagebuild/imagebuild.conf
    {
        echo "# name  sha256(token)  role"
        echo "alice $(token_hash alice-token)"
        echo "bob $(token_hash bob-token) write"
        echo "carol $(token_hash carol-token) read"
        echo "ops $(token_hash ops-token) admin"
        echo "fleet $(token_hash fleet-secret)"
    } | write_into "$host" /etc/imagebuild/tokens
    printf 'fleet-secret\n' | write_into "$host" /etc/imagebuild/fleet-token
    run_in "$host" systemd-sysusers
    run_in "$host" chgrp imagebuild-forwarder /etc/imagebuild/fleet-token
    run_in "$host" chmod 0640 /etc/imagebuild/fleet-token
    printf '[Socket]\nListenStream=\nListenStream=%s:8470\n' "$address" |
        write_into "$host" /etc/systemd/system/imagebuild-forwarder.socket.d/address.conf
    run_in "$host" systemctl daemon-reload
    run_in "$host" systemctl start imagebuild-forwarder.socket
}
