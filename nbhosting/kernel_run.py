"""Runs code in a Jupyter server's kernel over its websocket, exactly as a browser tab does (through
nginx when the server's URL is nginx's): install.sh's smoke check and the tests use it."""
import json
import uuid

import requests
import websocket


def run_code(server: str, code: str, timeout: float = 60) -> str:
    """Starts a kernel in the server at `server` (its base URL, ending with /), runs `code`, and
    returns what it printed: stream output, results, and errors as `Name: value` lines. The kernel
    is shut down afterwards."""
    kernel = requests.post(f"{server}api/kernels", json={"name": "python3"}, timeout=timeout)
    kernel.raise_for_status()
    kernel_id = kernel.json()["id"]
    try:
        return run_in_kernel(server, kernel_id, code, timeout)
    finally:
        requests.delete(f"{server}api/kernels/{kernel_id}", timeout=30)


def run_in_kernel(server: str, kernel_id: str, code: str, timeout: float = 60) -> str:
    """Runs `code` in a kernel that runs already (the one the open started for the page, say):
    the answer comes once the kernel has finished starting."""
    ws_base = server.replace("http://", "ws://", 1).replace("https://", "wss://", 1)
    origin = "/".join(server.split("/")[:3])
    ws = websocket.create_connection(f"{ws_base}api/kernels/{kernel_id}/channels", timeout=timeout, origin=origin)
    try:
        return _execute(ws, code)
    finally:
        ws.close()


def _execute(ws: websocket.WebSocket, code: str) -> str:
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
        msg = json.loads(ws.recv())
        if msg.get("parent_header", {}).get("msg_id") != msg_id:
            continue
        kind, content = msg["msg_type"], msg["content"]
        if kind == "stream":
            output.append(content["text"])
        elif kind == "execute_result":
            output.append(content["data"]["text/plain"] + "\n")
        elif kind == "error":
            output.append(f"{content['ename']}: {content['evalue']}\n")
        elif kind == "status" and content["execution_state"] == "idle":
            return "".join(output)
