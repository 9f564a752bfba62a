"""The figures of a course's statistics page. Each one is a small table aggregated in the database
(for its CSV export) and a plotly figure built from that table (for the page).

Counting, grouping and percentiles happen in SQL over the indexes of OpenEvent and UsageSample,
so a year of a large course costs a few grouped scans, never a Python loop over raw events.
"""
import csv
import io
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.db import connection
from django.db.models import Count, F, Max, Min, QuerySet, Window
from django.db.models.functions import RowNumber, TruncDate, TruncHour
from django.utils import timezone

from nbhosting.stats.models import OpenEvent, UsageSample

# The heatmap shows the most active students; its CSV holds every (notebook, student) pair.
HEATMAP_STUDENTS = 150


@dataclass(frozen=True)
class Scope:
    course: str
    since: datetime | None = None  # None: all time
    excluded: frozenset[str] = frozenset()  # student ids left out (the staff, by default)

    def events(self) -> QuerySet:
        events = OpenEvent.objects.filter(course=self.course)
        if self.since is not None:
            events = events.filter(time__gte=self.since)
        if self.excluded:
            events = events.exclude(student__in=self.excluded)
        return events

    def samples(self, course: str) -> QuerySet:
        samples = UsageSample.objects.filter(course=course)
        return samples.filter(time__gte=self.since) if self.since is not None else samples


@dataclass
class Table:
    columns: list[str]
    rows: list[tuple] = field(default_factory=list)

    def column(self, name: str) -> list:
        index = self.columns.index(name)
        return [row[index] for row in self.rows]

    def csv(self) -> str:
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(self.columns)
        writer.writerows([_plain(value) for value in row] for row in self.rows)
        return out.getvalue()


@dataclass(frozen=True)
class Figure:
    name: str
    title: str
    table: Callable[[Scope], Table]
    plot: Callable[[Table], dict]


def _plain(value):
    return value.isoformat() if isinstance(value, (date, datetime)) else value


def _as_datetime(value) -> datetime:
    """Raw SQL gives SQLite's text or PostgreSQL's datetime."""
    return datetime.fromisoformat(value) if isinstance(value, str) else value


def _layout(title: str, **extra) -> dict:
    return {"title": {"text": title}, "margin": {"t": 40, "r": 20}, "legend": {"orientation": "h"}, **extra}


def _lines(table: Table, x: str, ys: Iterable[str], title: str, **layout) -> dict:
    xs = [_plain(v) for v in table.column(x)]
    data = [{"type": "scatter", "mode": "lines+markers", "name": y, "x": xs, "y": table.column(y)} for y in ys]
    return {"data": data, "layout": _layout(title, **layout)}


# -- students over time -------------------------------------------------------------------------
def students_table(scope: Scope) -> Table:
    unique = dict(
        scope.events().annotate(day=TruncDate("time")).values_list("day")
        .annotate(n=Count("student", distinct=True)).order_by("day")
    )
    # A student's first day counts over all time, not just the period shown.
    firsts = Scope(scope.course, None, scope.excluded).events().values("student").annotate(first=Min("time"))
    new_per_day = Counter(timezone.localtime(row["first"]).date() for row in firsts)
    days = sorted(set(unique) | {d for d in new_per_day if scope.since is None or d >= scope.since.date()})
    total = sum(n for d, n in new_per_day.items() if days and d < days[0])
    table = Table(["day", "unique_students", "new_students", "cumulative_students"])
    for day in days:
        total += new_per_day.get(day, 0)
        table.rows.append((day, unique.get(day, 0), new_per_day.get(day, 0), total))
    return table


def students_plot(table: Table) -> dict:
    return _lines(table, "day", ["unique_students", "new_students", "cumulative_students"], "Students per day")


