"""Django settings for nbhosting.

Every site-specific value comes from the environment, which install.sh writes to
/etc/nbhosting/nbhosting.env; the defaults suit a single-host install.
"""
import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from nbhosting.sizes import InvalidSize, parse_size


def env_list(name: str, default: str = "") -> list[str]:
    return [item for item in os.environ.get(name, default).replace(",", " ").split() if item]


def env_bool(name: str, default: bool = False) -> bool:
    return os.environ.get(name, str(default)).lower() in ("1", "true", "yes", "on")


BASE_DIR = Path(__file__).resolve().parent.parent
DATA_ROOT = Path(os.environ.get("NBH_DATA_ROOT", "/var/lib/nbhosting"))

SECRET_KEY = os.environ.get("NBH_SECRET_KEY", "")
if not SECRET_KEY:
    # Only for commands that need no secret (check, makemigrations); the services refuse to start.
    SECRET_KEY = "unset-" + "x" * 50
DEBUG = env_bool("NBH_DEBUG")
ALLOWED_HOSTS = env_list("NBH_ALLOWED_HOSTS", "*")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "nbhosting.courses",
    "nbhosting.workspaces",
    "nbhosting.containers",
    "nbhosting.gateway",
    "nbhosting.stats",
    "nbhosting.monitor",
    "nbhosting.dashboard",
    "nbhosting.exchange",
    "nbhosting.accounts",
    "nbhosting.classroom",
    "nbhosting.starts",
    "nbhosting.pool",
    "nbhosting.lti",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "nbhosting.urls"
WSGI_APPLICATION = "nbhosting.wsgi.application"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# SQLite is the embedded default. WAL lets readers run beside the single writer, IMMEDIATE
# transactions take the write lock up front (no deadlock on lock upgrade), and the timeout makes
# concurrent opens wait for the lock instead of failing.
SQLITE_PATH = DATA_ROOT / "db.sqlite3"
if os.environ.get("DATABASE_URL"):
    DATABASES = {"default": dj_database_url.parse(os.environ["DATABASE_URL"], conn_max_age=60)}
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": SQLITE_PATH,
            "OPTIONS": {
                "timeout": 30,
                "transaction_mode": "IMMEDIATE",
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            },
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

LANGUAGE_CODE = "en-us"
TIME_ZONE = os.environ.get("NBH_TIME_ZONE", "UTC")
USE_I18N = False
USE_TZ = True
STATIC_URL = "/static/"
STATIC_ROOT = DATA_ROOT / "static"
# plotly.js comes from the installed plotly package, served by nginx like any static file: no CDN.
STATICFILES_FINDERS = [
    "django.contrib.staticfiles.finders.FileSystemFinder",
    "django.contrib.staticfiles.finders.AppDirectoriesFinder",
    "nbhosting.dashboard.staticfiles.PlotlyFinder",
]

# One login for everyone (students, teachers, admins): nbhosting.accounts.
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "accounts:login"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# A one-time link to choose a password works this long (and only until the password is set).
PASSWORD_RESET_TIMEOUT = int(os.environ.get("NBH_SET_PASSWORD_LINK_TTL", str(7 * 24 * 3600)))
# Failed logins: per username, per client address, within a window of seconds.
NBH_LOGIN_MAX_FAILURES = int(os.environ.get("NBH_LOGIN_MAX_FAILURES", "5"))
NBH_LOGIN_MAX_FAILURES_PER_ADDRESS = int(os.environ.get("NBH_LOGIN_MAX_FAILURES_PER_ADDRESS", "30"))
NBH_LOGIN_THROTTLE_WINDOW = int(os.environ.get("NBH_LOGIN_THROTTLE_WINDOW", "900"))
# LTI floods, per client address: logins left unfinished (each keeps a row 5 minutes), and refused
# launches (LTI 1.3 and 1.1) within the window above.
NBH_LTI_MAX_PENDING_PER_ADDRESS = int(os.environ.get("NBH_LTI_MAX_PENDING_PER_ADDRESS", "50"))
NBH_LTI_MAX_FAILURES_PER_ADDRESS = int(os.environ.get("NBH_LTI_MAX_FAILURES_PER_ADDRESS", "30"))
# Email for password links: none by default (links are printed by nbh commands instead).
EMAIL_BACKEND = os.environ.get("NBH_EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = os.environ.get("NBH_EMAIL_HOST", "localhost")
EMAIL_PORT = int(os.environ.get("NBH_EMAIL_PORT", "25"))
DEFAULT_FROM_EMAIL = os.environ.get("NBH_EMAIL_FROM", "nbhosting@localhost")
# The site's address as people type it, for links made outside a request (nbh student-register).
NBH_BASE_URL = os.environ.get("NBH_BASE_URL") or "http://localhost" + (
    f":{os.environ['NBH_HTTP_PORT']}" if os.environ.get("NBH_HTTP_PORT", "80") != "80" else "")

# nginx is the only client of gunicorn; it sets X-Forwarded-Proto and X-Real-IP.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "loggers": {"nbhosting": {"handlers": ["console"], "level": os.environ.get("NBH_LOG_LEVEL", "INFO")}},
}

