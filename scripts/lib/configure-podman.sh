#!/usr/bin/env bash
# Writes /etc/containers/containers.conf.d/nbhosting.conf from what this host can actually do.
# Why each choice is detected rather than assumed:
#  - crun needs a pure cgroup v2 host; on cgroup v1 / hybrid hosts only runc works;
#  - without systemd as PID 1 podman cannot use the systemd cgroup manager nor journald;
#  - podman's default nofile ulimit (1048576) is refused where the host hard limit is lower.
#
# Usage: configure-podman.sh [PROBE_IMAGE]
# With PROBE_IMAGE, the ulimits are also checked by starting a container, and halved until runc accepts
# them: in some sandboxes the runtime lacks CAP_SYS_RESOURCE and its own limits are below the shell's.
set -euo pipefail
probe_image=${1:-}
conf_dir=/etc/containers/containers.conf.d
conf=$conf_dir/nbhosting.conf
mkdir -p "$conf_dir"

if [ "$(stat -fc %T /sys/fs/cgroup)" = cgroup2fs ] && command -v crun >/dev/null; then
    runtime=crun
else
    runtime=runc
fi
if [ "$(cat /proc/1/comm 2>/dev/null)" = systemd ]; then
    cgroup_manager=systemd; events_logger=journald
else
    cgroup_manager=cgroupfs; events_logger='file'
fi
hard_nofile=$(ulimit -Hn); [ "$hard_nofile" = unlimited ] && hard_nofile=1048576
nofile=$(( hard_nofile < 65536 ? hard_nofile : 65536 ))
hard_nproc=$(ulimit -Hu); [ "$hard_nproc" = unlimited ] && hard_nproc=65536
nproc=$(( hard_nproc < 65536 ? hard_nproc : 65536 ))
# Values found by an earlier probe are kept, as long as they are within today's hard limits.
if [ -f "$conf" ]; then
    old_nofile=$(grep -oE 'nofile=[0-9]+' "$conf" | head -n1 | cut -d= -f2 || true)
    old_nproc=$(grep -oE 'nproc=[0-9]+' "$conf" | head -n1 | cut -d= -f2 || true)
    [ -n "$old_nofile" ] && [ "$old_nofile" -le "$nofile" ] && nofile=$old_nofile
    [ -n "$old_nproc" ] && [ "$old_nproc" -le "$nproc" ] && nproc=$old_nproc
fi

write_conf() {
new=$(cat <<CONF
# Written by nbhosting's install.sh from this host's capabilities; rerun install.sh to refresh.
[containers]
default_ulimits = ["nofile=${nofile}:${nofile}", "nproc=${nproc}:${nproc}"]

[engine]
runtime = "${runtime}"
cgroup_manager = "${cgroup_manager}"
events_logger = "${events_logger}"
CONF
)
if [ ! -f "$conf" ] || [ "$(cat "$conf")" != "$new" ]; then
    printf '%s\n' "$new" > "$conf"
    echo "podman: runtime=$runtime cgroup_manager=$cgroup_manager nofile=$nofile nproc=$nproc"
fi
}
write_conf
[ -n "$probe_image" ] || exit 0
for _ in $(seq 1 12); do
    if err=$(podman run --rm --network none "$probe_image" true 2>&1); then exit 0; fi
    case "$err" in
        *"rlimit type 6"*) nproc=$(( nproc / 2 )) ;;
        *"rlimit type 7"*) nofile=$(( nofile / 2 )) ;;
        *) echo "podman cannot start a container: $err" >&2; exit 1 ;;
    esac
    write_conf
done
echo "podman refuses every ulimit tried: $err" >&2
exit 1
