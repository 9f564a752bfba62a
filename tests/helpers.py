"""Small helpers shared by the end-to-end tests."""
import re
import secrets

import requests

LMS = {"Referer": "https://lms.example.org/courses/course-v1/unit/3"}
SERVER_URL = re.compile(r"^/c/(?P<secret>[A-Za-z0-9_-]{43})/notebooks/(?P<path>.+)$")


def new_student(prefix: str = "s") -> str:
    return f"{prefix}{secrets.token_hex(4)}"


def open_link(stack, route: str, course: str, notebook: str, student: str, headers=LMS, **params):
    """GET an LMS link without following the redirect."""
    return requests.get(f"{stack.url}/{route}/{course}/{notebook}/{student}", headers=headers,
                        params=params, allow_redirects=False, timeout=300)


def open_notebook(stack, course: str, notebook: str, student: str, route: str = "notebookLazyCopy", **params):
    """Opens a link that must succeed; returns (server base URL, notebook path in the server)."""
    response = open_link(stack, route, course, notebook, student, **params)
    assert response.status_code == 302, response.text[:500]
    match = SERVER_URL.match(response.headers["Location"])
    assert match, response.headers["Location"]
    return f"{stack.url}/c/{match['secret']}/", match["path"]
