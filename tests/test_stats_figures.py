"""The statistics' aggregation on a known set of events and samples, their CSV export, and the
staff switch."""
import csv
import io
from datetime import date, datetime, timedelta, timezone

import pytest
from django.test import Client

from nbhosting.stats.figures import FIGURES, Scope
from nbhosting.stats.models import DailyActivity, OpenEvent, rebuild_daily, record_open, record_sample

UTC = timezone.utc
# Recent days, so that a one-month period holds them all (and shows hourly series).
D1 = (datetime.now(UTC) - timedelta(days=10)).date()
D2, D3 = D1 + timedelta(days=1), D1 + timedelta(days=2)
MONTH = datetime.now(UTC) - timedelta(days=30)


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC)


EVENTS = [  # time, student, notebook, seconds
    (at(D1, 10, 0), "s1", "w1/a.ipynb", 1.0),
    (at(D1, 10, 10), "s1", "w1/b.ipynb", 2.0),
    (at(D1, 10, 20), "s2", "w1/a.ipynb", 3.0),
    (at(D1, 11, 0), "s2", "w1/a.ipynb", 4.0),
    (at(D2, 9, 0), "s3", "w1/a.ipynb", 5.0),
    (at(D2, 9, 30), "s1", "w1/a.ipynb", 6.0),
    (at(D3, 12), "alice", "w1/a.ipynb", 10.0),  # staff of physics
]


@pytest.fixture
def events(courses):
    for time, student, notebook, seconds in EVENTS + [(at(D1, 10), "s9", "w1/a.ipynb", 99.0)]:
        course = "history" if student == "s9" else "physics"
        event = OpenEvent.objects.create(course=course, student=student, notebook=notebook,
                                         action="created", cold=seconds >= 3, seconds=seconds)
        OpenEvent.objects.filter(pk=event.pk).update(time=time)  # the field is auto_now_add
    rebuild_daily()  # the rollup of these back-dated events
    record_sample("physics", containers=2, kernels=3, time=at(D1, 10, 5))
    record_sample("physics", containers=4, kernels=1, busy_kernels=1, time=at(D1, 10, 35))
    record_sample("history", containers=40, kernels=40, time=at(D1, 10, 5))
    gib = 1024**3
    record_sample("", containers=7, kernels=9, load1=0.5, mem_free=2 * gib, disk_free=10 * gib, time=at(D1, 10, 5))
    record_sample("", containers=5, kernels=2, load1=1.5, mem_free=1 * gib, disk_free=11 * gib, time=at(D1, 10, 50))


def table(name: str, staff_included: bool = False, since: datetime | None = MONTH):
    return FIGURES[name].table(Scope("physics", since, frozenset() if staff_included else frozenset({"alice"})))


@pytest.mark.django_db
def test_students_over_time(events):
    assert table("students").rows == [(D1, 2, 2, 2), (D2, 2, 1, 3)]
    assert table("students", staff_included=True).rows[-1] == (D3, 1, 1, 4)


@pytest.mark.django_db
def test_new_students_count_from_their_first_day_even_outside_the_period(events):
    scope = Scope("physics", at(D2, 0), frozenset({"alice"}))
    # s1 came back on day 2 but was new on day 1: one new student (s3), three so far.
    assert FIGURES["students"].table(scope).rows == [(D2, 2, 1, 3)]


@pytest.mark.django_db
def test_opens_and_notebooks(events):
    assert table("opens").rows == [(D1, 4), (D2, 2)]
    assert table("students-per-notebook").rows == [("w1/a.ipynb", 3, 5), ("w1/b.ipynb", 1, 1)]
    assert table("notebooks-per-student").rows == [(1, 2), (2, 1)]
    assert table("heatmap").rows == [
        ("w1/a.ipynb", "s1", 2), ("w1/a.ipynb", "s2", 2), ("w1/a.ipynb", "s3", 1), ("w1/b.ipynb", "s1", 1)]
    plot, rows = FIGURES["heatmap"].figure(Scope("physics", MONTH, frozenset({"alice"})))
    assert rows == 4
    assert plot["data"][0]["x"] == ["s1", "s2", "s3"] and plot["data"][0]["z"] == [[2, 2, 1], [1, None, None]]


