# shellcheck shell=bash
# The system-test sandbox: a private systemd as PID 1 in new namespaces.
#
# Each sandbox host gets its own pid, mount, cgroup, uts and ipc namespaces,
# its own cgroup (cgroup2, below /sys/fs/cgroup/unified), overlays on /etc,
# /usr and /var, fresh tmpfs on /run, /tmp, /var/tmp, /root, /home and /dev,
# its own hostname and its own loopback address in the host's network
# namespace. Nothing it does reaches the host's /tmp, /etc, /usr, /var, home
# directories or network configuration.
#
# Sourced by tests/system/sandbox (the command) and tests/system/lib.sh (the
# test harness). Functions return non-zero with a message on stderr; they
# never exit the caller.

# The cgroup2 hierarchy: /sys/fs/cgroup on a unified system (Debian 12's
# default), /sys/fs/cgroup/unified on a hybrid one.
sb_default_cgroup_root() {
    local d
    for d in /sys/fs/cgroup /sys/fs/cgroup/unified; do
        if [ "$(stat -f -c %T "$d" 2>/dev/null)" = cgroup2fs ]; then
            echo "$d"
            return
        fi
    done
    echo /sys/fs/cgroup/unified
}
SB_CGROUP_ROOT=${SB_CGROUP_ROOT:-$(sb_default_cgroup_root)}
SB_CGROUP_PREFIX=imagebuild-sandbox@
SB_BOOT_TIMEOUT=${SB_BOOT_TIMEOUT:-90}
SB_SELF=${BASH_SOURCE[0]}

# Units that would touch the host (its clock, sysctls, devices, network,
# binfmt, console) or that have no business in a test host. Masked in the
# sandbox's own /etc; the host's /etc is never written.
SB_MASKED_UNITS=(
    systemd-timesyncd.service systemd-sysctl.service systemd-binfmt.service
    proc-sys-fs-binfmt_misc.automount proc-sys-fs-binfmt_misc.mount
    systemd-modules-load.service kmod-static-nodes.service
    systemd-udevd.service systemd-udevd-control.socket systemd-udevd-kernel.socket
    systemd-udev-trigger.service systemd-udev-settle.service systemd-hwdb-update.service
    systemd-networkd.service systemd-networkd.socket systemd-resolved.service
    networking.service systemd-networkd-wait-online.service
    systemd-pstore.service systemd-random-seed.service systemd-remount-fs.service
    systemd-fsck-root.service systemd-firstboot.service systemd-machine-id-commit.service
    sys-kernel-config.mount sys-kernel-debug.mount sys-kernel-tracing.mount
    sys-fs-fuse-connections.mount dev-hugepages.mount dev-mqueue.mount
    getty.target console-getty.service getty@tty1.service serial-getty@.service
    e2scrub_reap.service e2scrub_all.timer fstrim.timer apt-daily.timer
    apt-daily-upgrade.timer man-db.timer dpkg-db-backup.timer
    postgresql.service cron.service ssh.service exim4.service
)

sb_die() {
    echo "sandbox: $*" >&2
    return 1
}

# The directory holding every host's layers and logs. Inside the build tree
# by default, so nothing lands in the host's /tmp or /var.
sb_state_root() {
    echo "${IMAGEBUILD_SANDBOX_DIR:-${IMAGEBUILD_BUILD_ROOT:-$PWD}/sandbox-hosts}"
}

sb_host_dir() { echo "$(sb_state_root)/$1"; }

