#!/bin/bash
# A build is someone else's input: it must not touch the host or the fleet.
# Host h runs the agent and the forwarder (with the fleet token and a tokens
# file, as a fleet member has) and builds probe types that try, from inside
# the build, to read the secrets, write the system, remount it, raise their
# privileges and reach the forwarder; each attempt must fail while the build
# still writes its artifact and succeeds. Then: the units' exposure scores,
# who reads a kickstart (D-Bus and HTTP), and webhooks to internal addresses.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/agent-lib.sh"
source "$(dirname "$0")/forwarder-lib.sh"
sandbox_require
AGENT_HOST=h
ADDR=127.0.0.91
F=http://$ADDR:8470
PROBE=/usr/local/bin/ib-hardening-probe

boot_host h $ADDR
install_into h
FORWARDER_EXTRA_CONF="[host]
arches = x86_64
releases = 40
max_parallel = 4
idle_exit_sec = 30

[type.probe]
command = $PROBE {outdir} /var/lib/imagebuild/builds/h-1/ks.cfg $ADDR
tools = $PROBE
artifacts = *.img *.txt

[type.probe-net]
command = $PROBE {outdir} /var/lib/imagebuild/builds/h-1/ks.cfg $ADDR
tools = $PROBE
network = yes
artifacts = *.img *.txt

[type.probe-root]
command = $PROBE {outdir} /var/lib/imagebuild/builds/h-1/ks.cfg $ADDR
tools = $PROBE
sandbox = none
artifacts = *.img *.txt

[type.sleep]
command = sleep 600

[type.sleep-net]
command = sleep 600
network = yes

[type.sleep-root]
command = sleep 600
sandbox = none
network = yes

[type.oemdrv]
command = xorriso -as mkisofs -volid OEMDRV -joliet -rational-rock
  -output {outdir}/oemdrv.iso {ks}
artifacts = *.iso
" setup_forwarder h $ADDR
# The probe, and the two ways up it tries: a set-uid-root program and a
# program with a file capability that would read any file.
run_in h install -m 0755 "$IMAGEBUILD_SOURCE_ROOT/tests/system/hardening-probe.sh" $PROBE
run_in h install -m 4755 /usr/bin/id /usr/local/bin/ib-suid-id
run_in h install -m 0755 /usr/bin/cat /usr/local/bin/ib-cap-cat
run_in h setcap cap_dac_read_search+ep /usr/local/bin/ib-cap-cat
run_in h systemctl stop imagebuild-agent.service 2>/dev/null || true

probe_log() { run_in h journalctl -q -o cat IMAGEBUILD_ID="$1" | grep '^PROBE\|^uid='; }
# exposure UNIT: the overall figure systemd-analyze security gives it.
exposure() {
    run_in h systemd-analyze security --no-pager "$1" | sed -n 's/^→ Overall exposure level for .*: \([0-9.]*\) .*/\1/p'
}
at_most() { awk -v v="$1" -v max="$2" 'BEGIN { exit !(v != "" && v <= max) }'; }

# h-1 is the build the probes try to read the kickstart of.
test_strict_build_escapes_nothing() {
    local first id log
    # The ways up work outside a build: the probe would see an escape.
    assert_eq "$(run_in h runuser -u nobody -- /usr/local/bin/ib-suid-id -u)" 0
    run_in h runuser -u nobody -- /usr/local/bin/ib-cap-cat /etc/shadow >/dev/null
    first=$(submit oemdrv)
    assert_eq "$first" h-1
    wait_for 60 state_is "$first" succeeded
    id=$(submit probe)
    wait_for 60 state_is "$id" succeeded
    log=$(probe_log "$id")
    echo "$log"
    assert_contains "$log" "uid=$(run_in h id -u imagebuild-build) "
    assert_contains "$log" "CapEff: 0000000000000000"
    assert_contains "$log" "CapBnd: 0000000000000000"
    for what in "read /etc/imagebuild/fleet-token" "read /etc/imagebuild/tokens" \
        "list /etc/imagebuild" "read /etc/shadow" "read another build's kickstart" \
        "write /etc" "write /usr" "write /var/lib" "remount /etc read-write" \
        "remount / read-write" "set-uid program gives root" \
        "file capability reads /etc/shadow" "become root with setpriv" \
        "new user namespace" "reach the fleet's forwarder"; do
        assert_contains "$log" "PROBE $what: blocked"
    done
    if [[ $log == *ESCAPED* ]]; then
        echo "a probe escaped"
        return 1
    fi
    # ...and the build did its work: its artifacts are staged.
    run_in h test -s "/var/lib/imagebuild/builds/$id/artifacts/probe.img"
    assert_eq "$(run_in h grep -c blocked "/var/lib/imagebuild/builds/$id/artifacts/probe.txt")" 15
    # The build user owned only its own out/ and work/; the record, the
    # kickstart and the outcome stay root's.
    assert_eq "$(run_in h stat -c %U "/var/lib/imagebuild/builds/$id/out")" imagebuild-build
    assert_eq "$(run_in h stat -c %U "/var/lib/imagebuild/builds/$id/outcome")" root
    assert_eq "$(run_in h stat -c %U "/var/lib/imagebuild/builds/$id/record.json")" root
}

