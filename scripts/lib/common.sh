# Functions shared by install.sh and scripts/run-tests. Sourced, not run.
# shellcheck shell=bash

NBH_ENV_FILE=${NBH_ENV_FILE:-/etc/nbhosting/nbhosting.env}
NBH_LOG_DIR=${NBH_LOG_DIR:-/var/log/nbhosting}
NBH_PID_DIR=${NBH_PID_DIR:-/run/nbhosting}
NBH_LIB=$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")
# ensure_disk_quotas, for install.sh
# shellcheck source=scripts/lib/quota.sh
. "$(dirname "${BASH_SOURCE[0]}")/quota.sh"

NBH_STEP=""
step() { NBH_STEP=$*; printf '\n== %s\n' "$*"; }
warn() { echo "warning: $*" >&2; }
# One line on stderr, naming the step under way.
die() { echo "error${NBH_STEP:+ in step \"$NBH_STEP\"}: $*" >&2; NBH_DIED=1; exit 1; }

# A script that stops, on a command that failed under `set -e` or on die, says where in one line;
# never silently. Call it right after `set -euo pipefail`.
loud_failures() {
    set -E
    trap 'nbh_failed_at "$BASH_COMMAND" "$?"' ERR
    trap nbh_report_exit EXIT
}

# ERR trap: only records. It also runs in subshells and command substitutions, where a failure
# may be expected (`[ "$(podman image inspect ...)" = ... ]`), so it must print nothing.
nbh_failed_at() {
    local i where="${BASH_SOURCE[1]##*/}:${BASH_LINENO[0]}"
    for ((i = 2; i < ${#BASH_SOURCE[@]}; i++)); do where+=" < ${BASH_SOURCE[i]##*/}:${BASH_LINENO[i - 1]}"; done
    NBH_FAILED="\`$1\` exited with status $2 ($where)"
}

nbh_report_exit() {
    local status=$?
    [ "$status" = 0 ] || [ -n "${NBH_DIED:-}" ] || \
        echo "error${NBH_STEP:+ in step \"$NBH_STEP\"}: ${NBH_FAILED:-stopped with status $status}" >&2
}
has_systemd() { [ -d /run/systemd/system ]; }
# shellcheck disable=SC2154  # src: the folder of the tree, set by the script that sources this file
nbh() { "$src/scripts/nbh" "$@"; }

write_env_file() {
    # The first run writes the settings, with a fresh secret; later runs keep what the admin edited.
    if [ ! -f "$NBH_ENV_FILE" ]; then
        mkdir -p "$(dirname "$NBH_ENV_FILE")"
        umask 077
        cat > "$NBH_ENV_FILE" <<ENV
# nbhosting site settings; see README.md. Rerun install.sh after editing.
NBH_DATA_ROOT=${NBH_DATA_ROOT:-/var/lib/nbhosting}
NBH_VENV=${NBH_VENV:-/opt/nbhosting/venv}
NBH_HTTP_PORT=${NBH_HTTP_PORT:-80}
NBH_SECRET_KEY=$(head -c 48 /dev/urandom | base64 | tr -d '/+=\n')
NBH_INSTANCE=main
NBH_BASE_IMAGE=localhost/nbhosting/base:bookworm
NBH_DEFAULT_IMAGE=localhost/nbhosting/default:latest
# Hosts whose pages may open unsigned (legacy) links, and sites that may frame the notebooks.
NBH_LEGACY_REFERERS=
NBH_FRAME_ANCESTORS="'self'"
# PostgreSQL instead of the embedded SQLite: DATABASE_URL=postgres://user:pass@host/db
ENV
        umask 022
        echo "wrote $NBH_ENV_FILE"
    fi
    load_env_file
}

# The site settings, where they exist, and the defaults of what they leave out.
load_env_file() {
    if [ -f "$NBH_ENV_FILE" ]; then
        set -a
        # shellcheck disable=SC1090
        . "$NBH_ENV_FILE"
        set +a
    fi
    : "${NBH_DATA_ROOT:=/var/lib/nbhosting}" "${NBH_VENV:=/opt/nbhosting/venv}" "${NBH_HTTP_PORT:=80}"
    : "${NBH_INSTANCE:=main}"
    : "${NBH_BASE_IMAGE:=localhost/nbhosting/base:bookworm}" "${NBH_DEFAULT_IMAGE:=localhost/nbhosting/default:latest}"
    export NBH_ENV_FILE NBH_DATA_ROOT NBH_VENV NBH_HTTP_PORT NBH_INSTANCE NBH_BASE_IMAGE NBH_DEFAULT_IMAGE
}

apt_install() {
    local missing=()
    for package in "$@"; do
        # Not `dpkg-query | grep -q`: grep leaving early can fail the pipeline under pipefail.
        case "$(dpkg-query -W -f='${Status}' "$package" 2>/dev/null || true)" in
            *" ok installed") ;;
            *) missing+=("$package") ;;
        esac
    done
    [ ${#missing[@]} -eq 0 ] && { echo "all present"; return; }
    # Third-party sources may be unreachable; Debian's own are what we need.
    apt-get update -q > /dev/null 2>&1 || warn "apt-get update reported errors; trying anyway"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" > /dev/null \
        || die "apt-get could not install ${missing[*]}"
    echo "installed ${missing[*]}"
}

# Writes a template of this tree (systemd units, the logrotate rule) with the site's paths in it.
render() {
    local new
    new=$(mktemp)
    sed "s|@SRC@|$src|g; s|@ENV@|$NBH_ENV_FILE|g; s|@LOG_DIR@|$NBH_LOG_DIR|g" "$1" > "$new"
    replace_if_changed "$new" "$2"
}

# Puts the file $1 (a temporary one) in place of $2 only if they differ: a rerun rewrites nothing.
replace_if_changed() {
    if ! cmp -s "$1" "$2"; then install -m 644 "$1" "$2"; fi
    rm -f "$1"
}

# ln -sf, only if the link does not point there already.
ensure_link() {
    [ "$(readlink "$2" 2>/dev/null || true)" = "$1" ] || ln -sfn "$1" "$2"
}

podman_answers() { curl -sf --max-time 5 --unix-socket /run/podman/podman.sock http://d/_ping > /dev/null 2>&1; }

# Runs a command in the background as a service, where systemd is not PID 1, and starts it again
# whenever it exits (scripts/lib/respawn). Replaces a running copy gracefully (SIGTERM, then wait)
# so that code changes are picked up.
start_daemon() {
    local name=$1; shift
    mkdir -p "$NBH_PID_DIR" "$NBH_LOG_DIR"
    stop_daemon "$name"
    # A working folder of its own: a service must not leave files (podman's oom files, say) in
    # whatever folder install.sh was run from, nor in another service's. `exec`: the recorded pid
    # is respawn's own, and setsid (not a group leader here, so it does not fork) makes it the
    # leader of a group that holds the service too.
    mkdir -p "$NBH_PID_DIR/$name"
    (cd "$NBH_PID_DIR/$name" && exec setsid "$NBH_LIB/respawn" "$name" "$@" >> "$NBH_LOG_DIR/$name.log" 2>&1 < /dev/null) &
    echo $! > "$NBH_PID_DIR/$name.pid"
}

# Whether the service $1 was started by an install.sh older than respawn: it runs, but nothing
# would start it again. (A service that another tool started, with no pid file of ours, is not.)
unkept_daemon() {
    local pid cmdline
    pid=$(cat "$NBH_PID_DIR/$1.pid" 2>/dev/null) || return 1
    cmdline=$(tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null) || return 1
    [[ $cmdline != *"/scripts/lib/respawn $1 "* ]]
}

# Stops a background service started by start_daemon, with the processes of its group (gunicorn's
# workers, a loop's sleep): SIGTERM, then SIGKILL after 30 s.
stop_daemon() {
    local pidfile=$NBH_PID_DIR/$1.pid pid targets=() children=() target
    [ -f "$pidfile" ] || return 0
    pid=$(cat "$pidfile")
    # Pid files written before services were exec'd hold a subshell's pid; the service is its child.
    if kill -0 "$pid" 2>/dev/null; then
        mapfile -t children < <(child_pids "$pid")
        targets=("$pid" "${children[@]}")
    fi
    for target in "${targets[@]}"; do signal_group TERM "$target"; done
    for _ in $(seq 1 300); do any_alive "${targets[@]}" || break; sleep 0.1; done
    if any_alive "${targets[@]}"; then
        warn "$1 (pid $pid) ignored SIGTERM for 30 s; killing it"
        for target in "${targets[@]}"; do signal_group KILL "$target"; done
    fi
    rm -f "$pidfile"
}

# The process group led by $2 if there is one, else the process $2 alone.
signal_group() { kill -"$1" -- "-$2" 2>/dev/null || kill -"$1" "$2" 2>/dev/null || true; }

any_alive() {
    local pid
    for pid in "$@"; do if kill -0 "$pid" 2>/dev/null; then return 0; fi; done
    return 1
}

# The pids of the children of $1, from /proc (minimal systems have no ps).
child_pids() {
    local stat fields ppid
    for stat in /proc/[0-9]*/stat; do
        { read -r fields < "$stat"; } 2>/dev/null || continue
        fields=${fields##*) }  # after "pid (comm) ": state, ppid, ...
        read -r _ ppid _ <<< "$fields"
        if [ "$ppid" = "$1" ]; then stat=${stat#/proc/}; echo "${stat%/stat}"; fi
    done
}

# What podman's configuration is now: a service started before a change must restart to see it.
podman_config_digest() {
    local file
    for file in /etc/containers/containers.conf /etc/containers/containers.conf.d/*.conf "$PODMAN_DROPIN"; do
        if [ -f "$file" ]; then cat "$file"; fi
    done | sha256sum | cut -c1-32
}

# Under systemd, Debian's podman.service gets a working folder of its own through this drop-in.
PODMAN_DROPIN=/etc/systemd/system/podman.service.d/nbhosting.conf

start_podman_service() {
    local digest stamp=$NBH_PID_DIR/podman.config
    if has_systemd; then
        mkdir -p "$(dirname "$PODMAN_DROPIN")"
        cp "$src/systemd/podman.service.d/nbhosting.conf" "$PODMAN_DROPIN"
        systemctl daemon-reload
    fi
    digest=$(podman_config_digest)
    mkdir -p "$NBH_PID_DIR"
    if has_systemd; then
        systemctl enable --now podman.socket > /dev/null
        # socket-activated: stopping the service makes the next request start it on the new config
        [ "$(cat "$stamp" 2>/dev/null || true)" = "$digest" ] || systemctl stop podman.service > /dev/null 2>&1 || true
    elif ! podman_answers || [ "$(cat "$stamp" 2>/dev/null || true)" != "$digest" ] || unkept_daemon podman; then
        start_daemon podman "$src/scripts/nbh-serve" podman
    fi
    echo "$digest" > "$stamp"
    for _ in $(seq 1 100); do podman_answers && { echo "podman service answers"; return; }; sleep 0.1; done
    die "podman's REST service does not answer on /run/podman/podman.sock"
}

ensure_venv() {
    local requirements=$1 stamp
    [ -x "$NBH_VENV/bin/python" ] || /usr/bin/python3 -m venv "$NBH_VENV"
    stamp=$(sha256sum < "$requirements")
    stamp="$NBH_VENV/.installed-${stamp:0:16}"
    if [ ! -f "$stamp" ]; then
        "$NBH_VENV/bin/pip" install -q --disable-pip-version-check -r "$requirements" \
            || die "pip could not install $(basename "$requirements") into $NBH_VENV"
        # nbgitpuller's jupyter-server brings rfc3987-syntax (jupyter-events -> jsonschema's optional
        # IRI format), which compiles a grammar whenever nbformat is imported: 3 s more at every
        # start of gunicorn and nbh. Nothing on the host validates IRIs (the image drops it too).
        "$NBH_VENV/bin/pip" uninstall -y -q --disable-pip-version-check rfc3987-syntax
        touch "$stamp"
        echo "installed $(basename "$requirements")"
    else
        echo "up to date"
    fi
}

# Builds an image from a folder, unless an image built from the same inputs exists already.
build_image() {
    local context=$1 image=$2; shift 2
    local inputs base files
    # The base image's id is part of the inputs; absent, it is "" (the build will then fail loudly).
    base=$(podman image inspect --format '{{.Id}}' "$NBH_BASE_IMAGE" 2>/dev/null || true)
    files=$(cd "$context" && find . -type f -print0 | sort -z | xargs -0 sha256sum)
    inputs=$(printf '%s\n%s\n%s\n' "$files" "$*" "$base" | sha256sum)
    inputs=${inputs:0:32}
    if [ "$(podman image inspect --format '{{index .Labels "nbhosting.inputs"}}' "$image" 2>/dev/null)" = "$inputs" ]; then
        echo "$image is up to date"
        return
    fi
    echo "building $image (a few minutes the first time)"
    mkdir -p "$NBH_LOG_DIR"
    local cert=/etc/ssl/certs/ca-certificates.crt
    podman build --network host --label "nbhosting.inputs=$inputs" \
        -v "$cert:$cert:ro" --build-arg "PIP_CERT=$cert" "$@" -t "$image" "$context" > "$NBH_LOG_DIR/build.log" 2>&1 \
        || { tail -n 30 "$NBH_LOG_DIR/build.log" >&2; die "building $image failed (log: $NBH_LOG_DIR/build.log)"; }
}

prepare_data_root() {
    # Traversable, not listable: students' uids reach the course clones inside, and nginx the
    # static files, but no local user can browse the database or other students' folders.
    mkdir -p "$NBH_DATA_ROOT" "$NBH_LOG_DIR"
    chmod 711 "$NBH_DATA_ROOT"
}

protect_database() {
    # It holds the courses' signing secrets and the servers' URL secrets.
    local db
    for db in "$NBH_DATA_ROOT"/db.sqlite3*; do [ -e "$db" ] && chmod 600 "$db"; done
    return 0
}

start_gunicorn() {
    if has_systemd; then
        render "$src/systemd/nbhosting-gunicorn.service" /etc/systemd/system/nbhosting-gunicorn.service
        systemctl daemon-reload
        systemctl enable nbhosting-gunicorn.service > /dev/null
        systemctl restart nbhosting-gunicorn.service
    else
        start_daemon gunicorn "$src/scripts/nbh-serve" gunicorn
    fi
    for _ in $(seq 1 100); do [ -S "$NBH_DATA_ROOT/run/gunicorn.sock" ] && { echo "gunicorn started"; return; }; sleep 0.1; done
    die "gunicorn did not start (log: $NBH_LOG_DIR/gunicorn.log)"
}

# Course autopull every 5 minutes: a systemd timer, or a looping command where systemd is not PID 1.
start_autopull() {
    if has_systemd; then
        local unit
        for unit in nbhosting-autopull.service nbhosting-autopull.timer; do
            render "$src/systemd/$unit" "/etc/systemd/system/$unit"
        done
        systemctl daemon-reload
        systemctl enable --now nbhosting-autopull.timer > /dev/null
    else
        start_daemon autopull "$src/scripts/nbh" course-auto-pull --all --every 300
    fi
    echo "autopull runs every 5 minutes"
}

# A long-running nbh loop: a systemd unit where systemd runs, a background daemon otherwise.
start_loop() {
    local name=$1; shift
    if has_systemd; then
        render "$src/systemd/nbhosting-$name.service" "/etc/systemd/system/nbhosting-$name.service"
        systemctl daemon-reload
        systemctl enable "nbhosting-$name.service" > /dev/null
        systemctl restart "nbhosting-$name.service"
    else
        start_daemon "$name" "$src/scripts/nbh" "$@"
    fi
}

# Rotates the log files: Debian's logrotate timer does it where systemd runs; elsewhere, an
# hourly loop run the same way as the other services.
install_logrotate() {
    render "$src/scripts/lib/logrotate.conf.in" /etc/logrotate.d/nbhosting
    logrotate --debug /etc/logrotate.d/nbhosting > /dev/null 2>&1 || die "logrotate rejects /etc/logrotate.d/nbhosting"
    has_systemd || start_daemon logrotate "$src/scripts/nbh-serve" logrotate
    echo "logs in $NBH_LOG_DIR are rotated weekly, or beyond 50 MB"
}

configure_nginx() {
    local new
    new=$(mktemp)
    nbh nginx-config --out "$new" > /dev/null
    replace_if_changed "$new" /etc/nginx/sites-available/nbhosting.conf
    ensure_link /etc/nginx/sites-available/nbhosting.conf /etc/nginx/sites-enabled/nbhosting.conf
    # Debian's sample site claims port 80 as default_server.
    [ "$NBH_HTTP_PORT" = 80 ] && rm -f /etc/nginx/sites-enabled/default
    nginx -t -q || die "nginx rejects its configuration"
    if has_systemd; then
        systemctl enable nginx > /dev/null && systemctl reload-or-restart nginx
    elif [ -f /run/nginx.pid ] && kill -0 "$(cat /run/nginx.pid)" 2>/dev/null; then
        nginx -s reload
    else
        nginx
    fi
    echo "nginx serves port $NBH_HTTP_PORT"
}

site_url() {
    local addresses host
    # `hostname -I` fails where the host name does not resolve, and may print nothing.
    addresses=$(hostname -I 2>/dev/null || true)
    read -r host _ <<< "$addresses" || true
    host=${host:-127.0.0.1}
    if [ "$NBH_HTTP_PORT" = 80 ]; then echo "http://$host"; else echo "http://$host:$NBH_HTTP_PORT"; fi
}

create_demo_course() {
    local courses
    # The whole list first, then the match: `nbh course-list | grep -q` could take the wrong branch
    # (grep leaving early, or course-list failing), and course-create would then refuse.
    courses=$(nbh course-list) || die "nbh course-list failed"
    if awk 'NR > 1 && $1 == "demo" {found = 1} END {exit !found}' <<< "$courses"; then
        echo "demo course exists"
        return
    fi
    local repo=$NBH_DATA_ROOT/examples/demo-course
    rm -rf "$repo"
    mkdir -p "$(dirname "$repo")"
    cp -r "$src/examples/demo-course" "$repo"
    git -C "$repo" init -q -b main
    git -C "$repo" add -A
    git -C "$repo" -c user.name=nbhosting -c user.email=nbhosting@localhost commit -q -m "demo course"
    nbh course-create demo "$repo"
}

wait_for_http() {
    for _ in $(seq 1 100); do
        curl -s -o /dev/null --max-time 5 "$1" && return
        sleep 0.1
    done
    die "the site does not answer at $1"
}
