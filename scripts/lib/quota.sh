# Disk quotas for the students' workspaces: install.sh and the test stacks source this file.
# shellcheck shell=bash
#
# ensure_disk_quotas mounts, at <data>/workspaces, a filesystem on which every workspace can get a
# limit of its own (nbhosting/workspaces/quota.py makes and limits them):
#   - NBH_QUOTA_DEVICE=/dev/...: the disk or partition the admin names: btrfs (quotas are turned on)
#     or XFS (mounted with prjquota); one with no filesystem and no partition table is made btrfs;
#   - otherwise (test machines): a sparse btrfs image file, <data>/disk/workspaces.btrfs, of
#     NBH_QUOTA_IMAGE_SIZE (default: half the free space, at most 20G), loop-mounted;
#   - NBH_QUOTA_DRIVER=none: nothing, workspaces stay on the data root's disk, unlimited.
# Safe to run again: a mounted filesystem is kept as it is, and one that is missing (after a
# reboot: there is no fstab entry) is mounted again. Workspaces made on the host's disk before
# quotas are moved onto the new filesystem, as subvolumes, when no container of the site runs.

NBH_QUOTA_MARK=.nbh-unmounted  # quota.py refuses to make workspaces while it is visible

quota_warn() { echo "warning: $*" >&2; }

quota_image() { echo "${NBH_DATA_ROOT:?}/disk/workspaces.btrfs"; }

quota_fs_type() { blkid -p -o value -s TYPE "$1" 2>/dev/null || true; }

quota_default_size() {
    local avail
    avail=$(df -P -k "$NBH_DATA_ROOT" | awk 'NR == 2 {print $4}')
    avail=$((avail / 2 / 1024 / 1024))
    [ "$avail" -gt 20 ] && avail=20
    [ "$avail" -lt 1 ] && avail=1
    echo "${avail}G"
}

# The sparse image file, made once; an existing one is never touched.
quota_make_image() {
    local image=$1 size=${NBH_QUOTA_IMAGE_SIZE:-}
    [ -f "$image" ] && return 0
    [ -n "$size" ] || size=$(quota_default_size)
    mkdir -p "$(dirname "$image")"
    chmod 700 "$(dirname "$image")"
    truncate -s "$size" "$image.new"
    chmod 600 "$image.new"  # it holds every student's files
    mkfs.btrfs -q "$image.new" > /dev/null
    mv "$image.new" "$image"
    echo "made a $size btrfs image for the workspaces: $image (sparse: it takes what is written)"
}

# The device the admin named: mounted as it is, or made btrfs when it holds nothing at all.
quota_prepare_device() {
    local device=$1
    [ -b "$device" ] || { quota_warn "NBH_QUOTA_DEVICE=$device is not a block device"; return 1; }
    if [ -z "$(quota_fs_type "$device")" ]; then
        if blkid -p "$device" > /dev/null 2>&1; then
            quota_warn "$device holds a partition table or data blkid cannot name; not formatting it"
            return 1
        fi
        mkfs.btrfs -q "$device" > /dev/null
        echo "made a btrfs filesystem on $device"
    fi
}

quota_mount() {
    local source=$1 target=$2 kind
    kind=$(quota_fs_type "$source")
    case $kind in
        btrfs) if [ -f "$source" ]; then mount -o loop "$source" "$target"; else mount "$source" "$target"; fi ;;
        xfs) mount -o prjquota "$source" "$target" ;;
        *) quota_warn "$source holds ${kind:-no filesystem}; quotas need btrfs or xfs"; return 1 ;;
    esac
}

quota_enable() {
    local target=$1
    [ "$(stat -f -c %T "$target")" = btrfs ] || return 0
    btrfs qgroup show "$target" > /dev/null 2>&1 || btrfs quota enable "$target"
}

# Running containers of this site: their workspaces are in use and must not move.
quota_site_busy() {
    local running
    running=$(podman ps -q --filter "label=nbhosting.instance=${NBH_INSTANCE:-main}" 2>/dev/null || true)
    [ -n "$running" ]
}