# Exit status 77 (the skip code of meson and automake) when this machine
# cannot run a sandbox, with what is missing and how to get it.
sb_check_requirements() {
    if [ "$(id -u)" -ne 0 ]; then
        echo "sandbox: needs root (to create namespaces, mounts and cgroups)" >&2
        return 77
    fi
    if [ ! -x /lib/systemd/systemd ] || ! command -v unshare >/dev/null || ! command -v nsenter >/dev/null; then
        echo "sandbox: needs /lib/systemd/systemd, unshare and nsenter (run tools/install-deps)" >&2
        return 77
    fi
    local ns
    for ns in pid mnt cgroup uts ipc; do
        if [ ! -e "/proc/self/ns/$ns" ]; then
            echo "sandbox: kernel lacks $ns namespaces (/proc/self/ns/$ns missing)" >&2
            echo "  fix: a kernel with CONFIG_${ns^^}_NS (Debian's kernels have it)" >&2
            return 77
        fi
    done
    local err
    # A container may forbid new namespaces (seccomp, no CAP_SYS_ADMIN) even
    # when the kernel has them: try once.
    if ! err=$(unshare --pid --mount --cgroup --uts --ipc --fork --mount-proc true 2>&1); then
        echo "sandbox: this machine may not create pid/mount/cgroup/uts/ipc namespaces: ${err:-unshare failed}" >&2
        echo "  fix: in a container, run it privileged (docker/podman run --privileged --cgroupns=private)" >&2
        return 77
    fi
    # Not for the sandbox itself: for the builds inside, whose units have
    # PrivateUsers=. The kernel refuses user namespaces to a chroot'ed
    # process, and a sysctl may forbid them.
    if ! err=$(unshare --user true 2>&1); then
        echo "sandbox: this machine may not create user namespaces, which builds need (PrivateUsers=): ${err:-unshare --user failed}" >&2
        echo "  fix: not from a chroot (the kernel refuses them there; a container or pivot_root is fine);" >&2
        echo "  sysctl user.max_user_namespaces above 0" >&2
        return 77
    fi
    if ! grep -qw cgroup2 /proc/filesystems || ! grep -qw overlay /proc/filesystems; then
        echo "sandbox: kernel lacks cgroup2 or overlay file systems" >&2
        echo "  fix: modprobe overlay, or a kernel with CONFIG_OVERLAY_FS and cgroup2" >&2
        return 77
    fi
    if [ "$(stat -f -c %T "$SB_CGROUP_ROOT" 2>/dev/null)" != cgroup2fs ] ||
        [ ! -w "$SB_CGROUP_ROOT/cgroup.procs" ]; then
        echo "sandbox: no writable cgroup2 hierarchy at $SB_CGROUP_ROOT (no cgroup2 delegation)" >&2
        echo "  fix: boot with cgroup2 mounted (systemd.unified_cgroup_hierarchy=1, Debian 12's default);" >&2
        echo "  in a container: --privileged --cgroupns=private with /sys/fs/cgroup writable;" >&2
        echo "  or set SB_CGROUP_ROOT to a cgroup2 directory delegated to root" >&2
        return 77
    fi
    return 0
}

# Whether DIR can hold overlay upper layers: overlayfs refuses an upper
# layer on overlayfs (a container's root, a CI runner's build tree) and on
# some other file systems. Tried for real, in a throwaway mount namespace.
sb_upper_supported() {
    local dir=$1 probe rc=0
    probe=$(mktemp -d "$dir/.overlay-probe.XXXXXX") || return 1
    mkdir "$probe/upper" "$probe/work" "$probe/merged"
    unshare --mount --propagation private mount -t overlay overlay \
        -o "lowerdir=/etc,upperdir=$probe/upper,workdir=$probe/work" "$probe/merged" 2>/dev/null || rc=1
    rm -rf "$probe"
    return "$rc"
}

# Where the host's overlay layers live: $dir/layers, on the state
# directory's own file system when overlayfs accepts it there, else on a
# tmpfs mounted there (it lasts until sb_destroy, so /etc and /var still
# persist across reboots of the host). SB_LAYERS_ON_TMPFS=1 forces the tmpfs.
sb_layers_dir() { echo "$1/layers"; }

sb_mount_layers() {
    local dir=$1 layers
    layers=$(sb_layers_dir "$dir")
    mkdir -p "$layers"
    mountpoint -q "$layers" && return 0
    if [ "${SB_LAYERS_ON_TMPFS:-0}" != 1 ] && sb_upper_supported "$layers"; then
        return 0
    fi
    [ "${SB_LAYERS_ON_TMPFS:-0}" = 1 ] ||
        echo "# sandbox: overlayfs refuses upper layers on $(stat -f -c %T "$layers") ($layers); using a tmpfs there"
    mount -t tmpfs -o mode=0755 "sandbox-layers-$(basename "$dir")" "$layers" ||
        sb_die "could not mount a tmpfs for the overlay layers at $layers"
}

