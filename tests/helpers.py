"""Small helpers shared by the end-to-end tests."""
import re
import secrets
import time

import requests

LMS = {"Referer": "https://lms.example.org/courses/course-v1/unit/3"}
SERVER_URL = re.compile(r"^/c/(?P<secret>[A-Za-z0-9_-]{43})/notebooks/(?P<path>.+)$")
PROGRESS_URL = re.compile(r"^/starting/(?P<token>[A-Za-z0-9_-]{43})/$")


def new_student(prefix: str = "s") -> str:
    return f"{prefix}{secrets.token_hex(4)}"


def open_link(stack, route: str, course: str, notebook: str, student: str, headers=LMS, **params):
    """GET an LMS link without following the redirect."""
    return requests.get(f"{stack.url}/{route}/{course}/{notebook}/{student}", headers=headers,
                        params=params, allow_redirects=False, timeout=300)


def follow_progress(stack, response, timeout: float = 300):
    """A link's answer as a browser ends up with it: a redirect to the progress page (the server
    was not ready at once) is followed, polling as the page does, until the page sends the browser
    on (302 to the server) or says the start failed (503). Other answers come back unchanged."""
    location = response.headers.get("Location", "") if response.status_code == 302 else ""
    if not PROGRESS_URL.match(location):
        return response
    return wait_on_progress(stack, location, timeout)


def wait_on_progress(stack, location: str, timeout: float = 300):
    """GETs the progress page until it is no longer the page: the server's 302, or a failure."""
    deadline = time.monotonic() + timeout
    while True:
        page = requests.get(stack.url + location, allow_redirects=False, timeout=60)
        if page.status_code != 200 or time.monotonic() > deadline:
            return page
        time.sleep(0.2)


def open_notebook(stack, course: str, notebook: str, student: str, route: str = "notebookLazyCopy", **params):
    """Opens a link that must succeed; returns (server base URL, notebook path in the server)."""
    response = follow_progress(stack, open_link(stack, route, course, notebook, student, **params))
    assert response.status_code == 302, response.text[:500]
    match = SERVER_URL.match(response.headers["Location"])
    assert match, response.headers["Location"]
    return f"{stack.url}/c/{match['secret']}/", match["path"]