# -- notebooks opened per day ------------------------------------------------------------------
def opens_table(scope: Scope) -> Table:
    rows = (
        scope.events().annotate(day=TruncDate("time")).values_list("day")
        .annotate(opens=Count("id"), notebooks=Count("notebook", distinct=True)).order_by("day")
    )
    return Table(["day", "opens", "distinct_notebooks"], list(rows))


def opens_plot(table: Table) -> dict:
    xs = [_plain(v) for v in table.column("day")]
    return {"data": [{"type": "bar", "name": "opens", "x": xs, "y": table.column("opens")}],
            "layout": _layout("Notebooks opened per day")}


# -- students per notebook, notebooks per student ----------------------------------------------
def students_per_notebook_table(scope: Scope) -> Table:
    rows = (
        scope.events().values_list("notebook")
        .annotate(students=Count("student", distinct=True), opens=Count("id")).order_by("notebook")
    )
    return Table(["notebook", "students", "opens"], list(rows))


def students_per_notebook_plot(table: Table) -> dict:
    return {"data": [{"type": "bar", "x": table.column("notebook"), "y": table.column("students")}],
            "layout": _layout("Students per notebook", xaxis={"automargin": True})}


def notebooks_per_student_table(scope: Scope) -> Table:
    per_student = scope.events().values("student").annotate(n=Count("notebook", distinct=True))
    histogram = Counter(per_student.values_list("n", flat=True))
    return Table(["notebooks", "students"], sorted(histogram.items()))


def notebooks_per_student_plot(table: Table) -> dict:
    return {"data": [{"type": "bar", "x": table.column("notebooks"), "y": table.column("students")}],
            "layout": _layout("Notebooks opened per student",
                              xaxis={"title": {"text": "notebooks opened"}},
                              yaxis={"title": {"text": "students"}})}


# -- notebook x student heatmap ----------------------------------------------------------------
def heatmap_table(scope: Scope) -> Table:
    rows = scope.events().values_list("notebook", "student").annotate(opens=Count("id")).order_by("notebook", "student")
    return Table(["notebook", "student", "opens"], list(rows))


def heatmap_plot(table: Table) -> dict:
    totals: Counter = Counter()
    for _, student, opens in table.rows:
        totals[student] += opens
    students = sorted(s for s, _ in totals.most_common(HEATMAP_STUDENTS))
    notebooks = sorted({notebook for notebook, _, _ in table.rows})
    column, line = {s: i for i, s in enumerate(students)}, {n: i for i, n in enumerate(notebooks)}
    z: list[list[int | None]] = [[None] * len(students) for _ in notebooks]
    for notebook, student, opens in table.rows:
        if student in column:
            z[line[notebook]][column[student]] = opens
    title = "Opens per notebook and student" + (
        f" (the {HEATMAP_STUDENTS} most active students)" if len(totals) > HEATMAP_STUDENTS else "")
    return {"data": [{"type": "heatmap", "x": students, "y": notebooks, "z": z, "colorscale": "Blues"}],
            "layout": _layout(title, xaxis={"showticklabels": len(students) <= 40}, yaxis={"automargin": True})}


# -- monitor counts: containers and kernels, host resources -------------------------------------
def _hourly(samples: QuerySet, **aggregates) -> list[dict]:
    return list(samples.annotate(hour=TruncHour("time")).values("hour").annotate(**aggregates).order_by("hour"))


def containers_table(scope: Scope) -> Table:
    table = Table(["hour", "scope", "containers", "kernels", "busy_kernels"])
    for label, course in (("course", scope.course), ("site", "")):
        rows = _hourly(scope.samples(course), containers=Max("containers"), kernels=Max("kernels"),
                       busy=Max("busy_kernels"))
        table.rows += [(r["hour"], label, r["containers"], r["kernels"], r["busy"]) for r in rows]
    return table