sb_umount_layers() {
    local layers
    layers=$(sb_layers_dir "$1")
    if mountpoint -q "$layers" 2>/dev/null; then
        umount "$layers" || umount -l "$layers"
    fi
}

sb_valid_name() { [[ $1 =~ ^[a-z0-9]([a-z0-9-]{0,30}[a-z0-9])?$ ]]; }

# 127.0.0.1 is the host's own; any other loopback address is ours to take.
sb_valid_address() {
    [[ $1 =~ ^127\.([0-9]{1,3})\.([0-9]{1,3})\.([0-9]{1,3})$ ]] || return 1
    local part
    for part in "${BASH_REMATCH[@]:1}"; do
        [ "$part" -le 255 ] || return 1
    done
    [ "$1" != 127.0.0.1 ]
}

sb_cgroup() { echo "$SB_CGROUP_ROOT/$SB_CGROUP_PREFIX$1"; }

# The pid of the host's systemd: the only child of its unshare process.
sb_pid() {
    local dir unshare_pid child
    dir=$(sb_host_dir "$1")
    [ -f "$dir/unshare.pid" ] || return 1
    unshare_pid=$(<"$dir/unshare.pid")
    [ -d "/proc/$unshare_pid" ] || return 1
    child=$(cat "/proc/$unshare_pid/task/"*/children 2>/dev/null | tr ' ' '\n' | grep -m1 .)
    [ -n "$child" ] || return 1
    echo "$child"
}

sb_is_running() { sb_pid "$1" >/dev/null 2>&1; }

# Runs a command inside a host, in all of its namespaces.
sb_run() {
    local name=$1 pid
    shift
    pid=$(sb_pid "$name") || {
        sb_die "host '$name' is not running"
        return 1
    }
    # --root and --wd of the host's systemd: entering a mount namespace
    # alone lands at that namespace's root, which is not the host's / when
    # this runs in a chroot (a fresh root made with debootstrap, schroot).
    nsenter -t "$pid" -a -r -w -- "$@"
}

# Prepares the persistent layers and the masks, from outside: only the host's
# own state directory is written.
sb_prepare_layers() {
    local name=$1 dir=$2 d unit layers
    sb_mount_layers "$dir" || return 1
    layers=$(sb_layers_dir "$dir")
    for d in etc usr var; do
        mkdir -p "$layers/$d.upper" "$layers/$d.work"
    done
    mkdir -p "$layers/etc.upper/systemd/system"
    for unit in "${SB_MASKED_UNITS[@]}"; do
        ln -sfn /dev/null "$layers/etc.upper/systemd/system/$unit"
    done
    echo "$name" >"$layers/etc.upper/hostname"
    # A machine with imagebuild installed for real has an /etc/imagebuild of
    # its own, which a new host must not see (meson install keeps an existing
    # imagebuild.conf): an overlay whiteout hides it until the host's own
    # install makes the directory anew.
    if [ -e /etc/imagebuild ] && [ ! -e "$layers/etc.upper/imagebuild" ]; then
        mknod "$layers/etc.upper/imagebuild" c 0 0
    fi
    if [ ! -s "$layers/etc.upper/machine-id" ]; then
        systemd-id128 new >"$layers/etc.upper/machine-id"
    fi
}

# A cgroup with no process left is what a killed test leaves: nothing runs
# there, so the address is free again.
sb_remove_stale_cgroup() {
    local cgroup=$1
    [ -d "$cgroup" ] || return 0
    [ -z "$(find "$cgroup" -name cgroup.procs -exec cat {} + 2>/dev/null)" ] || return 0
    find "$cgroup" -depth -type d -exec rmdir {} + 2>/dev/null || true
}

