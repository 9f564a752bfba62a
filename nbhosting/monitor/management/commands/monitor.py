import logging
import signal
import threading

from django.conf import settings
from django.core.management.base import CommandError
from django.db import close_old_connections

from nbhosting.cli import NbhCommand
from nbhosting.containers.backend import BackendError
from nbhosting.containers.backends import get_backend as backend
from nbhosting.monitor import cycle

log = logging.getLogger("nbhosting.monitor")


class Command(NbhCommand):
    help = ("Cull idle student servers, keep the database and podman in agreement, record counts; "
            "every NBH_MONITOR_PERIOD seconds, or once with --once.")

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="run a single cycle and exit")

    def handle(self, once: bool, **options):
        if once:
            try:
                done = cycle.run(backend())
            except BackendError as exc:
                raise CommandError(str(exc)) from None
            self.stdout.write(
                f"{done.running} running, {done.stopped} stopped, {done.kernels} kernels "
                f"({done.busy_kernels} busy), {done.culled} culled, {done.errors} errors, {done.seconds:.2f}s"
            )
            return
        self.loop()

    def loop(self) -> None:
        stopping = threading.Event()
        # systemd and start_daemon stop us with SIGTERM: finish the cycle under way, then leave.
        signal.signal(signal.SIGTERM, lambda *_: stopping.set())
        signal.signal(signal.SIGINT, lambda *_: stopping.set())
        log.info("monitor started: period %ss, kernels culled after %ss, servers stopped after %ss, "
                 "removed after %ss, max lifetime %s", settings.NBH_MONITOR_PERIOD,
                 settings.NBH_CULL_KERNELS_AFTER, settings.NBH_CULL_SERVER_AFTER, settings.NBH_REMOVE_AFTER,
                 settings.NBH_MAX_LIFETIME or "off")
        while not stopping.is_set():
            close_old_connections()
            try:
                cycle.run(backend())
            except Exception:  # podman or the database away for a while: try again next period
                log.exception("monitor cycle failed")
            stopping.wait(settings.NBH_MONITOR_PERIOD)
        log.info("monitor stopped")
