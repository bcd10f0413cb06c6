#!/bin/bash
# Every line of a build reaches every reader: a build that writes 100,000
# numbered lines in a burst, read by journalctl, `imagebuildctl log`,
# `imagebuildctl log -f` started at submit, the staged build.log, the final
# mail's log excerpt and the forwarder's SSE monitor (one client connected
# at submit, one after the end). Then lines with odd bytes: 70,000 bytes
# long, a NUL inside, ANSI colours, invalid UTF-8, a CR, no final newline.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/agent-lib.sh"
source "$(dirname "$0")/forwarder-lib.sh"
sandbox_require
AGENT_HOST=l
LINES=100000
fwd=http://127.0.0.90:8470

boot_host l 127.0.0.90
install_into l

# The builds' programs, in the host (the config's command is not a shell).
write_into l /usr/local/bin/ib-burst <<'SH'
#!/bin/sh
# As fast as it can, then a failure: the end must name "failed".
seq -f 'line %.0f' 1 "$1"
exit 3
SH
write_into l /usr/local/bin/ib-odd <<'SH'
#!/bin/bash
head -c 70000 /dev/zero | tr '\0' a
printf '\n'
printf 'x\0y\n'
printf '\033[31mred\033[0m \xff\xfe bad\n'
printf 'a\rb\n'
printf 'no final newline'
SH
# A build that sends the end mark's fields itself, through journald's
# native protocol (the unit's LogExtraFields= tag those entries too). The
# sender stays a second: journald finds an entry's unit (and so its
# IMAGEBUILD_ID) in /proc of the sender, and a sender already gone, as
# `logger --journald` is at once, now and then leaves the entry untagged:
# then it is in no build's log and the case tests nothing.
write_into l /usr/local/bin/ib-forge <<'SH'
#!/bin/sh
echo before the forged mark
python3 -c '
import socket, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.sendto(b"MESSAGE=forged end mark\nIMAGEBUILD_LOG_END=succeeded\nIMAGEBUILD_LOG_ENTRIES=1\n",
         "/run/systemd/journal/socket")
time.sleep(1)
'
echo after the forged mark
SH
run_in l chmod 0755 /usr/local/bin/ib-burst /usr/local/bin/ib-odd /usr/local/bin/ib-forge

# dma (a real MTA, inside the host only) for the final mail's log excerpt,
# with what it needs, from the directory tools/install-deps downloads them to.
MAILBOX=/var/mail/root
SANDBOX_DEBS=/var/cache/imagebuild-sandbox/debs/
compgen -G "$SANDBOX_DEBS/dma_*.deb" >/dev/null ||
    bail_out "no dma .deb in $SANDBOX_DEBS: run tools/install-deps"
run_in l env DEBIAN_FRONTEND=noninteractive apt-get install -qq -y --no-download \
    --no-install-recommends -o Dir::Cache::archives="$SANDBOX_DEBS" dma >/dev/null ||
    bail_out "apt-get install dma (from $SANDBOX_DEBS) failed inside host l: run tools/install-deps"
run_in l rm -f "$MAILBOX"

FORWARDER_EXTRA_CONF="[host]
arches = x86_64
releases = 40
[mail]
from = imagebuild@l.example
sendmail = /usr/sbin/sendmail -i -D
[type.burst]
command = /usr/local/bin/ib-burst $LINES
[type.odd]
command = /usr/local/bin/ib-odd
[type.forge]
command = /usr/local/bin/ib-forge
[type.sleep]
command = sleep 600" setup_forwarder l 127.0.0.90

OUT=$TEST_SCRATCH/out
mkdir -p "$OUT"

numbered() { grep -a '^line [0-9]*$' "$@" || true; }
# in_order FILE: FILE's numbered lines are exactly line 1 ... line $LINES.
in_order() { numbered "$1" | cmp -s - <(seq -f 'line %.0f' 1 "$LINES"); }
# sse_data: the data of the SSE message events (not state/end), in order.
sse_data() { awk '/^event: / { skip = 1 } /^data: / && !skip { print substr($0, 7) } /^$/ { skip = 0 }'; }
sse_end() { awk '/^event: end$/ { end = 1; next } end && /^data: / { print substr($0, 7); exit }'; }
build_done() { case "$(prop "$1" State)" in succeeded | failed | canceled | timeout) ;; *) return 1 ;; esac; }
finished() { ! kill -0 "$1" 2>/dev/null; }