# Boots host NAME on ADDRESS and waits until systemd says it is running.
# With SB_TIE_TO_PARENT=1 the host's systemd gets SIGKILL (and with it every
# process of its pid namespace) when unshare dies, and unshare when the caller
# dies: a killed test leaves no process behind, only an empty cgroup.
sb_boot() {
    local name=$1 address=$2 dir cgroup started pid state
    sb_valid_name "$name" || {
        sb_die "invalid host name '$name' (lower-case letters, digits and '-', at most 32)"
        return 1
    }
    sb_valid_address "$address" || {
        sb_die "invalid address '$address': use a loopback address 127.x.y.z other than 127.0.0.1"
        return 1
    }
    dir=$(sb_host_dir "$name")
    mkdir -p "$dir"
    if sb_is_running "$name"; then
        sb_die "host name '$name' is already in use (running, pid $(sb_pid "$name"))"
        return 1
    fi
    cgroup=$(sb_cgroup "$address")
    sb_remove_stale_cgroup "$cgroup"
    # mkdir is atomic: two sandboxes can never share an address, even when
    # started from different build trees at the same moment.
    if ! mkdir "$cgroup" 2>/dev/null; then
        sb_die "address $address is already in use by another sandbox ($cgroup exists)"
        return 1
    fi
    echo "$address" >"$dir/address"
    sb_prepare_layers "$name" "$dir" || {
        sb_release "$name"
        return 1
    }
    : >"$dir/console.log"
    started=$EPOCHREALTIME
    (
        echo "$BASHPID" >"$cgroup/cgroup.procs"
        tie=() kill_child=()
        if [ "${SB_TIE_TO_PARENT:-0}" = 1 ]; then
            tie=(setpriv --pdeathsig KILL)
            kill_child=(--kill-child=SIGKILL)
        fi
        exec "${tie[@]}" unshare --pid --mount --cgroup --uts --ipc --fork --mount-proc \
            --propagation private "${kill_child[@]}" -- \
            env SB_NAME="$name" SB_ADDRESS="$address" SB_DIR="$dir" \
            SB_TREES="${IMAGEBUILD_SOURCE_ROOT:-}:${IMAGEBUILD_BUILD_ROOT:-}" \
            bash "$SB_SELF" __init
    ) </dev/null >>"$dir/console.log" 2>&1 &
    echo $! >"$dir/unshare.pid"

    if ! sb_wait_running "$name"; then
        sb_explain_boot_failure "$name"
        sb_poweroff "$name"
        return 1
    fi
    state=$(sb_run "$name" systemctl is-system-running 2>/dev/null)
    pid=$(sb_pid "$name")
    awk -v n="$name" -v a="$address" -v s="$state" -v p="$pid" -v t0="$started" -v t1="$EPOCHREALTIME" \
        'BEGIN { printf "# host %s (%s) booted to %s in %.1f s, systemd pid %s\n", n, a, s, t1 - t0, p }'
}

sb_wait_running() {
    local name=$1 deadline state
    deadline=$((SECONDS + SB_BOOT_TIMEOUT))
    while [ $SECONDS -lt $deadline ]; do
        if ! kill -0 "$(<"$(sb_host_dir "$name")/unshare.pid")" 2>/dev/null; then
            echo "sandbox: host '$name' stopped during boot" >&2
            return 1
        fi
        if state=$(sb_run "$name" systemctl is-system-running --wait 2>/dev/null); then
            return 0
        fi
        case "$state" in
        degraded)
            echo "sandbox: host '$name' booted degraded; failed units:" >&2
            sb_run "$name" systemctl --failed --no-legend --no-pager >&2
            return 1
            ;;
        esac
        sleep 0.2
    done
    echo "sandbox: host '$name' did not reach 'running' in ${SB_BOOT_TIMEOUT} s (last state: ${state:-none})" >&2
    return 1
}

