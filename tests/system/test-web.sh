#!/bin/bash
# The web interface (docs/web.md) in a real browser: Debian's chromium,
# headless, driven by chromedriver from python3-selenium (web_browser.py).
# Two hosts with agents and socket-activated forwarders:
#   a 127.0.0.70: oemdrv for x86_64/40     b 127.0.0.71: oemdrv for aarch64/41
# The browser runs INSIDE host a (a transient unit there), so its profile,
# HOME and temporary files live in the sandbox's own /tmp and die with it.
# Screenshots go to $IMAGEBUILD_BUILD_ROOT/web-screenshots.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/forwarder-lib.sh"
sandbox_require
for tool in /usr/bin/chromium /usr/bin/chromedriver; do
    if [ ! -x "$tool" ]; then
        echo "1..0 # SKIP $tool is missing (tools/install-deps installs chromium and chromium-driver)"
        exit 77
    fi
done
if ! /usr/bin/python3 -c 'import selenium' 2>/dev/null; then
    echo "1..0 # SKIP python3-selenium is missing (tools/install-deps installs it)"
    exit 77
fi

a=http://127.0.0.70:8470
b=http://127.0.0.71:8470
auth=(-H 'Authorization: Bearer alice-token')
shots=$IMAGEBUILD_BUILD_ROOT/web-screenshots
mkdir -p "$shots"

host_conf() {
    cat <<CONF
[host]
arches = $1
releases = $2
max_parallel = 2
idle_exit_sec = 0

[type.oemdrv]
command = xorriso -as mkisofs -volid OEMDRV -joliet -rational-rock
  -output {outdir}/oemdrv.iso {ks}
tools = xorriso
sandbox = strict
artifacts = *.iso
${3:-}
CONF
}

boot_host a 127.0.0.70
boot_host b 127.0.0.71
install_into a
install_into b
# "sleep" runs until it is cancelled (the Cancel button's case).
# "silent" falls silent for its stall_timeout, writes once more, and falls
# silent again (the stalled badge's case).
FORWARDER_EXTRA_CONF=$(host_conf x86_64 40 $'[type.sleep]\ncommand = sleep 600\ntools = sleep\n[type.silent]\ncommand = sh -c "echo start; sleep 8; echo again; sleep 600"\ntools = sh sleep\nstall_timeout = 2') setup_forwarder a 127.0.0.70 "$b"
# Only b builds "bonly": the form offers it while b is up, and not once it is down.
FORWARDER_EXTRA_CONF=$(host_conf aarch64 41 $'[type.bonly]\ncommand = true') setup_forwarder b 127.0.0.71 "$a"

# The example kickstart tree, as a tar, and flattened (for comparisons and
# for the paste fallback), in host a's own /tmp.
run_in a tar -C "$IMAGEBUILD_SOURCE_ROOT/examples/oemdrv" -czf /tmp/web-tree.tar.gz .
run_in a imagebuildctl ksflatten -o /tmp/web-flat.ks "$IMAGEBUILD_SOURCE_ROOT/examples/oemdrv/workstation.ks"

# browse CASE ARGS...: one case of web_browser.py in a transient unit on a.
browse() {
    run_in a systemd-run --quiet --wait --pipe --collect -p RuntimeMaxSec=600 \
        --setenv=HOME=/tmp/web-home --setenv=TMPDIR=/tmp/web-tmp \
        --setenv=XDG_CONFIG_HOME=/tmp/web-home/.config --setenv=XDG_CACHE_HOME=/tmp/web-home/.cache \
        --setenv=PYTHONDONTWRITEBYTECODE=1 --setenv=LANG=C.UTF-8 \
        sh -c 'mkdir -p "$HOME" "$TMPDIR" && exec /usr/bin/python3 "$@"' sh \
        "$IMAGEBUILD_SOURCE_ROOT/tests/system/web_browser.py" "$1" "$a" "$shots" "${@:2}" </dev/null
}