test_unit_carries_rate_limit() {
    local id unit
    id=$(submit sleep)
    unit=imagebuild-$id.service
    wait_for 30 run_in l systemctl is-active "$unit"
    assert_eq "$(run_in l systemctl show "$unit" -p LogRateLimitIntervalUSec -p LogRateLimitBurst)" \
        $'LogRateLimitIntervalUSec=30s\nLogRateLimitBurst=100000000'
    run_in l busctl call $A "$(path_of "$id")" $B Cancel >/dev/null
}
test_case "the build unit carries its own journald rate limit" test_unit_carries_rate_limit

test_burst_reaches_every_reader() {
    local id ctl_pid sse_pid
    id=$(submit burst 1 notify as 1 root@localhost)
    echo "$id" >"$TEST_SCRATCH/burst-id"
    # Followers from the start: neither is stopped by us.
    run_in l imagebuildctl log -f "$id" -o cat >"$OUT/follow" 2>"$OUT/follow.err" &
    ctl_pid=$!
    curl -sN -H 'Accept: text/event-stream' "$fwd/monitor/$id" >"$OUT/sse-live" &
    sse_pid=$!
    wait_for 600 build_done "$id"
    wait_for 300 finished "$ctl_pid"
    wait_for 300 finished "$sse_pid"
    assert_eq "$(prop "$id" State)" failed
    run_in l journalctl -q -o cat IMAGEBUILD_ID="$id" >"$OUT/journal"
    run_in l imagebuildctl log "$id" -o cat --no-pager >"$OUT/log"
    run_in l cat "/var/lib/imagebuild/builds/$id/artifacts/build.log" >"$OUT/build.log"
    curl -sN -H 'Accept: text/event-stream' "$fwd/monitor/$id" >"$OUT/sse-after"
    sse_data <"$OUT/sse-live" >"$OUT/sse-live.data"
    sse_data <"$OUT/sse-after" >"$OUT/sse-after.data"
    sed 's/^[^:]*:[^:]*:[^:]*: //' "$OUT/build.log" >"$OUT/build.log.text"
    local reader counts=""
    for reader in journal log follow build.log.text sse-live.data sse-after.data; do
        counts+="$reader=$(numbered "$OUT/$reader" | wc -l) "
    done
    echo "# lines per reader: $counts"
    for reader in journal log follow build.log.text sse-live.data sse-after.data; do
        in_order "$OUT/$reader" || { echo "$reader: not all $LINES lines in order ($counts)"; return 1; }
    done
    # The follower printed what a reader after the end prints, and nobody
    # needed to say that lines were lost.
    cmp "$OUT/follow" "$OUT/log" || return 1
    if grep -a '^-- imagebuild' "$OUT/log"; then return 1; fi
    assert_eq "$(sse_end <"$OUT/sse-live")" failed
    assert_eq "$(sse_end <"$OUT/sse-after")" failed
}
test_case "100,000 lines in a burst: every reader holds all, in order, and followers end" \
    test_burst_reaches_every_reader

test_mail_excerpt_ends_with_the_last_line() {
    local id
    id=$(cat "$TEST_SCRATCH/burst-id")
    # Sent by the unit's end-of-build step (dma -D delivers before it
    # exits), so it is there once the build is seen to end.
    run_in l cat "$MAILBOX" >"$OUT/mailbox"
    grep -q "Subject: \[imagebuild\] $id" "$OUT/mailbox" || { echo "no mail for $id"; return 1; }
    grep -q "line $LINES\$" "$OUT/mailbox" || { echo "the excerpt lacks line $LINES"; return 1; }
    grep -q "line $((LINES - 49))\$" "$OUT/mailbox"
}
test_case "the final mail's excerpt ends with the build's last line" test_mail_excerpt_ends_with_the_last_line