@pytest.mark.django_db
def test_time_to_ready_percentiles_per_hour(events):
    assert table("ready").columns[0] == "hour"
    # All opens, then the cold ones only (those of 3 s and more, in these events).
    assert table("ready").rows == [
        (at(D1, 10), 3, 2.0, 3.0, 2.0, 1, 3.0, 3.0),
        (at(D1, 11), 1, 4.0, 4.0, 4.0, 1, 4.0, 4.0),
        (at(D2, 9), 2, 5.0, 6.0, 5.5, 2, 5.0, 6.0),
    ]


@pytest.mark.django_db
def test_time_to_ready_is_daily_beyond_a_month(events):
    assert table("ready", since=None).columns[0] == "day"
    assert table("ready", since=None).rows == [(D1, 4, 2.0, 4.0, 2.5, 2, 3.0, 4.0), (D2, 2, 5.0, 6.0, 5.5, 2, 5.0, 6.0)]


@pytest.mark.django_db
def test_time_to_ready_of_a_period_with_warm_opens_only(events):
    OpenEvent.objects.filter(course="physics").update(cold=False)
    assert table("ready").rows[0] == (at(D1, 10), 3, 2.0, 3.0, 2.0, 0, None, None)
    plot = FIGURES["ready"].plot(table("ready"))
    assert [trace["name"] for trace in plot["data"]] == ["median_seconds", "p95_seconds", "cold_median_seconds"]


@pytest.mark.django_db
def test_monitor_counts(events):
    assert table("containers").rows == [(at(D1, 10), "course", 4, 3, 1), (at(D1, 10), "site", 7, 9, 0)]
    assert table("host").rows == [(at(D1, 10), 10.0, 1.0, 1.5)]
    assert table("host", since=None).rows == [(D1, 10.0, 1.0, 1.5)]


@pytest.mark.django_db
@pytest.mark.parametrize("name", list(FIGURES))
def test_csv_export_holds_the_table(events, alice, name):
    client = Client()
    client.force_login(alice)
    response = client.get(f"/staff/course/physics/stats/{name}.csv?period=30")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    assert f'filename="physics-{name}.csv"' in response["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    expected = table(name)
    assert rows[0] == expected.columns
    assert rows[1:] == [[v.isoformat() if hasattr(v, "isoformat") else str(v if v is not None else "")
                         for v in row] for row in expected.rows]


@pytest.mark.django_db
def test_figure_json_and_staff_switch(events, alice):
    client = Client()
    client.force_login(alice)
    without = client.get("/staff/course/physics/stats/students.json?period=all").json()
    with_staff = client.get("/staff/course/physics/stats/students.json?period=all&staff=1").json()
    assert [trace["name"] for trace in without["data"]] == ["unique_students", "new_students", "cumulative_students"]
    assert without["data"][2]["y"] == [2, 3] and with_staff["data"][2]["y"] == [2, 3, 4]
    assert client.get("/staff/course/physics/stats/nonsense.json").status_code == 404
    page = client.get("/staff/course/physics/stats/?staff=1").content.decode()
    assert page.count('class="plot"') == len(FIGURES) and "dashboard/plotly.min.js" in page


@pytest.mark.django_db
def test_days_and_hours_are_the_sites_time_zone(courses, settings):
    settings.TIME_ZONE = "Asia/Kolkata"  # UTC+05:30, no daylight saving time
    late = at(D1, 20, 0)  # 01:30 the next day in Kolkata
    event = OpenEvent.objects.create(course="physics", student="s1", notebook="a.ipynb", action="created",
                                     cold=False, seconds=1.0)
    OpenEvent.objects.filter(pk=event.pk).update(time=late)
    rebuild_daily()
    assert FIGURES["opens"].table(Scope("physics", MONTH)).rows == [(D2, 1)]
    hour = FIGURES["ready"].table(Scope("physics", MONTH)).rows[0][0]
    assert hour == late.replace(minute=30) - timedelta(hours=1) and hour.utcoffset() == timedelta(hours=5, minutes=30)


@pytest.mark.django_db
def test_record_open_keeps_the_daily_rollup(courses):
    for student in ("s1", "s1", "s2"):
        record_open("physics", student, "a.ipynb", "existing", False, 0.1)
    record_open("history", "s1", "a.ipynb", "existing", False, 0.1)
    live = set(DailyActivity.objects.values_list("course", "student", "opens"))
    assert live == {("physics", "s1", 2), ("physics", "s2", 1), ("history", "s1", 1)}
    assert rebuild_daily() == 3
    assert set(DailyActivity.objects.values_list("course", "student", "opens")) == live
    today = FIGURES["opens"].table(Scope("physics", MONTH)).rows
    assert [opens for _, opens in today] == [3]
