#!/usr/bin/env bash
# nbhosting installer for Debian 12: installs and starts the platform with a demo course, then
# prints a link to open. Safe to run again: every step skips what is already done.
#
# Site settings live in /etc/nbhosting/nbhosting.env (written on the first run; edit it and rerun).
# On the first run, NBH_HTTP_PORT=8080 ./install.sh picks another port than 80.
#
# ./install.sh --uninstall [--purge]: stops and removes what it installed; keeps the courses,
# workspaces, database, site settings and logs, unless --purge.
set -euo pipefail
src=$(dirname "$(readlink -f "$0")")
# shellcheck source=scripts/lib/common.sh
. "$src/scripts/lib/common.sh"
loud_failures

usage="usage: ./install.sh [--uninstall [--purge]]"
case "$*" in
    "") ;;
    --uninstall) uninstall=keep ;;
    "--uninstall --purge" | "--purge --uninstall") uninstall=purge ;;
    -h | --help) echo "$usage"; exit 0 ;;
    *) die "$usage" ;;
esac
[ "$(id -u)" = 0 ] || die "install.sh must run as root"
if [ -n "${uninstall:-}" ]; then
    # shellcheck source=scripts/lib/uninstall.sh
    . "$src/scripts/lib/uninstall.sh"
    uninstall "$uninstall"
    exit 0
fi
grep -q 'bookworm' /etc/os-release || warn "this is not Debian 12 (bookworm); continuing anyway"

step "site settings"
write_env_file

step "system packages"
apt_install podman runc catatonit conmon uidmap nginx debootstrap git python3-venv ca-certificates curl sqlite3 \
    logrotate btrfs-progs

step "podman"
bash "$src/scripts/lib/configure-podman.sh"

step "python environment"
ensure_venv "$src/requirements.txt"

step "notebook images"
bash "$src/images/base/build.sh" "$NBH_BASE_IMAGE"
bash "$src/scripts/lib/configure-podman.sh" "$NBH_BASE_IMAGE"
build_image "$src/images/default" "$NBH_DEFAULT_IMAGE" --build-arg "BASE=$NBH_BASE_IMAGE"
# After the probe, which may have changed podman's configuration: the service runs with it.
start_podman_service

step "disk quotas"
prepare_data_root
ensure_disk_quotas

step "database and static files"
nbh migrate -v0
protect_database
nbh collectstatic --noinput -v0
ensure_link "$src/scripts/nbh" /usr/local/bin/nbh

step "services"
start_gunicorn
configure_nginx
start_autopull
start_loop exchange-check exchange-check --every 20
echo "the nbgrader exchange check runs every 20 seconds"
start_loop monitor monitor
echo "the monitor culls idle servers every ${NBH_MONITOR_PERIOD:-60} seconds"
install_logrotate

step "demo course"
create_demo_course

step "smoke check"
url=$(nbh course-sign-url demo intro.ipynb demo-student --ttl 604800 --base "$(site_url)")
wait_for_http "$(site_url)/c/none"
# Opens the link as the student's browser would and runs a cell through nginx (one line either way).
smoke=$("$NBH_VENV/bin/python" "$src/scripts/lib/smoke.py" "$url" 2>&1) \
    || die "nbhosting is not running: ${smoke##*$'\n'}"
echo "$smoke"
cat <<MSG

nbhosting is running. Open the demo notebook (link valid for 7 days):
  $url
Manage courses with: nbh course-list | nbh course-create NAME GIT_URL | nbh help
Staff dashboard: $(site_url)/staff/  (log in at /staff/login/; create an account with:
  nbh staff-create NAME --admin)
MSG