# Copies workspaces made before quotas onto the new filesystem: each becomes a subvolume (on
# btrfs), root's until the platform limits it and gives it back to its student at the next open.
# Nothing runs as a student meanwhile (no container runs), and cp -a never follows a link.
quota_copy_workspaces() {
    local from=$1 to=$2 course student target moved=0
    for course in "$from"/*/; do
        if [ ! -d "$course" ] || [ -L "${course%/}" ]; then continue; fi
        mkdir -p "$to/$(basename "$course")"
        chmod 711 "$to/$(basename "$course")"
        for student in "$course"*/; do
            if [ ! -d "$student" ] || [ -L "${student%/}" ]; then continue; fi
            target=$to/$(basename "$course")/$(basename "$student")
            if [ "$(stat -f -c %T "$to")" = btrfs ]; then
                btrfs subvolume create "$target" > /dev/null
            else
                mkdir "$target"
            fi
            cp -a --reflink=never "$student." "$target/"
            chown 0:0 "$target"
            chmod 700 "$target"
            moved=$((moved + 1))
        done
    done
    echo "copied $moved workspace(s) onto the quota filesystem"
}

ensure_disk_quotas() {
    local root=${NBH_DATA_ROOT:?}/workspaces source staging old
    if [ "${NBH_QUOTA_DRIVER:-auto}" = none ]; then
        echo "disk quotas are off (NBH_QUOTA_DRIVER=none)"
        return 0
    fi
    mkdir -p "$root"
    if mountpoint -q "$root"; then
        quota_enable "$root"
        echo "workspaces: $(stat -f -c %T "$root") filesystem mounted at $root, quotas on"
        return 0
    fi
    if [ -n "${NBH_QUOTA_DEVICE:-}" ]; then
        source=$NBH_QUOTA_DEVICE
        quota_prepare_device "$source" || { quota_warn "disk quotas are not set up"; return 0; }
    else
        source=$(quota_image)
        quota_make_image "$source"
    fi
    if [ -n "$(find "$root" -mindepth 1 -maxdepth 1 ! -name "$NBH_QUOTA_MARK" -print -quit)" ]; then
        if quota_site_busy; then
            quota_warn "$root holds workspaces and containers of this site run: stop them and rerun to set up disk quotas"
            return 0
        fi
        staging=$NBH_DATA_ROOT/.workspaces-quota
        mkdir -p "$staging"
        quota_mount "$source" "$staging" || { rmdir "$staging"; quota_warn "disk quotas are not set up"; return 0; }
        quota_enable "$staging"
        quota_copy_workspaces "$root" "$staging"
        umount "$staging"
        rmdir "$staging"
        old=$NBH_DATA_ROOT/workspaces.before-quotas-$(date +%Y%m%d-%H%M%S)
        mv "$root" "$old"
        chmod 700 "$old"
        echo "the workspaces as they were stay in $old (on the host's disk): delete it once checked"
        mkdir "$root"
    fi
    chmod 711 "$root"
    touch "$root/$NBH_QUOTA_MARK"
    if ! quota_mount "$source" "$root"; then
        rm -f "$root/$NBH_QUOTA_MARK"
        quota_warn "disk quotas are not set up: $source could not be mounted at $root"
        return 0
    fi
    chmod 711 "$root"
    quota_enable "$root"
    echo "workspaces: $(stat -f -c %T "$root") filesystem from $source mounted at $root, quotas on" \
        "(not in /etc/fstab: install.sh mounts it again at each run)"
}

# Unmounts the workspaces' filesystem and frees its loop device (test stacks, when they stop).
release_disk_quotas() {
    local root=${NBH_DATA_ROOT:?}/workspaces image device
    image=$(quota_image)
    if mountpoint -q "$root"; then
        umount "$root" 2>/dev/null || umount -l "$root"
    fi
    [ -f "$image" ] || return 0
    for device in $(losetup -n -O NAME -j "$image"); do
        losetup -d "$device" 2>/dev/null || true
    done
}