sb_explain_boot_failure() {
    local name=$1 dir
    dir=$(sb_host_dir "$name")
    echo "sandbox: boot of '$name' failed; console (last 30 lines):" >&2
    tail -n 30 "$dir/console.log" | sed 's/^/  | /' >&2
    if sb_is_running "$name"; then
        echo "sandbox: journal of '$name' (last 30 lines):" >&2
        sb_run "$name" journalctl --no-pager -n 30 2>&1 | sed 's/^/  | /' >&2
    fi
}

# Clean shutdown; the host's /etc and /var layers stay for its next boot.
sb_poweroff() {
    local name=$1 dir unshare_pid deadline
    dir=$(sb_host_dir "$name")
    [ -f "$dir/unshare.pid" ] || return 0
    unshare_pid=$(<"$dir/unshare.pid")
    # A host still booting would finish its boot before shutting down: the
    # cgroup kill in sb_release is the quicker end for it.
    case "$(sb_run "$name" systemctl is-system-running 2>/dev/null)" in
    running | degraded) sb_run "$name" systemctl poweroff --no-block >/dev/null 2>&1 || true ;;
    # Gone already (a host tied to a caller that ended, its unshare reaped
    # at once, as an init like systemd reaps): no error, its cgroup is still
    # emptied and removed below.
    *) kill -KILL "$unshare_pid" 2>/dev/null || true ;;
    esac
    deadline=$((SECONDS + 30))
    while kill -0 "$unshare_pid" 2>/dev/null && [ $SECONDS -lt $deadline ]; do
        sleep 0.1
    done
    sb_release "$name"
}

# Whatever is left of a host — processes, cgroups, its address — goes.
# Processes are stopped by their cgroup, which holds exactly the sandbox's.
sb_release() {
    local name=$1 dir address cgroup unshare_pid
    dir=$(sb_host_dir "$name")
    address=$(cat "$dir/address" 2>/dev/null) || return 0
    cgroup=$(sb_cgroup "$address")
    if [ -d "$cgroup" ]; then
        echo 1 >"$cgroup/cgroup.kill" 2>/dev/null || true
        local i
        for i in $(seq 50); do
            [ -z "$(find "$cgroup" -name cgroup.procs -exec cat {} + 2>/dev/null)" ] && break
            sleep 0.1
        done
        find "$cgroup" -depth -type d -exec rmdir {} + 2>/dev/null || true
        [ -d "$cgroup" ] && sb_die "could not remove cgroup $cgroup"
    fi
    # Reap it when it is our child and gone; never block on it.
    unshare_pid=$(cat "$dir/unshare.pid" 2>/dev/null) &&
        ! kill -0 "$unshare_pid" 2>/dev/null && { wait "$unshare_pid" 2>/dev/null || true; }
    rm -f "$dir/unshare.pid" "$dir/address"
    return 0
}

# Powers off and forgets a host: its layers are deleted.
sb_destroy() {
    local name=$1 dir
    dir=$(sb_host_dir "$name")
    [ -d "$dir" ] || return 0
    sb_poweroff "$name"
    sb_umount_layers "$dir"
    rm -rf --one-file-system "$dir"
}

