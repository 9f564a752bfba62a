"""install.sh's last check: opens a signed notebook link as a student's browser would, and runs a
cell. Usage: smoke.py LINK. Prints one line, and exits non-zero with what failed.

The chain checked: the link answers a redirect (the gateway copied the notebook and started the
student's container), Jupyter answers the redirect's page through nginx, a kernel starts, and code
sent over the kernel's websocket through nginx prints its result.
"""
import json
import re
import sys
import uuid
from urllib.parse import urljoin

import requests
import websocket

# A cold open builds nothing but starts a container: the gateway's own wait is bounded by
# NBH_SPAWN_TIMEOUT (180 s by default).
OPEN_TIMEOUT = 240
KERNEL_TIMEOUT = 120


class SmokeError(Exception):
    pass


def open_link(link: str) -> str:
    """The notebook page the link redirects to; the server's base URL (.../c/<secret>/)."""
    response = requests.get(link, allow_redirects=False, timeout=OPEN_TIMEOUT)
    if response.status_code != 302:
        raise SmokeError(f"the demo link answered {response.status_code}, not a redirect: {first_line(response.text)}")
    page = urljoin(link, response.headers["Location"])
    server = re.match(r"https?://[^/]+/c/[^/]+/", page)
    if server is None:
        raise SmokeError(f"the demo link redirected to {page}, not to a notebook server")
    answer = requests.get(page, timeout=OPEN_TIMEOUT)
    if answer.status_code != 200:
        raise SmokeError(f"Jupyter answered {answer.status_code} through nginx: {first_line(answer.text)}")
    return server.group(0)


def run_cell(server: str, code: str) -> str:
    """Starts a kernel, runs `code` over its websocket, returns what it printed; removes the kernel."""
    response = requests.post(f"{server}api/kernels", json={"name": "python3"}, timeout=KERNEL_TIMEOUT)
    if response.status_code != 201:
        raise SmokeError(f"starting a kernel answered {response.status_code}: {first_line(response.text)}")
    kernel = response.json()["id"]
    try:
        origin = "/".join(server.split("/")[:3])
        url = server.replace("http://", "ws://", 1).replace("https://", "wss://", 1) + f"api/kernels/{kernel}/channels"
        try:
            ws = websocket.create_connection(url, timeout=KERNEL_TIMEOUT, origin=origin)
        except (OSError, websocket.WebSocketException) as exc:
            raise SmokeError(f"the kernel's websocket does not open through nginx: {exc}") from None
        try:
            return execute(ws, code)
        finally:
            ws.close()
    finally:
        requests.delete(f"{server}api/kernels/{kernel}", timeout=KERNEL_TIMEOUT)


def execute(ws: websocket.WebSocket, code: str) -> str:
    msg_id = uuid.uuid4().hex
    ws.send(json.dumps({
        "header": {"msg_id": msg_id, "username": "nbhosting", "session": uuid.uuid4().hex,
                   "msg_type": "execute_request", "version": "5.3"},
        "parent_header": {}, "metadata": {}, "channel": "shell",
        "content": {"code": code, "silent": False, "store_history": False,
                    "user_expressions": {}, "allow_stdin": False},
    }))
    output = []
    while True:
        try:
            msg = json.loads(ws.recv())
        except (OSError, websocket.WebSocketException) as exc:
            raise SmokeError(f"the kernel did not answer over its websocket: {exc}") from None
        if msg.get("parent_header", {}).get("msg_id") != msg_id:
            continue
        kind, content = msg["msg_type"], msg["content"]
        if kind == "stream":
            output.append(content["text"])
        elif kind == "error":
            raise SmokeError(f"the cell failed: {content['ename']}: {content['evalue']}")
        elif kind == "status" and content["execution_state"] == "idle":
            return "".join(output)


def first_line(text: str) -> str:
    """What a page says, on one line: its text without the head, styles, scripts and tags."""
    text = re.sub(r"(?is)<(head|style|script)\b.*?</\1>", " ", text)
    text = " ".join(re.sub(r"(?s)<[^>]*>", " ", text).split())
    return text[:200] or "(empty)"


def main(link: str) -> int:
    try:
        server = open_link(link)
        printed = run_cell(server, "print(6 * 7)")
    except SmokeError as exc:
        print(f"smoke check failed: {exc}", file=sys.stderr)
        return 1
    except requests.RequestException as exc:
        print(f"smoke check failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    if printed.strip() != "42":
        print(f"smoke check failed: the cell 6 * 7 printed {printed.strip()!r}, not 42", file=sys.stderr)
        return 1
    print("smoke check: the demo link opened its notebook through nginx, and a kernel printed 6 * 7 = 42")
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: smoke.py LINK")
    sys.exit(main(sys.argv[1]))
