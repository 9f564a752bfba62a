"""The figures each cycle records, per course and in total, for the staff's statistics."""
import os
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

import psutil
from django.conf import settings
from django.db import transaction

from nbhosting.courses.models import Course
from nbhosting.monitor.models import Cycle
from nbhosting.stats.models import record_sample


@dataclass
class Tally:
    running: Counter[str] = field(default_factory=Counter)
    stopped: Counter[str] = field(default_factory=Counter)
    kernels: Counter[str] = field(default_factory=Counter)
    busy_kernels: Counter[str] = field(default_factory=Counter)
    culled: int = 0
    errors: int = 0


def workspaces(course: Course) -> int:
    try:
        with os.scandir(course.workspaces_dir) as entries:
            return sum(1 for entry in entries if entry.is_dir(follow_symlinks=False))
    except OSError:
        return 0


def save(tally: Tally, time: datetime, seconds: float) -> Cycle:
    """One usage sample for the site with the host's figures, one per course, and the cycle."""
    per_course = {course.name: workspaces(course) for course in Course.objects.all()}
    names = sorted(set(per_course) | set(tally.running) | set(tally.stopped))
    total = {"containers": sum(tally.running.values()), "kernels": sum(tally.kernels.values()),
             "busy_kernels": sum(tally.busy_kernels.values())}
    with transaction.atomic():
        record_sample(
            "", **total, workspaces=sum(per_course.values()), time=time, load1=os.getloadavg()[0],
            mem_free=psutil.virtual_memory().available, disk_free=psutil.disk_usage(str(settings.DATA_ROOT)).free,
        )
        for name in names:
            record_sample(name, containers=tally.running[name], kernels=tally.kernels[name],
                          busy_kernels=tally.busy_kernels[name], workspaces=per_course.get(name, 0), time=time)
        return Cycle.objects.create(
            time=time, seconds=seconds, running=total["containers"], stopped=sum(tally.stopped.values()),
            kernels=total["kernels"], busy_kernels=total["busy_kernels"], culled=tally.culled, errors=tally.errors,
        )