json_get() { python3 -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"; }
both_healthy() {
    curl -sf "$a/v1/hosts" | python3 -c '
import json, sys
hosts = json.load(sys.stdin)["hosts"]
sys.exit(0 if len(hosts) == 2 and all(h["healthy"] for h in hosts) else 1)'
}
# Does POST /v1/builds take multipart/form-data (the tree upload)? A form
# without a type is refused either way: as a form, or as JSON it is not.
multipart_upload() {
    ! curl -s "${auth[@]}" -F arch=x86_64 "$a/v1/builds" | grep -q 'not valid JSON'
}

test_submit_a_tree_and_download_the_iso() {
    wait_for 20 both_healthy
    local out tree=/tmp/web-tree.tar.gz
    if ! multipart_upload; then
        echo "POST /v1/builds takes no multipart upload here: pasting the flattened kickstart"
        tree=-
    fi
    out=$(browse submit-tree "$tree" workstation.ks /tmp/web-flat.ks) || { echo "$out"; return 1; }
    echo "$out"
    sed -n 's/^BUILD_ID=//p' <<<"$out" >"$TEST_SCRATCH/build_id"
    local id
    id=$(cat "$TEST_SCRATCH/build_id")
    assert_eq "$(curl -sf "$a/v1/builds/$id" | json_get state)" succeeded
    # The kickstart it ran with is the tree flattened.
    assert_eq "$(curl -sf "${auth[@]}" "$a/v1/builds/$id/kickstart")" "$(run_in a cat /tmp/web-flat.ks)"
    # It may hold password hashes: not an open read.
    assert_eq "$(curl -s -o /dev/null -w '%{http_code}' "$a/v1/builds/$id/kickstart")" 401
}

test_dashboard_shows_hosts_and_builds() {
    browse dashboard a,b "$(cat "$TEST_SCRATCH/build_id")"
}

test_http_side_of_the_pages() {
    local id headers
    id=$(cat "$TEST_SCRATCH/build_id")
    for path in / /stats /submit "/builds/$id"; do
        headers=$(curl -sf -D - -o /dev/null "$a$path")
        assert_contains "$headers" "Content-Security-Policy: default-src 'none'; script-src 'self'"
        [[ $headers != *unsafe-inline* ]] || { echo "$path allows inline script"; return 1; }
    done
    # The monitor page for browsers too, and it reads without JavaScript.
    headers=$(curl -sf -D - -H 'Accept: text/html' "$a/monitor/$id")
    assert_contains "$headers" "Content-Security-Policy: default-src 'none'"
    assert_contains "$headers" "Added to ISO image"
    [[ $headers != *"<script>"* ]] || { echo "inline script on the monitor page"; return 1; }
    # Static files: types, revalidation, nothing else reachable.
    assert_contains "$(curl -sf -D - -o /dev/null "$a/static/dashboard.js")" "Content-Type: text/javascript"
    local etag
    etag=$(curl -sf -D - -o /dev/null "$a/static/app.css" | sed -n 's/^ETag: //Ip' | tr -d '\r')
    assert_eq "$(http_status -H "If-None-Match: $etag" "$a/static/app.css")" 304
    assert_eq "$(http_status "$a/static/..%2F..%2Findex.html")" 404
    assert_eq "$(http_status "$a/static/../../etc/passwd")" 404
    assert_eq "$(http_status --path-as-is "$a/static/../../etc/passwd")" 404
    # Debian's Chart.js, from its package's directory; nothing else there.
    if [ -f /usr/share/javascript/chart.js/chart.min.js ]; then
        assert_contains "$(curl -sf -D - -o /dev/null "$a/javascript/chart.js/chart.min.js")" "Content-Type: text/javascript"
    fi
    assert_eq "$(http_status --path-as-is "$a/javascript/chart.js/../../../etc/passwd")" 404
    assert_eq "$(http_status "$a/javascript/chart.js/..%2F..%2Fdoc%2Flibjs-chart.js%2Fcopyright")" 404
    # The list the dashboard polls: filtered on the server, paged, 304 when unchanged.
    local list
    list=$(curl -sf "$a/v1/builds?host=a&state=succeeded&limit=1&order=newest")
    assert_contains "$list" "\"id\":\"$id\""
    assert_contains "$list" '"limit":1'
    assert_eq "$(curl -sf "$a/v1/builds?host=b" | json_get total)" 0
    etag=$(curl -sf -D - -o /dev/null "$a/v1/builds?limit=50&order=newest" | sed -n 's/^ETag: //Ip' | tr -d '\r')
    assert_eq "$(http_status -H "If-None-Match: $etag" "$a/v1/builds?limit=50&order=newest")" 304
    assert_eq "$(http_status "$a/v1/builds?state=sleeping")" 400
    # Asked through b, a's build is there too (b forwards with the filters).
    assert_contains "$(curl -sf "$b/v1/builds?arch=x86_64&limit=5")" "\"id\":\"$id\""
}

test_markup_in_user_input_is_text() {
    browse xss
}

test_refused_token_is_explained() {
    browse no-token
}

# GET /v1/whoami: what the sign-in box asks before it keeps a token.
test_whoami_names_the_token() {
    local out
    out=$(curl -sf -H 'Authorization: Bearer alice-token' "$a/v1/whoami")
    assert_eq "$(json_get name <<<"$out")" alice
    assert_eq "$(json_get role <<<"$out")" write
    out=$(curl -sf -H 'Authorization: Bearer carol-token' "$b/v1/whoami")
    assert_eq "$(json_get name <<<"$out")" carol
    assert_eq "$(json_get role <<<"$out")" read
    # No token (reads are open here, but there is nobody to name) or a wrong one: 401, JSON.
    assert_eq "$(http_status "$a/v1/whoami")" 401
    assert_eq "$(http_status -H 'Authorization: Bearer wrong-token' "$a/v1/whoami")" 401
    out=$(curl -s -H 'Authorization: Bearer wrong-token' "$a/v1/whoami")
    assert_eq "$(json_get error <<<"$out")" Unauthorized
    assert_contains "$(curl -s "$a/v1/whoami" | json_get message)" "Authorization: Bearer"
}

# A build that runs until cancelled, submitted over HTTP (so the forwarder,
# which cancels for the page, is its submitter as polkit sees it).
test_cancel_from_the_build_page() {
    local id
    id=$(curl -sf "${auth[@]}" -X POST "$a/v1/builds" \
        --data '{"type": "sleep", "arch": "x86_64", "release": "40", "kickstart": "lang en_US.UTF-8\n", "name": "web-cancel"}' |
        json_get id)
    browse cancel "$id"
    assert_eq "$(curl -sf "$a/v1/builds/$id" | json_get result)" cancelled
}

# The stalled badge comes and goes live on the build page.
test_stalled_badge_on_the_build_page() {
    local id
    id=$(curl -sf "${auth[@]}" -X POST "$a/v1/builds" \
        --data '{"type": "silent", "arch": "x86_64", "release": "40", "kickstart": "lang en_US.UTF-8\n", "name": "web-stalled"}' |
        json_get id)
    browse stalled "$id"
    curl -sf "${auth[@]}" -X DELETE "$a/v1/builds/$id" >/dev/null
}

test_keyboard_alone() {
    browse keyboard
}

test_text_contrast() {
    browse contrast "$(cat "$TEST_SCRATCH/build_id")"
}

test_readable_on_a_phone() {
    browse phone "$(cat "$TEST_SCRATCH/build_id")"
}

test_bad_tree_is_refused_at_the_field() {
    if ! multipart_upload; then
        echo "POST /v1/builds takes no multipart upload here"
        return 1
    fi
    run_in a /usr/bin/python3 - <<'PY'
import io, tarfile
with tarfile.open('/tmp/web-bad.tar', 'w') as tar:
    for name in ('ks.cfg', '../outside.ks'):
        data = b'%include ../outside.ks\n' if name == 'ks.cfg' else b'rootpw x\n'
        info = tarfile.TarInfo(name)
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
PY
    browse bad-upload /tmp/web-bad.tar
}

# Debian's Chart.js is what draws the charts: without it on this machine
# (tools/install-deps installs libjs-chart.js) the two cases below fail, saying so.
chartjs=/usr/share/javascript/chart.js/chart.min.js
need_chartjs() {
    [ -f "$chartjs" ] || {
        echo "$chartjs is missing: install libjs-chart.js (tools/install-deps)"
        return 1
    }
}

test_stats_page_draws_the_fleets_days() {
    need_chartjs || return 1
    browse stats "$(cat "$TEST_SCRATCH/build_id")"
}

# Inside host a only (its /usr is an overlay): the package's file moved away
# and back, whatever the case's outcome.
test_stats_page_without_chartjs() {
    need_chartjs || return 1
    run_in a mv "$chartjs" /var/tmp/chart.min.js.away
    assert_eq "$(http_status "$a/javascript/chart.js/chart.min.js")" 404 || {
        run_in a mv /var/tmp/chart.min.js.away "$chartjs"
        return 1
    }
    local rc=0
    browse stats-no-chartjs "$(cat "$TEST_SCRATCH/build_id")" || rc=$?
    run_in a mv /var/tmp/chart.min.js.away "$chartjs"
    return $rc
}

test_finished_log_without_javascript() {
    browse no-javascript "$(cat "$TEST_SCRATCH/build_id")"
}

# 10,000 finished builds written in the agent's on-disk format on host b
# (the agent reads them when it starts), then the dashboard on a, measured.
local_total_is() { [ "$(curl -sf "$b/v1/builds?scope=local&limit=1&offset=0" | json_get total)" = "$1" ]; }
test_dashboard_with_10000_builds() {
    local n=10000
    run_in b /usr/bin/python3 - "$n" <<'PY'
import json, os, sys
n = int(sys.argv[1])
for i in range(1, n + 1):
    d = f'/var/lib/imagebuild/web-staging/b-{i}'
    os.makedirs(d)
    t = 1700000000000000 + i * 1000000
    record = {'id': f'b-{i}', 'number': i, 'type': 'oemdrv', 'arch': 'aarch64', 'release': '41',
              'name': f'fleet-{i}', 'notify': [], 'timeout_sec': 0, 'labels': {'submitted_by': 'bench'},
              'state': 'succeeded', 'result': 'succeeded', 'exit_status': 0,
              'unit': f'imagebuild-b-{i}.service', 'submitter_uid': 0, 'submitted_at': t,
              'started_at': t + 1000000, 'finished_at': t + 61000000, 'timeout_usec': 0,
              'monitor_url': '', 'artifacts': [], 'cancel_requested': False}
    with open(f'{d}/record.json', 'w') as f:
        json.dump(record, f)
PY
    # Moved in while the agent is stopped: it reads all of them when the
    # next call starts it.
    run_in b sh -c 'systemctl stop imagebuild-agent.service &&
        mkdir -p /var/lib/imagebuild/builds &&
        find /var/lib/imagebuild/web-staging -mindepth 1 -maxdepth 1 -exec mv -t /var/lib/imagebuild/builds {} + &&
        echo "$1" >/var/lib/imagebuild/next-id' sh "$n"
    wait_for 60 local_total_is "$n"
    wait_for 30 both_healthy
    # The server's part, without a browser: b's own 10,000 (what a asks b
    # for), a's merged page, and the hosts. Median of 5, printed.
    local what url
    for what in "b, its own builds:$b/v1/builds?scope=local&order=newest&limit=50" \
        "a, the fleet's builds:$a/v1/builds?order=newest&limit=50" "a, the hosts:$a/v1/hosts"; do
        url=${what#*:}
        printf 'PERF server, %s: median %s ms over 5 requests\n' "${what%%:*}" "$(
            for _ in 1 2 3 4 5; do curl -sf -o /dev/null -w '%{time_total}\n' "$url"; done |
                sort -n | sed -n 3p | awk '{printf "%.0f", $1 * 1000}')"
    done
    browse performance "$n"
}

b_down() {
    curl -sf "$a/v1/hosts" | python3 -c '
import json, sys
hosts = json.load(sys.stdin)["hosts"]
sys.exit(0 if any(h["hostname"] == "b" and not h["healthy"] for h in hosts) else 1)'
}

test_types_of_a_down_host_are_not_offered() {
    browse offered-types oemdrv,bonly -
    poweroff_host b
    wait_for 15 b_down
    browse offered-types oemdrv bonly
}

test_case "a kickstart tree submitted through the form builds; the ISO downloads with its sha256" test_submit_a_tree_and_download_the_iso
test_case "the dashboard shows both hosts and the fleet's builds, filters, fits a phone" test_dashboard_shows_hosts_and_builds
test_case "pages carry the CSP; static files revalidate; the build list filters, pages, 304s" test_http_side_of_the_pages
test_case "markup in a name, a label or a kickstart is shown as text and never runs" test_markup_in_user_input_is_text
test_case "a wrong token is refused at sign-in and not kept; a token-less or revoked submit is refused" test_refused_token_is_explained
test_case "GET /v1/whoami names a token and its role; none or a wrong one is 401" test_whoami_names_the_token
test_case "a running build is cancelled from its page, signed in; signed out Cancel is disabled" test_cancel_from_the_build_page
test_case "a silent build's page shows the stalled badge live; it goes when the log writes again" test_stalled_badge_on_the_build_page
test_case "keyboard alone: Tab order reaches filters, sign-in, fields and submit with a visible ring; Enter submits" test_keyboard_alone
test_case "text on the dashboard, a build page and the form has at least 4.5:1 contrast" test_text_contrast
test_case "on a 375 px phone the dashboard, a build page and the form scroll no page sideways" test_readable_on_a_phone
test_case "a tar with an entry outside its tree is refused next to the file field" test_bad_tree_is_refused_at_the_field
test_case "a finished build's log reads without JavaScript" test_finished_log_without_javascript
test_case "/stats draws the last 14 days with Debian's Chart.js; a build page its time bar and resources" \
    test_stats_page_draws_the_fleets_days
test_case "without libjs-chart.js the pages say so and show the numbers as tables" \
    test_stats_page_without_chartjs
test_case "dashboard first paint with 10,000 builds in the fleet (printed)" test_dashboard_with_10000_builds
test_case "the form offers only what a healthy host builds (b off: its type is gone)" test_types_of_a_down_host_are_not_offered
finish
