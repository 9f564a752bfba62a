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

from django.db import connection, models
from django.db.models import Case, Count, F, FloatField, Func, IntegerField, Max, Min, QuerySet, Sum, Value, When
from django.db.models.expressions import Expression
from django.db.models.functions import Cast, Concat, Substr, TruncDate, TruncHour
from django.utils import timezone

from nbhosting.stats.models import DailyActivity, OpenEvent, UsageSample

# The heatmap shows the most active students; its CSV holds every (notebook, student) pair.
HEATMAP_STUDENTS = 150
# Time series are hourly up to this period, daily beyond (a year of hours is unreadable anyway).
HOURLY_UP_TO = timedelta(days=31)


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

    def daily(self) -> QuerySet:
        """The per-student-day rollup, for the figures that count students or opens per day."""
        days = DailyActivity.objects.filter(course=self.course)
        if self.since is not None:
            days = days.filter(day__gte=timezone.localdate(self.since))
        if self.excluded:
            days = days.exclude(student__in=self.excluded)
        return days

    @property
    def hourly(self) -> bool:
        return self.since is not None and timezone.now() - self.since <= HOURLY_UP_TO

    def samples(self, course: str) -> QuerySet:
        samples = UsageSample.objects.filter(course=course)
        return samples.filter(time__gte=self.since) if self.since is not None else samples


@dataclass
class Table:
    columns: list[str]
    rows: list[tuple] = field(default_factory=list)
    truncated: bool = False  # the rows are a selection (the heatmap's most active students)

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
    table: Callable[[Scope], Table]  # what the CSV export holds
    plot: Callable[[Table], dict]
    plotted: Callable[[Scope], Table] | None = None  # a smaller table for the plot, when the CSV's is large

    def figure(self, scope: Scope) -> tuple[dict, int]:
        table = (self.plotted or self.table)(scope)
        return self.plot(table), len(table.rows)


def period_start(field: str, unit: str) -> Expression:
    """The day or hour a timestamp falls in, in the site's time zone. On SQLite, Django's own
    truncation calls a Python function per row; SQLite stores UTC text, so for a UTC site a prefix
    of it is the answer, and strftime with the zone's current UTC offset serves the others."""
    if connection.vendor != "sqlite":
        return TruncDate(field) if unit == "day" else TruncHour(field)
    offset = int(timezone.localtime().utcoffset().total_seconds())
    if offset == 0:
        prefix = Substr(F(field), 1, 10 if unit == "day" else 13, output_field=models.CharField())
        return prefix if unit == "day" else Concat(prefix, Value(":00:00"), output_field=models.CharField())
    fmt = "%Y-%m-%d" if unit == "day" else "%Y-%m-%d %H:00:00"
    return Func(Value(fmt), F(field), Value(f"{offset:+d} seconds"), function="strftime",
                output_field=models.CharField())


def as_date(value) -> date:
    return date.fromisoformat(value) if isinstance(value, str) else value


def _as_datetime(value) -> datetime:
    """SQLite gives text (in the site's time zone, naive); PostgreSQL a datetime."""
    value = datetime.fromisoformat(value) if isinstance(value, str) else value
    return timezone.make_aware(value) if timezone.is_naive(value) else value


def _plain(value):
    return value.isoformat() if isinstance(value, (date, datetime)) else value


def _layout(title: str, **extra) -> dict:
    return {"title": {"text": title}, "margin": {"t": 40, "r": 20}, "legend": {"orientation": "h"}, **extra}


def _lines(table: Table, x: str, ys: Iterable[str], title: str, **layout) -> dict:
    xs = [_plain(v) for v in table.column(x)]
    data = [{"type": "scatter", "mode": "lines+markers", "name": y, "x": xs, "y": table.column(y)} for y in ys]
    return {"data": data, "layout": _layout(title, **layout)}


# -- students over time -------------------------------------------------------------------------
def students_table(scope: Scope) -> Table:
    days = scope.daily()
    unique = dict(days.values_list("day").annotate(n=Count("id")).order_by("day"))
    # A student's first day counts over all time, not just the period shown.
    firsts = Scope(scope.course, None, scope.excluded).daily().values("student").annotate(first=Min("day"))
    new_per_day = Counter(row["first"] for row in firsts)
    start = timezone.localdate(scope.since) if scope.since is not None else None
    shown = sorted(set(unique) | {d for d in new_per_day if start is None or d >= start})
    total = sum(n for d, n in new_per_day.items() if shown and d < shown[0])
    table = Table(["day", "unique_students", "new_students", "cumulative_students"])
    for day in shown:
        total += new_per_day.get(day, 0)
        table.rows.append((day, unique.get(day, 0), new_per_day.get(day, 0), total))
    return table