# --- nbhosting ---------------------------------------------------------------------------------
# Which installation this is: podman objects carry it as a label, so that two installs (or a test
# stack) sharing one podman never touch each other's containers.
NBH_INSTANCE = os.environ.get("NBH_INSTANCE", "main")
# What runs the students' servers: the dotted path of a Backend class (containers/backend.py).
NBH_BACKEND = os.environ.get("NBH_BACKEND", "nbhosting.containers.podman.PodmanBackend")
NBH_PODMAN_URL = os.environ.get("NBH_PODMAN_URL", "unix:///run/podman/podman.sock")
NBH_PODMAN_TIMEOUT = int(os.environ.get("NBH_PODMAN_TIMEOUT", "60"))
NBH_DEFAULT_IMAGE = os.environ.get("NBH_DEFAULT_IMAGE", "localhost/nbhosting/default:latest")

# Students get uids from this range; they are never added to /etc/passwd.
NBH_UID_MIN = int(os.environ.get("NBH_UID_MIN", "2000000"))
NBH_UID_MAX = int(os.environ.get("NBH_UID_MAX", "2999999"))
# nginx's workers must reach the students' Jupyter sockets, and nothing else may.
NBH_NGINX_GROUP = os.environ.get("NBH_NGINX_GROUP", "www-data")

# Resource limits of a student's container.
NBH_MEMORY = os.environ.get("NBH_MEMORY", "1g")
NBH_CPUS = float(os.environ.get("NBH_CPUS", "1.0"))
NBH_PIDS = int(os.environ.get("NBH_PIDS", "512"))
# The container's root filesystem is read-only; /tmp is a tmpfs of this size (it counts as memory).
NBH_TMP_SIZE = os.environ.get("NBH_TMP_SIZE", "256m")
# What podman keeps of a container's output on the host's disk (the log starts over past it).
NBH_LOG_SIZE = os.environ.get("NBH_LOG_SIZE", "5m")
# The size of each server's socket folder, a tmpfs the student can write to (Jupyter's socket
# needs none of it): what a student puts there is bounded by it.
NBH_SOCKET_FOLDER_SIZE = os.environ.get("NBH_SOCKET_FOLDER_SIZE", "1m")
# podman's default seccomp profile, which the students' containers get with a few ioctls less.
NBH_SECCOMP_BASE = os.environ.get("NBH_SECCOMP_BASE", "/usr/share/containers/seccomp.json")
# Disk quota of a student's workspace in a course (a course may set its own); 0 or none: unlimited.
NBH_QUOTA = os.environ.get("NBH_QUOTA", "1g")
try:
    parse_size(NBH_QUOTA)
except InvalidSize as exc:
    raise ImproperlyConfigured(f"NBH_QUOTA: {exc}") from None