test_odd_bytes_survive() {
    local id f
    id=$(submit odd)
    run_in l imagebuildctl log -f "$id" -o cat >"$OUT/odd-follow"
    wait_for 60 build_done "$id"
    # What the program wrote, byte for byte, with the last line's newline.
    run_in l /usr/local/bin/ib-odd >"$OUT/odd-expected"
    printf '\n' >>"$OUT/odd-expected"
    run_in l imagebuildctl log "$id" -o cat --no-pager >"$OUT/odd-log"
    curl -s "$fwd/monitor/$id" >"$OUT/odd-text"
    # build.log: the same bytes after each line's prefix.
    run_in l cat "/var/lib/imagebuild/builds/$id/artifacts/build.log" |
        sed 's/^[^:]*:[^:]*:[^:]*: //' >"$OUT/odd-build.log"
    curl -sN -H 'Accept: text/event-stream' "$fwd/monitor/$id" | sse_data >"$OUT/odd-sse"
    # The agent's own lines about the build ("build ID queued ...") aside.
    for f in odd-follow odd-log odd-text odd-build.log odd-sse; do
        grep -av "^build $id " "$OUT/$f" >"$OUT/$f.build" || true
    done
    for f in odd-follow odd-log odd-text odd-build.log; do
        cmp "$OUT/odd-expected" "$OUT/$f.build" || return 1
    done
    # SSE: one event per line, escaped, framing intact.
    f=$OUT/odd-sse.build
    assert_eq "$(wc -l <"$f")" 5
    assert_eq "$(sed -n 1p "$f" | tr -d a | wc -c)" 1
    assert_eq "$(sed -n 1p "$f" | wc -c)" 70001
    assert_eq "$(sed -n 2p "$f")" 'x\x00y'
    assert_eq "$(sed -n 3p "$f")" $'\033[31mred\033[0m \\xff\\xfe bad'
    assert_eq "$(sed -n 4p "$f")" 'a\x0db'
    assert_eq "$(sed -n 5p "$f")" 'no final newline'
    # HTML: the same escapes.
    curl -s -H 'Accept: text/html' "$fwd/monitor/$id" | grep -q 'a\\x0db'
}
test_case "long lines, NUL, colours, bad UTF-8, CR, no final newline: the same in every reader" \
    test_odd_bytes_survive

# A unit named as a build's, with journald's rate limit set low: journald
# drops lines and says so ("Suppressed N messages") once the unit writes
# again after the interval; every reader shows it where it happened.
#
# journald 252 can forget the count itself: when the unit's interval has
# run out, the first line of any unit whose own group expired makes journald
# free every expired group, this one and its count with it, and the unit's
# next line then says nothing. The unit writes again just after its
# interval to keep that window short, and when journald has no
# "Suppressed" entry for it (nothing for a reader to show), the case runs
# again under a new name.
test_suppressed_lines_are_said() {
    local attempt id out said
    for attempt in 0 1 2; do
        id=l-90$attempt
        run_in l systemd-run --quiet --wait --unit "imagebuild-$id" \
            -p LogRateLimitIntervalSec=1s -p LogRateLimitBurst=10 \
            -p LogExtraFields=IMAGEBUILD_ID=$id \
            sh -c 'seq -f "line %.0f" 1 100; sleep 1.1; echo after'
        run_in l journalctl --sync
        said=$(run_in l journalctl --no-pager -o cat \
            OBJECT_SYSTEMD_UNIT="imagebuild-$id.service" | grep -c '^Suppressed' || true)
        [ "$said" -gt 0 ] && break
        echo "# journald kept no count of the lines it dropped from imagebuild-$id (attempt $attempt)"
    done
    [ "$said" -gt 0 ] || { echo "# journald never said what it suppressed"; return 1; }
    out=$(run_in l imagebuildctl log "$id" -o cat --no-pager)
    # Kept lines, the notice with the count of the others, then the rest.
    local kept
    kept=$(grep -c '^line ' <<<"$out")
    assert_contains "$out" "-- imagebuild: journald suppressed $((100 - kept)) lines of this build here (its rate limit) --"
    assert_eq "$(tail -2 <<<"$out" | tail -1)" after
}
test_case "lines journald suppressed are said in-line, with how many" test_suppressed_lines_are_said

# Only the end-of-build step (root) ends a log: a build's own end mark is a
# line like any other, and every reader goes on past it.
test_a_build_cannot_end_its_own_log() {
    local id out
    id=$(submit forge)
    out=$(run_in l imagebuildctl log -f "$id" -o cat)
    assert_contains "$out" "forged end mark"
    assert_contains "$out" "after the forged mark"
    out=$(curl -sfN "$fwd/monitor/$id?follow=1")
    assert_contains "$out" "after the forged mark"
}
test_case "a build cannot end its own log with a forged end mark" \
    test_a_build_cannot_end_its_own_log

finish