def students_plot(table: Table) -> dict:
    return _lines(table, "day", ["unique_students", "new_students", "cumulative_students"], "Students per day")


# -- notebooks opened per day ------------------------------------------------------------------
def opens_table(scope: Scope) -> Table:
    rows = scope.daily().values_list("day").annotate(opens=Sum("opens")).order_by("day")
    return Table(["day", "opens"], list(rows))


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
                              xaxis={"title": {"text": "notebooks opened"}, "type": "category"},
                              yaxis={"title": {"text": "students"}})}


# -- notebook x student heatmap ----------------------------------------------------------------
def heatmap_table(scope: Scope) -> Table:
    rows = scope.events().values_list("notebook", "student").annotate(opens=Count("id")).order_by("notebook", "student")
    return Table(["notebook", "student", "opens"], list(rows))


def heatmap_figure_table(scope: Scope) -> Table:
    """The plotted part: only the most active students' pairs are grouped, not the whole course's."""
    top = scope.events().values_list("student").annotate(opens=Count("id")).order_by("-opens")[:HEATMAP_STUDENTS]
    students = [student for student, _ in top]
    rows = scope.events().filter(student__in=students).values_list("notebook", "student") \
        .annotate(opens=Count("id")).order_by("notebook", "student")
    return Table(["notebook", "student", "opens"], list(rows), truncated=len(students) == HEATMAP_STUDENTS)


def heatmap_plot(table: Table) -> dict:
    students = sorted({student for _, student, _ in table.rows})
    notebooks = sorted({notebook for notebook, _, _ in table.rows})
    column, line = {s: i for i, s in enumerate(students)}, {n: i for i, n in enumerate(notebooks)}
    z: list[list[int | None]] = [[None] * len(students) for _ in notebooks]
    for notebook, student, opens in table.rows:
        z[line[notebook]][column[student]] = opens
    title = "Opens per notebook and student" + (
        f" (the {HEATMAP_STUDENTS} most active students)" if table.truncated else "")
    return {"data": [{"type": "heatmap", "x": students, "y": notebooks, "z": z, "colorscale": "Blues"}],
            "layout": _layout(title, xaxis={"showticklabels": len(students) <= 40}, yaxis={"automargin": True})}


# -- monitor counts: containers and kernels, host resources -------------------------------------
def _series(scope: Scope, samples: QuerySet, **aggregates) -> list[dict]:
    unit = "hour" if scope.hourly else "day"
    rows = samples.annotate(at=period_start("time", unit)).values("at").annotate(**aggregates).order_by("at")
    return [{**row, "at": _as_datetime(row["at"]) if unit == "hour" else as_date(row["at"])} for row in rows]


def containers_table(scope: Scope) -> Table:
    table = Table(["time", "scope", "containers", "kernels", "busy_kernels"])
    for label, course in (("course", scope.course), ("site", "")):
        rows = _series(scope, scope.samples(course), containers=Max("containers"), kernels=Max("kernels"),
                       busy=Max("busy_kernels"))
        table.rows += [(r["at"], label, r["containers"], r["kernels"], r["busy"]) for r in rows]
    return table


def containers_plot(table: Table) -> dict:
    data = []
    for label in ("course", "site"):
        rows = [row for row in table.rows if row[1] == label]
        for index, name in ((2, "containers"), (3, "kernels")):
            data.append({"type": "scatter", "mode": "lines", "name": f"{label} {name}",
                         "x": [_plain(r[0]) for r in rows], "y": [r[index] for r in rows]})
    return {"data": data, "layout": _layout("Running containers and kernels (maximum per hour, or per day)")}


def host_table(scope: Scope) -> Table:
    rows = _series(scope, scope.samples(""), disk=Min("disk_free"), mem=Min("mem_free"), load=Max("load1"))
    gib = 1024 ** 3
    return Table(["time", "disk_free_gib", "mem_free_gib", "load1"], [
        (r["at"], None if r["disk"] is None else round(r["disk"] / gib, 2),
         None if r["mem"] is None else round(r["mem"] / gib, 2), r["load"]) for r in rows])


