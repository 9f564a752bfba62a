"""A small Jupyter client for tests: the contents API and running code in a kernel over its websocket,
through nginx, exactly as a browser does."""
import json
import uuid

import requests
import websocket


def contents(server: str, path: str) -> dict:
    response = requests.get(f"{server}api/contents/{path}", timeout=30)
    response.raise_for_status()
    return response.json()


def execute(server: str, code: str, timeout: float = 60) -> str:
    """Starts a kernel, runs `code`, returns what it printed (stream output and results)."""
    kernel = requests.post(f"{server}api/kernels", json={"name": "python3"}, timeout=60)
    kernel.raise_for_status()
    kernel_id = kernel.json()["id"]
    ws_url = server.replace("http://", "ws://") + f"api/kernels/{kernel_id}/channels"
    origin = "/".join(server.split("/")[:3])
    ws = websocket.create_connection(ws_url, timeout=timeout, origin=origin)
    try:
        msg_id = uuid.uuid4().hex
        ws.send(json.dumps({
            "header": {"msg_id": msg_id, "username": "test", "session": uuid.uuid4().hex,
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
    finally:
        ws.close()
        requests.delete(f"{server}api/kernels/{kernel_id}", timeout=30)
