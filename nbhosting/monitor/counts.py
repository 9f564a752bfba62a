"""The figures each cycle records, per course and in total, for the staff's statistics."""
import os
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

import psutil
from django.conf import settings

from nbhosting.courses.models import Course
from nbhosting.monitor.models import CourseCount, Cycle


@dataclass
class Tally:
    running: Counter = field(default_factory=Counter)
    stopped: Counter = field(default_factory=Counter)
    kernels: Counter = field(default_factory=Counter)
    busy_kernels: Counter = field(default_factory=Counter)
    culled: int = 0
    errors: int = 0


def workspaces(course: Course) -> int:
    try:
        with os.scandir(course.workspaces_dir) as entries:
            return sum(1 for entry in entries if entry.is_dir(follow_symlinks=False))
    except OSError:
        return 0


def save(tally: Tally, time: datetime, seconds: float) -> Cycle:
    memory = psutil.virtual_memory()
    disk = psutil.disk_usage(str(settings.DATA_ROOT))
    per_course = {course.name: workspaces(course) for course in Course.objects.all()}
    names = sorted(set(per_course) | set(tally.running) | set(tally.stopped))
    cycle = Cycle.objects.create(
        time=time, seconds=seconds,
        running=sum(tally.running.values()), stopped=sum(tally.stopped.values()),
        kernels=sum(tally.kernels.values()), busy_kernels=sum(tally.busy_kernels.values()),
        workspaces=sum(per_course.values()),
        load1=os.getloadavg()[0],
        memory_used=memory.total - memory.available, memory_total=memory.total,
        disk_used=disk.used, disk_total=disk.total,
        culled=tally.culled, errors=tally.errors,
    )
    CourseCount.objects.bulk_create(
        CourseCount(
            cycle=cycle, course=name, running=tally.running[name], stopped=tally.stopped[name],
            kernels=tally.kernels[name], busy_kernels=tally.busy_kernels[name],
            workspaces=per_course.get(name, 0),
        )
        for name in names
    )
    return cycle