def host_plot(table: Table) -> dict:
    xs = [_plain(v) for v in table.column("time")]
    data = [
        {"type": "scatter", "mode": "lines", "name": "free disk (GiB)", "x": xs, "y": table.column("disk_free_gib")},
        {"type": "scatter", "mode": "lines", "name": "free memory (GiB)", "x": xs, "y": table.column("mem_free_gib")},
        {"type": "scatter", "mode": "lines", "name": "load (1 min)", "x": xs, "y": table.column("load1"),
         "yaxis": "y2"},
    ]
    return {"data": data, "layout": _layout("Host: free disk and memory (minimum), load (maximum)",
                                            yaxis2={"overlaying": "y", "side": "right", "title": {"text": "load"}})}


# -- time to ready ------------------------------------------------------------------------------
def ready_bucket() -> Expression:
    """Open durations binned in SQL: tenths of a second below 10 s, whole seconds above."""
    return Case(When(seconds__lt=10, then=Cast(F("seconds") * 10, IntegerField())),
                default=Cast(F("seconds"), IntegerField()) + 90, output_field=IntegerField())


def bucket_seconds(bucket: int) -> float:
    return bucket / 10 if bucket < 100 else float(bucket - 90)


def percentile(counts: list[tuple[int, int]], total: int, fraction: float) -> float:
    """Nearest rank over (bucket, count) pairs sorted by bucket."""
    seen = 0
    for bucket, count in counts:
        seen += count
        if seen >= fraction * total:
            return bucket_seconds(bucket)
    return bucket_seconds(counts[-1][0])


def ready_table(scope: Scope) -> Table:
    """Median and 95th percentile per hour (per day beyond a month), to the bucket's precision,
    over all opens and over cold ones (a server was started): warm opens take milliseconds and
    would hide how long students wait for a start. The database groups the opens by period,
    start and duration bucket; Python reads the percentiles off the few resulting counts."""
    unit = "hour" if scope.hourly else "day"
    # `cold` as an annotation, so that the GROUP BY runs in the ORDER BY's order and SQLite sorts
    # once (a plain field would lead the GROUP BY: a second sort, 20% slower over a year).
    rows = scope.events().annotate(at=period_start("time", unit), bucket=ready_bucket(), started=F("cold")) \
        .values_list("at", "bucket", "started") \
        .annotate(n=Count("id"), total=Sum("seconds", output_field=FloatField())).order_by("at", "bucket", "started")
    periods: dict = {}
    for at, bucket, cold, n, total in rows:
        periods.setdefault(at, []).append((bucket, cold, n, total))
    table = Table([unit, "opens", "median_seconds", "p95_seconds", "mean_seconds",
                   "cold_opens", "cold_median_seconds", "cold_p95_seconds"])
    for at, buckets in periods.items():
        counts = [(bucket, n) for bucket, _, n, _ in buckets]
        cold = [(bucket, n) for bucket, was_cold, n, _ in buckets if was_cold]
        opens, cold_opens = sum(n for _, n in counts), sum(n for _, n in cold)
        table.rows.append((_as_datetime(at) if unit == "hour" else as_date(at), opens,
                           percentile(counts, opens, 0.5), percentile(counts, opens, 0.95),
                           round(sum(total for _, _, _, total in buckets) / opens, 3), cold_opens,
                           percentile(cold, cold_opens, 0.5) if cold else None,
                           percentile(cold, cold_opens, 0.95) if cold else None))
    return table


def ready_plot(table: Table) -> dict:
    return _lines(table, table.columns[0], ["median_seconds", "p95_seconds", "cold_median_seconds"],
                  f"Time to ready per {table.columns[0]} (seconds)")


FIGURES: dict[str, Figure] = {
    figure.name: figure for figure in (
        Figure("students", "Students over time", students_table, students_plot),
        Figure("opens", "Notebooks opened per day", opens_table, opens_plot),
        Figure("students-per-notebook", "Students per notebook",
               students_per_notebook_table, students_per_notebook_plot),
        Figure("notebooks-per-student", "Notebooks per student",
               notebooks_per_student_table, notebooks_per_student_plot),
        Figure("heatmap", "Notebook × student opens", heatmap_table, heatmap_plot, heatmap_figure_table),
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
