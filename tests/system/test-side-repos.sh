#!/bin/bash
# Side repositories: RPMs uploaded with `imagebuildctl build --rpm` become a
# createrepo_c repository in the build's state directory, named by a repo
# line at the top of the kickstart the build runs; --repo, --updates and the
# legacy request file's keys add remote ones. Tiny RPMs are built here with
# rpmbuild; the repository is checked with its own metadata, with dnf, and
# from inside the build's strict sandbox. Every bad upload is refused by name
# before anything runs, leaving nothing on disk. Over HTTP the RPMs are `rpm`
# files of a multipart POST /v1/builds (curl -F, imagebuildctl -H): host b's
# forwarder builds nothing for release 39 and passes the form on to a.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/forwarder-lib.sh"
sandbox_require
for tool in rpmbuild createrepo_c dnf; do
    command -v "$tool" >/dev/null || bail_out "$tool is not installed (tools/install-deps)"
done

a=http://127.0.0.46:8470
b=http://127.0.0.47:8470
boot_host a 127.0.0.46
boot_host b 127.0.0.47
install_into a
install_into b

FORWARDER_EXTRA_CONF=$(cat <<'EOF'
[host]
arches = x86_64
releases = 39 rawhide
idle_exit_sec = 0
min_free = 0

[repositories]
max_upload = 256K
updates = http://mirror.lan/updates/{release}/{arch}/

[release.rawhide]
updates =

# Strict sandbox (the default): keep-ks keeps the kickstart it ran with and
# reads its side repository's metadata from where the kickstart says it is.
[type.keep]
command = /usr/local/bin/keep-ks {ks} {outdir}
artifacts = used.ks repomd.xml
EOF
) setup_forwarder a 127.0.0.46 "$b"
FORWARDER_EXTRA_CONF=$'[host]\narches = x86_64\nreleases = 40\n[type.keep]\ncommand = true' \
    setup_forwarder b 127.0.0.47 "$a"
write_into a /usr/local/bin/keep-ks <<'EOF'
#!/bin/sh
set -e
cp "$1" "$2/used.ks"
repo=$(sed -n 's|^repo --name=imagebuild-side --baseurl=file://||p' "$1")
if [ -n "$repo" ]; then
    cat "$repo/repodata/repomd.xml" >"$2/repomd.xml"
fi
EOF
run_in a chmod 755 /usr/local/bin/keep-ks

ctl() { run_in a imagebuildctl --no-pager "$@"; }

work=/var/tmp/side-test
write_into a $work/ks.cfg <<'EOF'
lang en_US.UTF-8
%packages
imagebuild-tiny
%end
EOF

# rpm NAME ARCH [BYTES]: a package with one file of BYTES random bytes.
make_rpm() {
    local name=$1 arch=$2 bytes=${3:-16}
    run_in a sh -ec '
        top=$1/top; mkdir -p "$top/SOURCES"
        head -c "$4" /dev/urandom >"$top/SOURCES/payload"
        cat >"$1/$2.spec" <<EOF
Name: $2
Version: 1.0
Release: 1
Summary: a package of the side repository test
License: MIT
$( [ "$3" = noarch ] && echo "BuildArch: noarch" )
%description
test
%install
mkdir -p %{buildroot}/usr/share/$2
cp %{_sourcedir}/payload %{buildroot}/usr/share/$2/
%files
/usr/share/$2/payload
EOF
        rpmbuild -bb --quiet --target "$3" --define "_topdir $top" "$1/$2.spec" >/dev/null 2>&1
        cp "$top/RPMS/$3/$2-1.0-1.$3.rpm" "$1/"
    ' sh "$work" "$name" "$arch" "$bytes"
}

build_dirs() { run_in a sh -c 'ls /var/lib/imagebuild/builds | sort'; }
uploads_left() { run_in a sh -c 'ls -A /var/lib/imagebuild/uploads 2>/dev/null'; }

test_make_packages() {
    make_rpm imagebuild-tiny noarch
    make_rpm imagebuild-native x86_64
    make_rpm imagebuild-foreign aarch64
    make_rpm imagebuild-big noarch 400000
    run_in a sh -c "echo 'not a package' >$work/text.rpm"
    run_in a cp $work/imagebuild-tiny-1.0-1.noarch.rpm $work/again.rpm
    run_in a rpm -qp --nosignature $work/imagebuild-native-1.0-1.x86_64.rpm
}