def containers_plot(table: Table) -> dict:
    data = []
    for label in ("course", "site"):
        rows = [row for row in table.rows if row[1] == label]
        for index, name in ((2, "containers"), (3, "kernels")):
            data.append({"type": "scatter", "mode": "lines", "name": f"{label} {name}",
                         "x": [_plain(r[0]) for r in rows], "y": [r[index] for r in rows]})
    return {"data": data, "layout": _layout("Running containers and kernels (hourly maximum)")}


def host_table(scope: Scope) -> Table:
    rows = _hourly(scope.samples(""), disk=Min("disk_free"), mem=Min("mem_free"), load=Max("load1"))
    gib = 1024 ** 3
    return Table(["hour", "disk_free_gib", "mem_free_gib", "load1"], [
        (r["hour"], None if r["disk"] is None else round(r["disk"] / gib, 2),
         None if r["mem"] is None else round(r["mem"] / gib, 2), r["load"]) for r in rows])


def host_plot(table: Table) -> dict:
    xs = [_plain(v) for v in table.column("hour")]
    data = [
        {"type": "scatter", "mode": "lines", "name": "free disk (GiB)", "x": xs, "y": table.column("disk_free_gib")},
        {"type": "scatter", "mode": "lines", "name": "free memory (GiB)", "x": xs, "y": table.column("mem_free_gib")},
        {"type": "scatter", "mode": "lines", "name": "load (1 min)", "x": xs, "y": table.column("load1"), "yaxis": "y2"},
    ]
    return {"data": data, "layout": _layout("Host: free disk and memory (hourly minimum), load (hourly maximum)",
                                            yaxis2={"overlaying": "y", "side": "right", "title": {"text": "load"}})}


# -- time to ready ------------------------------------------------------------------------------
def ready_table(scope: Scope) -> Table:
    """Median and 95th percentile (nearest rank) of each hour's time-to-ready, computed in SQL with
    window functions (SQLite and PostgreSQL alike)."""
    ranked = scope.events().annotate(hour=TruncHour("time")).annotate(
        position=Window(RowNumber(), partition_by=[F("hour")], order_by=F("seconds").asc()),
        total=Window(Count("id"), partition_by=[F("hour")]),
    ).values("hour", "seconds", "position", "total")
    inner, params = ranked.query.sql_with_params()
    sql = (
        "SELECT hour, MAX(total), MIN(CASE WHEN position >= 0.5 * total THEN seconds END), "
        "MIN(CASE WHEN position >= 0.95 * total THEN seconds END), AVG(seconds) "
        f"FROM ({inner}) ranked GROUP BY hour ORDER BY hour"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    return Table(["hour", "opens", "median_seconds", "p95_seconds", "mean_seconds"],
                 [(_as_datetime(h), n, round(m, 3), round(p, 3), round(a, 3)) for h, n, m, p, a in rows])


def ready_plot(table: Table) -> dict:
    return _lines(table, "hour", ["median_seconds", "p95_seconds"], "Time to ready per hour (seconds)")


FIGURES: dict[str, Figure] = {
    figure.name: figure for figure in (
        Figure("students", "Students over time", students_table, students_plot),
        Figure("opens", "Notebooks opened per day", opens_table, opens_plot),
        Figure("students-per-notebook", "Students per notebook", students_per_notebook_table, students_per_notebook_plot),
        Figure("notebooks-per-student", "Notebooks per student", notebooks_per_student_table, notebooks_per_student_plot),
        Figure("heatmap", "Notebook × student opens", heatmap_table, heatmap_plot),
        Figure("containers", "Containers and kernels", containers_table, containers_plot),
        Figure("host", "Host resources", host_table, host_plot),
        Figure("ready", "Time to ready", ready_table, ready_plot),
    )
}

PERIODS = {"7": 7, "30": 30, "90": 90, "365": 365, "all": None}
DEFAULT_PERIOD = "30"


def since(period: str) -> datetime | None:
    days = PERIODS.get(period, PERIODS[DEFAULT_PERIOD])
    return None if days is None else timezone.now() - timedelta(days=days)
