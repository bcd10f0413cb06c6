#!/bin/bash
# The Debian package: built from debian/ with dpkg-buildpackage (packaging
# this build tree, IMAGEBUILD_PREBUILT, so nothing is compiled twice),
# lintian-clean of errors, installed with `apt-get install ./imagebuild.deb`
# into a fresh host as an administrator would, then a build through
# imagebuildctl; removed and purged again.
source "$(dirname "$0")/lib.sh"
sandbox_require

pkg=$TEST_SCRATCH/package
deb=

test_package_builds_and_is_lintian_clean() {
    local out rc=0
    # A copy of debian/ alone: dpkg-buildpackage writes next to its source
    # tree (../*.deb) and into debian/, never into the clone.
    rm -rf "$pkg" && mkdir -p "$pkg/src"
    cp -r "$IMAGEBUILD_SOURCE_ROOT/debian" "$pkg/src/"
    out=$(cd "$pkg/src" && IMAGEBUILD_PREBUILT=$IMAGEBUILD_BUILD_ROOT \
        dpkg-buildpackage -us -uc -b 2>&1) || rc=$?
    [ "$rc" -eq 0 ] || {
        echo "$out" | tail -n 40
        echo "dpkg-buildpackage failed (exit $rc)"
        return 1
    }
    deb=$(compgen -G "$pkg/imagebuild_*.deb")
    echo "built $(basename "$deb")"
    # The maintainer scripts come from debhelper: users, units, reloads.
    local postinst
    postinst=$(dpkg-deb --ctrl-tarfile "$deb" | tar -xO ./postinst)
    assert_contains "$postinst" "systemd-sysusers"
    assert_contains "$postinst" " imagebuild-forwarder.conf imagebuild.conf"
    assert_contains "$postinst" "deb-systemd-helper"
    assert_contains "$postinst" "imagebuild-forwarder.socket"
    assert_contains "$postinst" "imagebuild-cleanup.timer"
    assert_contains "$postinst" "ReloadConfig"
    dpkg-deb -c "$deb" | grep -q ' \./lib/systemd/system/imagebuild-forwarder\.socket$' || {
        echo "units are not under /lib/systemd/system"
        return 1
    }
    # The end of every build, started by systemd through OnSuccess=/OnFailure=.
    local unit
    for unit in 'imagebuild-end@' 'imagebuild-end-failed@'; do
        dpkg-deb -c "$deb" | grep -q " \./lib/systemd/system/$unit\.service$" || {
            echo "$unit.service is not in the package"
            return 1
        }
    done
    # lintian's temporary files (MLDBM caches) go to the test's scratch, not the host's /tmp.
    out=$(TMPDIR=$TEST_SCRATCH lintian --no-tag-display-limit "$deb" 2>&1) || true
    echo "$out"
    if grep -q '^E: ' <<<"$out"; then
        echo "lintian reports errors"
        return 1
    fi
}
test_case "dpkg-buildpackage builds the package; lintian reports no error" \
    test_package_builds_and_is_lintian_clean
# The later cases need the .deb.
deb=$(compgen -G "$pkg/imagebuild_*.deb") || bail_out "no package was built"

boot_host p 127.0.0.60

test_apt_install_sets_up_users_units_and_bus() {
    # The shipped socket listens on every address; on a shared machine the
    # host's own address only, from a drop-in written before the install.
    printf '[Socket]\nListenStream=\nListenStream=127.0.0.60:8470\n' |
        write_into p /etc/systemd/system/imagebuild-forwarder.socket.d/address.conf
    # A machine's policy-rc.d may forbid maintainer scripts to start or stop
    # services (a container image's does, and the host sees this machine's
    # /usr). Host p is a plain Debian machine: none (removed in its overlay).
    run_in p rm -f /usr/sbin/policy-rc.d
    # (Not --no-download: apt 2.6 then refuses a .deb path as not absolute.
    # Every dependency is installed on the machine the host starts from.)
    run_in p env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$deb"
    run_in p getent passwd imagebuild-forwarder
    run_in p getent group imagebuild
    assert_eq "$(run_in p systemctl is-enabled imagebuild-forwarder.socket)" enabled
    assert_eq "$(run_in p systemctl is-enabled imagebuild-cleanup.timer)" enabled
    # Started by the postinst, on the drop-in's address.
    assert_eq "$(run_in p systemctl is-active imagebuild-forwarder.socket)" active
    assert_eq "$(run_in p systemctl is-active imagebuild-cleanup.timer)" active
    assert_eq "$(run_in p systemctl show -p Listen --value imagebuild-forwarder.socket)" \
        "127.0.0.60:8470 (Stream)"
    # The bus knows the agent: activatable at once, no reboot.
    assert_contains "$(run_in p busctl list --activatable --no-legend)" org.imagebuild.Agent1
    assert_contains "$(curl -sf http://127.0.0.60:8470/v1/health)" ok
}

test_build_through_imagebuildctl() {
    # The conffile gets this host's image type, as an administrator edits it.
    write_into p /etc/imagebuild/imagebuild.conf <<'CONF'
[host]
arches = x86_64
releases = 39

[type.oemdrv]
command = xorriso -as mkisofs -V OEMDRV -graft-points -o {outdir}/oemdrv.iso ks.cfg={ks}
artifacts = oemdrv.iso
CONF
    printf 'lang en_US.UTF-8\n%%packages\n@core\n%%end\n' | write_into p /var/tmp/pkg.ks
    local out rc=0
    out=$(run_in p imagebuildctl --no-pager build /var/tmp/pkg.ks --type oemdrv --arch x86_64 \
        --release 39 --wait 2>&1) || rc=$?
    echo "$out"
    assert_eq "$rc" 0
    assert_contains "$out" "succeeded"
    assert_contains "$(run_in p imagebuildctl --no-pager list --all --no-legend)" oemdrv
}

test_remove_and_purge_stop_everything() {
    run_in p env DEBIAN_FRONTEND=noninteractive apt-get remove -y -q imagebuild
    assert_exit 3 run_in p systemctl is-active --quiet imagebuild-forwarder.socket
    assert_exit 3 run_in p systemctl is-active --quiet imagebuild-forwarder.service
    assert_exit 3 run_in p systemctl is-active --quiet imagebuild-agent.service
    run_in p env DEBIAN_FRONTEND=noninteractive apt-get purge -y -q imagebuild
    assert_exit 1 run_in p test -e /etc/imagebuild/imagebuild.conf
    assert_exit 1 run_in p test -e /lib/systemd/system/imagebuild-forwarder.socket
    # Enablement links go with the purge.
    assert_exit 1 run_in p test -e /etc/systemd/system/sockets.target.wants/imagebuild-forwarder.socket
}

test_case "apt-get install ./imagebuild.deb: users, enabled units, bus activation" \
    test_apt_install_sets_up_users_units_and_bus
test_case "a build through imagebuildctl on the installed package" test_build_through_imagebuildctl
test_case "remove stops the units; purge removes conffiles and links" \
    test_remove_and_purge_stop_everything
finish
