"""Twenty first opens of one (course, student) at once: one container, twenty good redirects
(straight to the server, or through the progress page)."""
from concurrent.futures import ThreadPoolExecutor

from tests.helpers import follow_progress, new_student, open_link


def test_twenty_concurrent_first_opens_make_one_container(stack, legacy_course):
    student = new_student()
    with ThreadPoolExecutor(max_workers=20) as pool:
        responses = list(pool.map(lambda _: follow_progress(
            stack, open_link(stack, "notebookLazyCopy", legacy_course, "intro", student)), range(20)))
    assert [r.status_code for r in responses] == [302] * 20
    assert len({r.headers["Location"] for r in responses}) == 1
    assert [n for n in stack.podman_names() if n.endswith(f"-x-{student}")] == [f"{legacy_course}-x-{student}"]
    assert stack.query("select count(*) from workspaces_student where name = ?", student) == [(1,)]
    assert stack.query("select count(*) from stats_openevent where student = ? and cold", student) == [(1,)]