# How quotas are enforced: auto (from the filesystem of <data>/workspaces), btrfs, xfs or none.
NBH_QUOTA_DRIVER = os.environ.get("NBH_QUOTA_DRIVER", "auto")
# How long a first open may wait for Jupyter; generous, since 20 cold starts share the CPUs.
NBH_SPAWN_TIMEOUT = float(os.environ.get("NBH_SPAWN_TIMEOUT", "180"))
# Admission control (nbhosting.starts): at most this many servers start at once, the others
# queue; an open waits this long for its server before showing the progress page; a queued start
# or a started server whose page nobody polled for NBH_START_ABANDON seconds is dropped or stopped.
NBH_START_CONCURRENCY = int(os.environ.get("NBH_START_CONCURRENCY", str(os.cpu_count() or 1)))
NBH_START_WAIT = float(os.environ.get("NBH_START_WAIT", "0.5"))
NBH_START_ABANDON = int(os.environ.get("NBH_START_ABANDON", "120"))
# Start the notebook's kernel as part of the open, once its server answers, so that the page finds
# it running (containers/kernels.py); an unused one is culled like any idle kernel.
NBH_KERNEL_PRESTART = env_bool("NBH_KERNEL_PRESTART", True)
NBH_STOP_GRACE = int(os.environ.get("NBH_STOP_GRACE", "10"))

# What a student's browser opens inside the server; Notebook 7's single-notebook view suits iframes.
NBH_URL_FORMAT = os.environ.get("NBH_URL_FORMAT", "notebooks/{notebook}")
# Course folders copied along with a notebook on its first open (when they sit beside it).
NBH_COPY_ALONG = env_list("NBH_COPY_ALONG", "data media images figures")

# Launch trust. Legacy unsigned links are accepted only from these exact Referer hosts ...
NBH_LEGACY_REFERERS = env_list("NBH_LEGACY_REFERERS")
# ... or from loopback when this is set (development only).
NBH_DEV_LOOPBACK = env_bool("NBH_DEV_LOOPBACK")
# Sites allowed to frame the gateway and the notebooks (CSP frame-ancestors sources).
NBH_FRAME_ANCESTORS = env_list("NBH_FRAME_ANCESTORS", "'self'")

# The site's public address (https://nb.example.edu), for the URLs given to an LMS; empty: the
# address each request came to.
NBH_PUBLIC_URL = os.environ.get("NBH_PUBLIC_URL", "")

# nbgrader courses: the default submission size limit, in kilobytes (nbgrader's own unit).
NBH_SUBMISSION_LIMIT_KB = int(os.environ.get("NBH_SUBMISSION_LIMIT_KB", "20000"))
# Each student's share of an nbgrader course's exchange (a course may set its own): at most this
# much in their drop box at once, and at most this much of their accepted submissions kept.
NBH_EXCHANGE_QUOTA = os.environ.get("NBH_EXCHANGE_QUOTA", "100m")
try:
    parse_size(NBH_EXCHANGE_QUOTA)
except InvalidSize as exc:
    raise ImproperlyConfigured(f"NBH_EXCHANGE_QUOTA: {exc}") from None

# --- container lifecycle (the monitor) ---------------------------------------------------------
# All in seconds. Kernels idle this long are culled inside Jupyter, which frees most of the memory.
NBH_CULL_KERNELS_AFTER = int(os.environ.get("NBH_CULL_KERNELS_AFTER", str(20 * 60)))
# How often Jupyter looks for idle kernels (default: a tenth of the above, between 1 s and 5 min).
NBH_CULL_KERNELS_INTERVAL = int(
    os.environ.get("NBH_CULL_KERNELS_INTERVAL", str(max(1, min(300, NBH_CULL_KERNELS_AFTER // 10))))
)
# A server idle this long (no busy kernel, no open connection, no request) is stopped.
NBH_CULL_SERVER_AFTER = int(os.environ.get("NBH_CULL_SERVER_AFTER", str(60 * 60)))
# A stopped container is removed this long after it stopped; the workspace always stays.
NBH_REMOVE_AFTER = int(os.environ.get("NBH_REMOVE_AFTER", str(7 * 24 * 3600)))
# A running server is stopped this long after it started, active or not; 0 turns it off.
NBH_MAX_LIFETIME = int(os.environ.get("NBH_MAX_LIFETIME", "0"))
# The monitor's period, and how many servers it probes at once.
NBH_MONITOR_PERIOD = int(os.environ.get("NBH_MONITOR_PERIOD", "60"))
NBH_MONITOR_PROBES = int(os.environ.get("NBH_MONITOR_PROBES", "16"))