side_id=
test_side_repository_builds() {
    local out rc=0 id dir
    out=$(ctl build $work/ks.cfg --type keep --arch x86_64 --release 39 --wait \
        --rpm $work/imagebuild-tiny-1.0-1.noarch.rpm \
        --rpm $work/imagebuild-native-1.0-1.x86_64.rpm \
        --repo extras=https://example.org/extras/ --updates 2>&1) || rc=$?
    echo "$out"
    assert_eq "$rc" 0
    id=$(sed -n 's/^Submitted build \(a-[0-9]*\)\.$/\1/p' <<<"$out")
    [ -n "$id" ]
    echo "$id" >"$TEST_SCRATCH/side-id"
    dir=/var/lib/imagebuild/builds/$id
    # createrepo_c's metadata: repomd.xml names primary, which lists both.
    run_in a test -f $dir/repo/repodata/repomd.xml
    local primary
    primary=$(run_in a sh -c "zcat $dir/repo/repodata/*-primary.xml.gz")
    assert_contains "$primary" "<name>imagebuild-tiny</name>"
    assert_contains "$primary" "<name>imagebuild-native</name>"
    assert_contains "$primary" '<arch>x86_64</arch>'
    # dnf reads it as a repository.
    local query
    query=$(run_in a dnf -q --releasever=39 --setopt=reposdir=/nonexistent \
        --setopt=cachedir=/var/tmp/side-dnf-cache \
        --repofrompath=side,file://$dir/repo --repo=side repoquery --qf '%{name}-%{evr}.%{arch}')
    echo "$query"
    assert_contains "$query" "imagebuild-tiny-1.0-1.noarch"
    assert_contains "$query" "imagebuild-native-1.0-1.x86_64"
    # The kickstart the build ran (its artifact) and the one stored are the
    # same, with the repo lines at the top.
    local used stored
    used=$(run_in a cat $dir/artifacts/used.ks)
    stored=$(run_in a cat $dir/ks.cfg)
    assert_eq "$used" "$stored"
    assert_contains "$used" "repo --name=imagebuild-side --baseurl=file://$dir/repo"
    assert_contains "$used" "repo --name=extras --baseurl=https://example.org/extras/"
    assert_contains "$used" "repo --name=imagebuild-updates --baseurl=http://mirror.lan/updates/39/x86_64/"
    assert_contains "$used" "imagebuild-tiny"
    # GetKickstart returns the same text.
    assert_contains "$(run_in a busctl call org.imagebuild.Agent1 \
        "/org/imagebuild/Agent1/build/$(sed 's/-/_2d/' <<<"$id")" org.imagebuild.Build1 GetKickstart)" \
        "repo --name=imagebuild-side"
    # The build read the repository's metadata from inside its sandbox.
    assert_contains "$(run_in a cat $dir/artifacts/repomd.xml)" "<repomd"
    # manifest.json: each package with its NEVRA and sha256.
    local manifest sum
    manifest=$(run_in a cat $dir/artifacts/manifest.json)
    sum=$(run_in a sha256sum $work/imagebuild-native-1.0-1.x86_64.rpm | cut -d' ' -f1)
    assert_eq "$(jq -r '.side_packages[] | select(.name == "imagebuild-native") | .nevra' <<<"$manifest")" \
        "imagebuild-native-1.0-1.x86_64"
    assert_eq "$(jq -r '.side_packages[] | select(.name == "imagebuild-native") | .sha256' <<<"$manifest")" "$sum"
    assert_eq "$(jq -r '.side_packages | length' <<<"$manifest")" 2
    assert_eq "$(uploads_left)" ""
}

test_retry_gets_its_own_repository() {
    local old new out
    old=$(cat "$TEST_SCRATCH/side-id")
    out=$(ctl retry "$old" --wait 2>&1)
    echo "$out"
    new=$(sed -n 's/^Submitted build \(a-[0-9]*\) (retry of .*$/\1/p' <<<"$out")
    [ -n "$new" ]
    local ks
    ks=$(run_in a cat /var/lib/imagebuild/builds/$new/artifacts/used.ks)
    assert_contains "$ks" "repo --name=imagebuild-side --baseurl=file:///var/lib/imagebuild/builds/$new/repo"
    assert_eq "$(grep -c '^repo --name=imagebuild-side' <<<"$ks")" 1
    run_in a test -f /var/lib/imagebuild/builds/$new/repo/imagebuild-tiny-1.0-1.noarch.rpm
}

# refused EXIT TEXT ARGS...: the build is refused with EXIT and TEXT, and no
# build directory or upload is left behind.
refused() {
    local code=$1 text=$2 before out rc=0
    shift 2
    before=$(build_dirs)
    out=$(ctl build $work/ks.cfg --type keep --arch x86_64 --release 39 "$@" 2>&1) || rc=$?
    echo "$out"
    assert_eq "$rc" "$code"
    assert_contains "$out" "$text"
    assert_eq "$(build_dirs)" "$before"
    assert_eq "$(uploads_left)" ""
}

test_not_an_rpm() {
    refused 2 "text.rpm is not an RPM package" --rpm $work/text.rpm \
        --rpm $work/imagebuild-tiny-1.0-1.noarch.rpm
}

test_other_arch() {
    refused 2 "imagebuild-foreign-1.0-1.aarch64.rpm is imagebuild-foreign-1.0-1.aarch64, a package for aarch64; this build is for x86_64: only x86_64 and noarch packages are accepted" \
        --rpm $work/imagebuild-foreign-1.0-1.aarch64.rpm
}

test_duplicate_nevra() {
    refused 2 "are the same package, imagebuild-tiny-1.0-1.noarch; give each package once" \
        --rpm $work/imagebuild-tiny-1.0-1.noarch.rpm --rpm $work/again.rpm
}

test_too_large() {
    refused 2 "largest: imagebuild-big-1.0-1.noarch.rpm" \
        --rpm $work/imagebuild-big-1.0-1.noarch.rpm --rpm $work/imagebuild-tiny-1.0-1.noarch.rpm
}

test_bad_url() {
    refused 2 "allowed: http://, https:// and file:///" --repo old=ftp://example.org/os/
    # The agent checks it too, for any client: a named D-Bus error.
    local out rc=0
    out=$(run_in a gdbus call --system --dest org.imagebuild.Agent1 --object-path /org/imagebuild/Agent1 \
        --method org.imagebuild.BuildManager1.Submit \
        "{'type': <'keep'>, 'arch': <'x86_64'>, 'release': <'39'>, 'kickstart': <'lang en_US'>, 'repos': <{'old': 'ftp://example.org/os/'}>}" 2>&1) || rc=$?
    echo "$out"
    [ "$rc" -ne 0 ]
    assert_contains "$out" "org.imagebuild.Error.InvalidSpec"
    assert_contains "$out" "allowed: http://, https:// and file:///"
}

test_release_without_updates() {
    local out rc=0 before
    before=$(build_dirs)
    out=$(ctl build $work/ks.cfg --type keep --arch x86_64 --release rawhide --updates 2>&1) || rc=$?
    echo "$out"
    assert_eq "$rc" 2
    assert_contains "$out" "release rawhide has no updates repository"
    assert_eq "$(build_dirs)" "$before"
}

test_legacy_request_maps_repositories() {
    write_into a $work/request.conf <<EOF
[DEFAULT]
type=live
arch=x86_64
[live]
release=39
config=ks.cfg
updates=1
extras_url=https://example.org/extras/
EOF
    # The legacy types are boot, dvd and live: a live type that keeps its kickstart.
    local out rc=0 id
    out=$(ctl build --config $work/request.conf --type keep 2>&1) || rc=$?
    echo "$out"
    assert_eq "$rc" 0
    id=$(sed -n 's/^Submitted build \(a-[0-9]*\)\.$/\1/p' <<<"$out")
    local ks
    ks=$(run_in a cat /var/lib/imagebuild/builds/$id/ks.cfg)
    assert_contains "$ks" "repo --name=extras --baseurl=https://example.org/extras/"
    assert_contains "$ks" "repo --name=imagebuild-updates --baseurl=http://mirror.lan/updates/39/x86_64/"
}

# The packages, copied out of host a for curl.
local_rpm() {
    run_in a cat "$work/$1" >"$TEST_SCRATCH/$1"
    echo "$TEST_SCRATCH/$1"
}
# post URL FIELD...: a multipart POST /v1/builds as alice; the body, then the status.
post() {
    local url=$1 args=() field
    shift
    for field in "$@"; do args+=(-F "$field"); done
    curl -s -H 'Authorization: Bearer alice-token' "${args[@]}" -w '\n%{http_code}' "$url/v1/builds"
}
json_of() { sed '$d' <<<"$1"; }
status_of() { tail -n1 <<<"$1"; }
build_state_is() { [ "$(curl -s "$a/v1/builds/$1" | jq -r .state)" = "$2" ]; }

# Sent to b, which builds nothing for 39: b passes the form with its files on
# to a (the spec as a `spec` part), whose forwarder hands them to its agent
# as anonymous files.
test_rpms_over_http_through_a_peer() {
    local tiny native out id dir
    run_in a cat $work/ks.cfg >"$TEST_SCRATCH/ks.cfg"
    tiny=$(local_rpm imagebuild-tiny-1.0-1.noarch.rpm)
    native=$(local_rpm imagebuild-native-1.0-1.x86_64.rpm)
    wait_for 20 peer_up "$b" "$a" 1
    out=$(post "$b" type=keep arch=x86_64 release=39 "kickstart_file=@$TEST_SCRATCH/ks.cfg" \
        "rpm=@$tiny" "rpm=@$native")
    echo "$out"
    assert_eq "$(status_of "$out")" 201
    id=$(json_of "$out" | jq -r .id)
    assert_contains "$id" "a-"
    wait_for 60 build_state_is "$id" succeeded
    dir=/var/lib/imagebuild/builds/$id
    local primary
    primary=$(run_in a sh -c "zcat $dir/repo/repodata/*-primary.xml.gz")
    assert_contains "$primary" "<name>imagebuild-tiny</name>"
    assert_contains "$primary" "<name>imagebuild-native</name>"
    assert_contains "$(run_in a cat $dir/artifacts/used.ks)" \
        "repo --name=imagebuild-side --baseurl=file://$dir/repo"
    assert_contains "$(run_in a cat $dir/artifacts/repomd.xml)" "<repomd"
    local manifest
    manifest=$(run_in a cat $dir/artifacts/manifest.json)
    assert_eq "$(jq -r '.side_packages[] | select(.name == "imagebuild-native") | .sha256' <<<"$manifest")" \
        "$(sha256sum "$native" | cut -d' ' -f1)"
    assert_eq "$(jq -r '.side_packages | length' <<<"$manifest")" 2
    assert_eq "$(curl -s "$a/v1/builds/$id" | jq -r .submitter)" alice
    assert_eq "$(uploads_left)" ""
}

# A `spec` part carries the keys a form has no field for (repos, updates).
test_rpms_with_a_json_spec() {
    local spec out id ks
    spec='{"type":"keep","arch":"x86_64","release":"39","kickstart":"lang C\n","repos":{"extras":"https://example.org/extras/"},"updates":true}'
    out=$(post "$a" "spec=$spec;type=application/json" "rpm=@$TEST_SCRATCH/imagebuild-tiny-1.0-1.noarch.rpm")
    echo "$out"
    assert_eq "$(status_of "$out")" 201
    id=$(json_of "$out" | jq -r .id)
    ks=$(run_in a cat /var/lib/imagebuild/builds/$id/ks.cfg)
    assert_contains "$ks" "repo --name=imagebuild-side --baseurl=file:///var/lib/imagebuild/builds/$id/repo"
    assert_contains "$ks" "repo --name=extras --baseurl=https://example.org/extras/"
    assert_contains "$ks" "repo --name=imagebuild-updates"
}

# refused_over_http URL STATUS ERROR TEXT FIELD...: refused with STATUS and
# the JSON error name, nothing left on a.
refused_over_http() {
    local url=$1 status=$2 error=$3 text=$4 before out
    shift 4
    before=$(build_dirs)
    out=$(post "$url" type=keep arch=x86_64 release=39 "kickstart_file=@$TEST_SCRATCH/ks.cfg" "$@")
    echo "$out"
    assert_eq "$(status_of "$out")" "$status"
    assert_eq "$(json_of "$out" | jq -r .error)" "$error"
    assert_contains "$(json_of "$out")" "$text"
    assert_eq "$(build_dirs)" "$before"
    assert_eq "$(uploads_left)" ""
}

test_bad_rpms_over_http() {
    run_in a cat $work/text.rpm >"$TEST_SCRATCH/text.rpm"
    local big out
    big=$(local_rpm imagebuild-big-1.0-1.noarch.rpm)
    refused_over_http "$a" 400 InvalidPackage "text.rpm is not an RPM package" \
        "rpm=@$TEST_SCRATCH/text.rpm"
    # Through the peer too: a's answer comes back as it was.
    refused_over_http "$b" 400 InvalidPackage "text.rpm is not an RPM package" \
        "rpm=@$TEST_SCRATCH/text.rpm"
    refused_over_http "$a" 413 UploadTooLarge "imagebuild-big-1.0-1.noarch.rpm" "rpm=@$big"
    refused_over_http "$a" 400 InvalidSpec "'rpm' must be a file" "rpm=text"
    # A JSON body cannot name files it does not carry.
    out=$(curl -s -H 'Authorization: Bearer alice-token' -H 'Content-Type: application/json' \
        -d '{"type":"keep","arch":"x86_64","release":"39","kickstart":"x","rpms":["a.rpm"]}' \
        -w '\n%{http_code}' "$a/v1/builds")
    echo "$out"
    assert_eq "$(status_of "$out")" 400
    assert_contains "$out" "'rpm' parts of a multipart/form-data body"
}

# imagebuildctl -H sends the same form: --rpm, --repo and --wait through b.
test_ctl_over_http_uploads_rpms() {
    local out rc=0 id ks
    out=$(run_in a env IMAGEBUILD_TOKEN=alice-token imagebuildctl --no-pager -H "$b" build \
        $work/ks.cfg --type keep --arch x86_64 --release 39 --wait \
        --rpm $work/imagebuild-native-1.0-1.x86_64.rpm \
        --repo extras=https://example.org/extras/ 2>&1) || rc=$?
    echo "$out"
    assert_eq "$rc" 0
    id=$(sed -n 's/^Submitted build \(a-[0-9]*\)\.$/\1/p' <<<"$out")
    [ -n "$id" ]
    ks=$(run_in a cat /var/lib/imagebuild/builds/$id/artifacts/used.ks)
    assert_contains "$ks" "repo --name=imagebuild-side"
    assert_contains "$ks" "repo --name=extras --baseurl=https://example.org/extras/"
    run_in a test -f /var/lib/imagebuild/builds/$id/repo/imagebuild-native-1.0-1.x86_64.rpm
    # Refused by a's agent, said by imagebuildctl as over D-Bus (exit 2).
    rc=0
    out=$(run_in a env IMAGEBUILD_TOKEN=alice-token imagebuildctl --no-pager -H "$a" build \
        $work/ks.cfg --type keep --arch x86_64 --release 39 --rpm $work/text.rpm 2>&1) || rc=$?
    echo "$out"
    assert_eq "$rc" 2
    assert_contains "$out" "text.rpm is not an RPM package"
}

test_case "tiny RPMs built with rpmbuild (noarch, x86_64, aarch64, a large one)" test_make_packages
test_case "--rpm, --repo, --updates: createrepo_c repository, dnf reads it, the build reads it in its sandbox, repo lines in the kickstart it ran, manifest lists NEVRA and sha256" test_side_repository_builds
test_case "retry copies the side repository into the new build, one repo line" test_retry_gets_its_own_repository
test_case "a file that is not an RPM is refused by name, nothing left" test_not_an_rpm
test_case "an RPM of another arch is refused by name, nothing left" test_other_arch
test_case "the same NEVRA twice is refused, nothing left" test_duplicate_nevra
test_case "an upload over max_upload is refused, nothing left" test_too_large
test_case "a repository URL that is not http(s) or file is refused (ctl and agent)" test_bad_url
test_case "--updates for a release without updates repository is refused" test_release_without_updates
test_case "a legacy request's updates and NAME_url keys become repo lines" test_legacy_request_maps_repositories
test_case "HTTP: curl -F rpm=@FILE to a peer that passes the form on; the repository, kickstart and manifest as over D-Bus" test_rpms_over_http_through_a_peer
test_case "HTTP: a 'spec' part carries repos and updates with the files" test_rpms_with_a_json_spec
test_case "HTTP: not an RPM 400 InvalidPackage (also through the peer), too large 413 UploadTooLarge, nothing left" test_bad_rpms_over_http
test_case "imagebuildctl -H build --rpm: the same form, through the peer" test_ctl_over_http_uploads_rpms
finish
