#!/bin/bash
# hardening-probe OUTDIR OTHER-KS FORWARDER-ADDRESS: run as a build
# (tests/system/test-hardening.sh). Tries what a hostile kickstart's tools
# would try against the host and the fleet, prints one line per attempt,
# "PROBE <what>: blocked" or "PROBE <what>: ESCAPED (...)", writes the same
# lines to OUTDIR/probe.txt as the build's artifact, and exits 0: the build
# itself must succeed.
out=$1 other_ks=$2 forwarder=$3

report() { echo "PROBE $1: $2" | tee -a "$out/probe.txt"; }
# attempt WHAT CMD...: the command must fail.
attempt() {
    local what=$1
    shift
    if "$@" >/dev/null 2>&1; then
        report "$what" "ESCAPED ($* succeeded)"
    else
        report "$what" blocked
    fi
}

: >"$out/probe.txt"
echo "uid=$(id -u) $(grep -E '^Cap(Eff|Prm|Bnd|Amb)' /proc/self/status | tr '\n\t' '  ')" |
    tee -a "$out/probe.txt"

attempt "read /etc/imagebuild/fleet-token" cat /etc/imagebuild/fleet-token
attempt "read /etc/imagebuild/tokens" cat /etc/imagebuild/tokens
attempt "list /etc/imagebuild" ls /etc/imagebuild/imagebuild.conf
attempt "read /etc/shadow" cat /etc/shadow
attempt "read another build's kickstart" cat "$other_ks"
attempt "write /etc" touch /etc/probe
attempt "write /usr" touch /usr/probe
attempt "write /var/lib" touch /var/lib/probe
attempt "remount /etc read-write" mount -o remount,rw /etc
attempt "remount / read-write" mount -o remount,rw /
attempt "set-uid program gives root" test "$(/usr/local/bin/ib-suid-id -u)" = 0
attempt "file capability reads /etc/shadow" /usr/local/bin/ib-cap-cat /etc/shadow
attempt "become root with setpriv" setpriv --reuid=0 --regid=0 --clear-groups true
attempt "new user namespace" unshare --user --map-root-user true
attempt "reach the fleet's forwarder" timeout 5 bash -c "exec 3<>/dev/tcp/$forwarder/8470"

echo "probe artifact" >"$out/probe.img"
echo "probe done"
