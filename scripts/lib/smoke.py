"""install.sh's last check: opens a signed notebook link as a student's browser would, and runs a
cell. Usage: smoke.py LINK. Prints one line, and exits non-zero with what failed.

The chain checked: the link answers a redirect (the gateway copied the notebook and started the
student's container), Jupyter answers the redirect's page through nginx, a kernel starts, and code
sent over the kernel's websocket through nginx prints its result.
"""
import html
import re
import sys
import time
from pathlib import Path
from urllib.parse import urljoin

import requests
import websocket

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from nbhosting.kernel_run import run_code  # noqa: E402  (the tree's own package, found from here)

# A cold open builds nothing but starts a container: the gateway's own wait is bounded by
# NBH_SPAWN_TIMEOUT (180 s by default).
OPEN_TIMEOUT = 240
PROGRESS = re.compile(r"^(https?://[^/]+)?/starting/[A-Za-z0-9_-]{43}/$")
KERNEL_TIMEOUT = 120


class SmokeError(Exception):
    pass


def open_link(link: str) -> str:
    """The base URL (.../c/<secret>/) of the notebook server the link leads to, through the progress
    page when the server was not ready at once, as a browser gets there."""
    response = follow_progress(link, requests.get(link, allow_redirects=False, timeout=OPEN_TIMEOUT))
    if response.status_code != 302:
        raise SmokeError(f"the demo link answered {response.status_code}, not a redirect: {page_text(response.text)}")
    page = urljoin(link, response.headers["Location"])
    server = re.match(r"https?://[^/]+/c/[^/]+/", page)
    if server is None:
        raise SmokeError(f"the demo link redirected to {page}, not to a notebook server")
    answer = requests.get(page, timeout=OPEN_TIMEOUT)
    if answer.status_code != 200:
        raise SmokeError(f"Jupyter answered {answer.status_code} through nginx: {page_text(answer.text)}")
    return server.group(0)


def follow_progress(link: str, response: requests.Response) -> requests.Response:
    """A redirect to the start queue's progress page is polled, as the page itself does, until it
    sends the browser on (302) or says why not; any other answer comes back as it is."""
    location = response.headers.get("Location", "") if response.status_code == 302 else ""
    if not PROGRESS.match(location):
        return response
    deadline = time.monotonic() + OPEN_TIMEOUT
    while True:
        page = requests.get(urljoin(link, location), allow_redirects=False, timeout=OPEN_TIMEOUT)
        if page.status_code != 200 or time.monotonic() > deadline:
            return page
        time.sleep(0.2)


def page_text(text: str) -> str:
    """What a page says, on one line: its text without the head, styles, scripts and tags."""
    text = re.sub(r"(?is)<(head|style|script)\b.*?</\1>", " ", text)
    text = " ".join(html.unescape(re.sub(r"(?s)<[^>]*>", " ", text)).split())
    return text[:200] or "(empty)"


def check(link: str) -> None:
    server = open_link(link)
    try:
        printed = run_code(server, "print(6 * 7)", KERNEL_TIMEOUT).strip()
    except requests.HTTPError as exc:
        raise SmokeError(f"starting a kernel answered {exc.response.status_code}: {page_text(exc.response.text)}") \
            from None
    except requests.RequestException:
        raise  # an OSError too, but not the websocket's: main says which
    except (OSError, websocket.WebSocketException) as exc:
        raise SmokeError(f"the kernel's websocket failed through nginx: {type(exc).__name__}: {exc}") from None
    if printed != "42":
        raise SmokeError(f"the cell 6 * 7 printed {printed!r}, not 42")


def main(link: str) -> int:
    try:
        check(link)
    except SmokeError as exc:
        print(f"smoke check failed: {exc}", file=sys.stderr)
        return 1
    except requests.RequestException as exc:
        print(f"smoke check failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    print("smoke check: the demo link opened its notebook through nginx, and a kernel printed 6 * 7 = 42")
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: smoke.py LINK")
    sys.exit(main(sys.argv[1]))