# network = yes opens the network and nothing else.
test_network_yes_reaches_only_the_network() {
    local id log
    id=$(submit probe-net)
    wait_for 60 state_is "$id" succeeded
    log=$(probe_log "$id")
    assert_contains "$log" "PROBE reach the fleet's forwarder: ESCAPED"
    assert_contains "$log" "PROBE read /etc/imagebuild/fleet-token: blocked"
    assert_contains "$log" "PROBE read /etc/imagebuild/tokens: blocked"
    assert_contains "$log" "PROBE read another build's kickstart: blocked"
}

# sandbox = none: root for loop devices and mounts, yet no fleet secrets, no
# other build, no network unless asked, and only the capabilities of
# agent/unit_sandbox.cpp (CHOWN DAC_OVERRIDE DAC_READ_SEARCH FOWNER FSETID
# KILL SETGID SETUID SYS_CHROOT SYS_ADMIN MKNOD SETFCAP: no SYS_MODULE,
# SYS_RAWIO, SYS_PTRACE, SYS_TIME, NET_ADMIN...).
test_root_build_sees_no_secrets() {
    local id log
    id=$(submit probe-root)
    wait_for 60 state_is "$id" succeeded
    log=$(probe_log "$id")
    echo "$log"
    assert_contains "$log" "uid=0 "
    assert_contains "$log" "CapBnd: 00000000882400ff"
    for what in "read /etc/imagebuild/fleet-token" "read /etc/imagebuild/tokens" \
        "list /etc/imagebuild" "read another build's kickstart" "write /etc" "write /usr" \
        "reach the fleet's forwarder"; do
        assert_contains "$log" "PROBE $what: blocked"
    done
    run_in h test -s "/var/lib/imagebuild/builds/$id/artifacts/probe.img"
}

# running TYPE: submits a build of TYPE and prints its id once its unit runs.
running() {
    local id
    id=$(submit "$1")
    wait_for 20 state_is "$id" running
    wait_for 10 run_in h systemctl is-active --quiet "imagebuild-$id.service"
    echo "$id"
}

test_unit_exposure_scores() {
    local strict net root build forwarder agent rootfig netfig
    strict=$(running sleep)
    net=$(running sleep-net)
    root=$(running sleep-root)
    build=$(exposure "imagebuild-$strict.service")
    netfig=$(exposure "imagebuild-$net.service")
    rootfig=$(exposure "imagebuild-$root.service")
    forwarder=$(exposure imagebuild-forwarder.service)
    agent=$(exposure imagebuild-agent.service)
    echo "systemd-analyze security: strict build $build, strict build with network $netfig," \
        "root build $rootfig, forwarder $forwarder, agent $agent"
    at_most "$build" 3.0 || { echo "strict build unit: '$build' > 3.0"; return 1; }
    at_most "$netfig" 3.0 || { echo "strict build unit with network: '$netfig' > 3.0"; return 1; }
    at_most "$forwarder" 2.0 || { echo "forwarder: '$forwarder' > 2.0"; return 1; }
    # The agent starts units as root over D-Bus; docs/security.md has its figure.
    at_most "$agent" 2.0 || { echo "agent: '$agent' > 2.0"; return 1; }
    for id in "$strict" "$net" "$root"; do
        run_in h busctl call $A "$(path_of "$id")" $B Cancel
    done
}

# The units around a build, while they run: the submission mail (its
# sendmail, which sleeps here, holds it running) and a webhook post (to a
# documentation address that never answers: retried for its budget).
test_helper_unit_exposure_scores() {
    local id mail webhook conf=/etc/imagebuild/imagebuild.conf
    run_in h cp "$conf" "$conf.saved"
    printf '#!/bin/sh\ncat >/dev/null\nexec sleep 12\n' | write_into h /usr/local/bin/ib-slow-sendmail
    run_in h chmod 0755 /usr/local/bin/ib-slow-sendmail
    printf '[mail]\nenabled = yes\nsendmail = /usr/local/bin/ib-slow-sendmail\n' |
        run_in h sh -c "cat >>$conf"
    stop_agent h  # the next call reads the config again
    id=$(submit sleep 2 notify as 1 someone@example.org webhook s "http://192.0.2.1:9/hook")
    wait_for 20 run_in h systemctl is-active --quiet "imagebuild-$id-mail.service"
    mail=$(exposure "imagebuild-$id-mail.service")
    wait_for 20 run_in h systemctl is-active --quiet "imagebuild-webhook-$id-running.service"
    webhook=$(exposure "imagebuild-webhook-$id-running.service")
    echo "systemd-analyze security: submission mail $mail, webhook $webhook"
    run_in h busctl call $A "$(path_of "$id")" $B Cancel
    run_in h mv "$conf.saved" "$conf"
    stop_agent h
    at_most "$webhook" 2.0 || { echo "webhook unit: '$webhook' > 2.0"; return 1; }
    at_most "$mail" 3.5 || { echo "mail unit: '$mail' > 3.5"; return 1; }
}