sb_hosts() {
    local root d
    root=$(sb_state_root)
    [ -d "$root" ] || return 0
    for d in "$root"/*/; do
        [ -d "$d" ] && basename "$d"
    done
}

# `meson install` of the build tree into a host, then make systemd and the
# bus see what was installed.
sb_install() {
    local name=$1 build=${2:-${IMAGEBUILD_BUILD_ROOT:-}}
    [ -n "$build" ] && [ -f "$build/build.ninja" ] || {
        sb_die "no meson build tree to install (set IMAGEBUILD_BUILD_ROOT)"
        return 1
    }
    sb_run "$name" meson install -C "$build" --no-rebuild --quiet >/dev/null || return 1
    sb_run "$name" systemctl daemon-reload
    sb_run "$name" busctl call org.freedesktop.DBus /org/freedesktop/DBus \
        org.freedesktop.DBus ReloadConfig >/dev/null
}

# ---------------------------------------------------------------------------
# Inside the new namespaces, as their PID 1: lay out the file systems, then
# become systemd. Runs as `bash sandbox-lib.sh __init` from sb_boot.
sb_init() {
    set -euo pipefail
    local stash=/run/.sandbox-stash i=0 tree d
    local -a trees
    IFS=: read -r -a trees <<<"$SB_TREES"

    # Our own /run first: it holds what the later mounts would hide.
    mount -t tmpfs -o mode=0755,nosuid,nodev tmpfs /run
    mkdir -p "$stash/state" "$stash/dev"
    mount --bind "$SB_DIR" "$stash/state"
    for tree in "${trees[@]}"; do
        [ -n "$tree" ] && [ -d "$tree" ] || continue
        mkdir -p "$stash/tree$i"
        mount --bind "$tree" "$stash/tree$i"
        i=$((i + 1))
    done

    for d in etc usr var; do
        mount -t overlay overlay \
            -o "lowerdir=/$d,upperdir=$SB_DIR/layers/$d.upper,workdir=$SB_DIR/layers/$d.work" "/$d"
    done
    mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs /tmp
    mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs /var/tmp
    # Home directories too: a tool that writes to $HOME (a browser, pip, a
    # shell history) must not reach the host's /root.
    mount -t tmpfs -o mode=0700,nosuid,nodev tmpfs /root
    mount -t tmpfs -o mode=0755,nosuid,nodev tmpfs /home
    sb_init_dev "$stash/dev"
    sb_init_sys_proc

    # Trees that the new /tmp, /var/tmp or /run hid come back at their paths.
    i=0
    for tree in "${trees[@]}"; do
        [ -n "$tree" ] && [ -d "$stash/tree$i" ] || continue
        if [ ! -d "$tree" ] || [ "$(stat -c %d:%i "$tree")" != "$(stat -c %d:%i "$stash/tree$i")" ]; then
            mkdir -p "$tree"
            mount --bind "$stash/tree$i" "$tree"
        fi
        umount -l "$stash/tree$i"
        i=$((i + 1))
    done
    umount -l "$stash/state"
    rm -rf "$stash"

    hostname "$SB_NAME"
    exec env -i container=imagebuild-sandbox PATH=/usr/sbin:/usr/bin:/sbin:/bin \
        /lib/systemd/systemd --unit=basic.target --show-status=false
}

# A /dev of our own, with the harmless device nodes bound from the host.
sb_init_dev() {
    local dev=$1 node
    mount -t tmpfs -o mode=0755,nosuid tmpfs "$dev"
    for node in null zero full random urandom tty; do
        touch "$dev/$node"
        mount --bind "/dev/$node" "$dev/$node"
    done
    mkdir -p "$dev/pts" "$dev/shm" "$dev/mqueue"
    mount -t devpts -o newinstance,ptmxmode=0666,mode=0620 devpts "$dev/pts"
    ln -s pts/ptmx "$dev/ptmx"
    mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs "$dev/shm"
    mount -t mqueue mqueue "$dev/mqueue"
    ln -s /proc/self/fd "$dev/fd"
    ln -s /proc/self/fd/0 "$dev/stdin"
    ln -s /proc/self/fd/1 "$dev/stdout"
    ln -s /proc/self/fd/2 "$dev/stderr"
    mount --move "$dev" /dev
}

# /sys and /proc/sys read-only, as in any container: nothing inside may
# change the host's kernel settings. cgroup2 at /sys/fs/cgroup shows the
# sandbox's own cgroup as its root (cgroup namespace).
sb_init_sys_proc() {
    umount -R -l /sys/fs/cgroup 2>/dev/null || true
    mount -o remount,bind,ro /sys
    mount -t cgroup2 -o nsdelegate cgroup2 /sys/fs/cgroup
    mount --bind /proc/sys /proc/sys
    mount -o remount,bind,ro /proc/sys
    if [ -e /proc/sysrq-trigger ]; then
        mount --bind /proc/sysrq-trigger /proc/sysrq-trigger
        mount -o remount,bind,ro /proc/sysrq-trigger
    fi
}

if [ "${BASH_SOURCE[0]}" = "$0" ] && [ "${1:-}" = __init ]; then
    sb_init
fi
