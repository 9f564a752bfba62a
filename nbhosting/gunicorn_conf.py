"""gunicorn settings. Threads, not processes: an open may wait seconds for a Jupyter server to
start, and must not hold a whole worker process (nor its memory) while doing so. Cold starts
run outside requests (nbhosting.starts): each worker runs a thread that takes queued starts, so
no request waits for a whole start; the timeouts below only bound staff actions that still do."""
import os

_run = os.path.join(os.environ.get("NBH_DATA_ROOT", "/var/lib/nbhosting"), "run")
bind = f"unix:{_run}/gunicorn.sock"
umask = 0o007  # the socket is for nginx (group www-data) only
worker_class = "gthread"
workers = int(os.environ.get("NBH_GUNICORN_WORKERS", "3"))
threads = int(os.environ.get("NBH_GUNICORN_THREADS", "24"))
timeout = 300
graceful_timeout = 30
accesslog = "-"


def when_ready(server) -> None:
    """gunicorn gives its socket the master's group; nginx's workers reach it through theirs."""
    import grp

    os.chown(bind.removeprefix("unix:"), 0, grp.getgrnam(os.environ.get("NBH_NGINX_GROUP", "www-data")).gr_gid)


def post_worker_init(worker) -> None:
    """Each worker takes its share of queued starts from the moment it runs, not only once it
    has served an open: a worker that died leaves its queue to the others."""
    from nbhosting.starts.worker import dispatcher

    dispatcher()
