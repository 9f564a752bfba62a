# `./install.sh --uninstall [--purge]`: removes what install.sh added. Sourced after common.sh.
# shellcheck shell=bash

# The services install.sh starts, by the name of their pid file or systemd unit (nbhosting-NAME).
NBH_SERVICES=(gunicorn monitor exchange-check autopull logrotate)

uninstall() {
    local purge=$1
    load_env_file
    step "services"
    stop_services
    step "containers"
    remove_containers
    stop_podman_service
    step "nginx site"
    remove_nginx_site
    step "podman configuration and images"
    rm -f /etc/containers/containers.conf.d/nbhosting.conf
    echo "removed /etc/containers/containers.conf.d/nbhosting.conf"
    remove_images
    step "files"
    remove_installed_files
    step "data"
    # The workspaces' filesystem (quota.sh): unmounted, its loop device freed; install.sh mounts it
    # again. A purge must not remove what lies under a mount.
    release_disk_quotas
    if [ "$purge" = purge ]; then purge_data; else report_kept; fi
}

stop_services() {
    local name
    if has_systemd; then
        systemctl disable --now nbhosting-autopull.timer > /dev/null 2>&1 || true
        for name in "${NBH_SERVICES[@]}"; do
            systemctl disable --now "nbhosting-$name.service" > /dev/null 2>&1 || true
            rm -f "/etc/systemd/system/nbhosting-$name.service"
        done
        rm -f /etc/systemd/system/nbhosting-autopull.timer
        systemctl daemon-reload
    fi
    for name in "${NBH_SERVICES[@]}"; do stop_daemon "$name"; done
    echo "stopped ${NBH_SERVICES[*]}"
}

# The site's own containers (students' and instructors' servers); their workspaces stay.
remove_containers() {
    local ids
    command -v podman > /dev/null || { echo "podman is not installed: no containers"; return 0; }
    ids=$(podman ps -a -q --filter "label=nbhosting.instance=$NBH_INSTANCE") \
        || die "podman cannot list the containers"
    if [ -n "$ids" ]; then
        # shellcheck disable=SC2086  # one id per word
        podman rm -f -t 10 $ids > /dev/null || die "podman could not remove the site's containers"
    fi
    echo "removed $(wc -w <<< "$ids") containers of instance $NBH_INSTANCE"
    # Their sockets and the links nginx followed to them; each server's socket folder is a tmpfs
    # (nbhosting/containers/tmpfs.py), unmounted first: rm cannot remove a mount point.
    local target
    while IFS= read -r target; do
        umount "$target" || die "could not unmount $target"
    done < <(awk -v prefix="$NBH_DATA_ROOT/run/servers/" 'index($2, prefix) == 1 { print $2 }' /proc/self/mounts)
    rm -rf "$NBH_DATA_ROOT/run"
}

stop_podman_service() {
    if has_systemd; then
        systemctl disable --now podman.socket > /dev/null 2>&1 || true
        systemctl stop podman.service > /dev/null 2>&1 || true
    fi
    stop_daemon podman
    rm -f "$NBH_PID_DIR/podman.config"
    echo "stopped podman's REST service"
}

remove_nginx_site() {
    rm -f /etc/nginx/sites-enabled/nbhosting.conf /etc/nginx/sites-available/nbhosting.conf
    echo "removed /etc/nginx/sites-available/nbhosting.conf"
    # nginx itself (Debian's package) stays, serving whatever other sites it has.
    if has_systemd; then
        systemctl reload nginx > /dev/null 2>&1 || true
    elif [ -f /run/nginx.pid ] && kill -0 "$(cat /run/nginx.pid)" 2>/dev/null; then
        nginx -s reload || warn "nginx did not reload"
    fi
}

remove_images() {
    local image
    command -v podman > /dev/null || return 0
    for image in "$NBH_DEFAULT_IMAGE" "$NBH_BASE_IMAGE"; do
        if podman image exists "$image"; then
            podman rmi "$image" > /dev/null || die "podman could not remove $image"
            echo "removed image $image"
        fi
    done
}

remove_installed_files() {
    # shellcheck disable=SC2154  # src: the tree's folder, set by install.sh
    if [ "$(readlink /usr/local/bin/nbh 2>/dev/null || true)" = "$src/scripts/nbh" ]; then rm -f /usr/local/bin/nbh; fi
    rm -f /etc/logrotate.d/nbhosting /var/lib/logrotate/nbhosting.status
    rm -rf "$NBH_VENV" "$NBH_PID_DIR"
    rmdir --ignore-fail-on-non-empty "$(dirname "$NBH_VENV")" 2>/dev/null || true
    echo "removed $NBH_VENV, /usr/local/bin/nbh, /etc/logrotate.d/nbhosting"
}

report_kept() {
    echo "kept: $NBH_DATA_ROOT (courses, workspaces, database), $NBH_ENV_FILE (site settings), $NBH_LOG_DIR (logs)"
    [ -z "${DATABASE_URL:-}" ] || echo "kept: the database at DATABASE_URL"
    echo "./install.sh brings the site back with them; ./install.sh --uninstall --purge removes them"
}

purge_data() {
    local dir
    for dir in "$NBH_DATA_ROOT" "$NBH_LOG_DIR"; do
        # The settings name these folders: refuse anything that is not a folder of its own.
        case "$dir" in
            /|/bin|/boot|/dev|/etc|/home|/lib*|/opt|/proc|/root|/run|/sbin|/srv|/sys|/tmp|/usr|/usr/*|/var|/var/lib|/var/log|/var/tmp)
                die "refusing to remove $dir" ;;
            /?*) ;;
            *) die "refusing to remove $dir: not an absolute path" ;;
        esac
    done
    rm -rf "$NBH_DATA_ROOT" "$NBH_LOG_DIR"
    rm -f "$NBH_ENV_FILE"
    rmdir --ignore-fail-on-non-empty "$(dirname "$NBH_ENV_FILE")" 2>/dev/null || true
    echo "removed: $NBH_DATA_ROOT (courses, workspaces, database), $NBH_ENV_FILE (site settings), $NBH_LOG_DIR (logs)"
    [ -z "${DATABASE_URL:-}" ] || echo "kept: the database at DATABASE_URL (drop it yourself)"
}