# A kickstart may hold password hashes. On D-Bus: its submitter reads it,
# anyone else needs polkit's manage.
test_kickstart_over_dbus() {
    local ks
    ks=$(run_in h busctl call $A "$(path_of h-1)" $B GetKickstart)
    assert_contains "$ks" 's "# test kickstart'
    run_in h useradd -G imagebuild ksuser
    local own
    own=$(run_in h runuser -u ksuser -- busctl call $A $M $I Submit 'a{sv}' 4 type s sleep \
        arch s x86_64 release s 40 kickstart s "rootpw --iscrypted \$6\$secret" | awk '{print $2}' | tr -d '"')
    assert_contains "$(run_in h runuser -u ksuser -- busctl call $A "$(path_of "$own")" $B GetKickstart)" \
        'rootpw --iscrypted'
    run_in h busctl call $A "$(path_of "$own")" $B Cancel
    local denied
    denied=$(run_in h runuser -u ksuser -- gdbus call --system --dest $A --object-path "$(path_of h-1)" \
        --method $B.GetKickstart 2>&1 || true)
    assert_contains "$denied" "org.imagebuild.Error.AccessDenied"
    assert_contains "$denied" "org.imagebuild.manage"
    denied=$(run_in h runuser -u nobody -- gdbus call --system --dest $A --object-path "$(path_of "$own")" \
        --method $B.GetKickstart 2>&1 || true)
    assert_contains "$denied" "org.imagebuild.Error.AccessDenied"
}

# Over HTTP: the token that submitted it, or an admin token.
test_kickstart_over_http() {
    local id
    id=$(curl -sf -H 'Authorization: Bearer alice-token' -X POST "$F/v1/builds" \
        --data '{"type": "oemdrv", "arch": "x86_64", "release": "40", "kickstart": "rootpw --iscrypted $6$alice\n"}' |
        python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
    assert_contains "$(curl -sf -H 'Authorization: Bearer alice-token' "$F/v1/builds/$id/kickstart")" 'rootpw'
    assert_contains "$(curl -sf -H 'Authorization: Bearer ops-token' "$F/v1/builds/$id/kickstart")" 'rootpw'
    assert_eq "$(http_status "$F/v1/builds/$id/kickstart")" 401
    assert_eq "$(http_status -H 'Authorization: Bearer bob-token' "$F/v1/builds/$id/kickstart")" 403
    assert_eq "$(http_status -H 'Authorization: Bearer carol-token' "$F/v1/builds/$id/kickstart")" 403
    # The fleet token alone (an anonymous read relayed by a peer) is nobody.
    assert_eq "$(http_status -H 'Authorization: Bearer fleet-secret' "$F/v1/builds/$id/kickstart")" 401
    # A build submitted on the host (root): admin only; the forwarder gets
    # it from the agent through polkit's manage, verb kickstart.
    assert_contains "$(curl -sf -H 'Authorization: Bearer ops-token' "$F/v1/builds/h-1/kickstart")" \
        '# test kickstart'
    assert_eq "$(http_status -H 'Authorization: Bearer alice-token' "$F/v1/builds/h-1/kickstart")" 403
}

# A spec's webhook aimed at the host itself is not sent.
test_webhook_to_loopback_is_refused() {
    local id log
    id=$(submit oemdrv 1 webhook s "http://127.0.0.1:8470/v1/health")
    wait_for 60 state_is "$id" succeeded
    wait_for 30 run_in h grep -q "not sent" "/var/lib/imagebuild/builds/$id/webhook-finished"
    log=$(run_in h journalctl -q -o cat IMAGEBUILD_ID="$id")
    assert_contains "$log" "failed after 1 attempt(s): not sent: 127.0.0.1 (127.0.0.1 is a loopback address)"
    assert_contains "$log" "allow_private = yes"
    # By name as well: localhost resolves to loopback.
    id=$(submit oemdrv 1 webhook s "http://localhost:8470/hook")
    wait_for 60 state_is "$id" succeeded
    wait_for 30 run_in h grep -q "not sent" "/var/lib/imagebuild/builds/$id/webhook-finished"
    assert_contains "$(run_in h cat "/var/lib/imagebuild/builds/$id/webhook-finished")" "loopback address"
}

test_case "a strict build: unprivileged, every escape attempt fails, the artifact is made" test_strict_build_escapes_nothing
test_case "network = yes: the network, and still no secrets" test_network_yes_reaches_only_the_network
test_case "a root build (sandbox = none) never sees the fleet token, tokens or other builds" test_root_build_sees_no_secrets
test_case "systemd-analyze security: strict builds <= 3.0, forwarder <= 2.0, agent <= 2.0" test_unit_exposure_scores
test_case "systemd-analyze security: webhook unit <= 2.0, mail unit <= 3.5" \
    test_helper_unit_exposure_scores
test_case "GetKickstart: the submitter, or polkit manage" test_kickstart_over_dbus
test_case "GET /v1/builds/<id>/kickstart: the submitting token or an admin token" test_kickstart_over_http
test_case "webhooks to loopback addresses are not sent" test_webhook_to_loopback_is_refused
finish
