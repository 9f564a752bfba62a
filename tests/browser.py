"""Headless Chromium (Debian's) under Playwright, with third-party cookies blocked, as in many
students' browsers and in every Safari. Never downloads a browser."""
import json
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from playwright.sync_api import Browser, BrowserContext, sync_playwright

CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-quic", "--no-first-run", "--disable-component-update", "--disable-sync"]
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
LMS_HOST = "127.0.0.2"  # another site than the platform's 127.0.0.1


@contextmanager
def chromium(block_third_party_cookies: bool = True, site_isolation: bool = True) -> Iterator[BrowserContext]:
    """site_isolation=False keeps a page's frames in its own process. For frames that hop between the
    LMS's site and ours (LTI's OIDC bounce): a frame that turns out-of-process after it ran in the page's
    process is sometimes lost by Playwright on a loaded machine (its URL stays the LMS's while Chromium
    has moved on, and every wait on it times out). Cookies are blocked the same either way: third-party
    blocking follows the top-level site, not the process model."""
    args = FLAGS if site_isolation else [*FLAGS, "--disable-site-isolation-trials",
                                         "--disable-features=IsolateOrigins,site-per-process"]
    with tempfile.TemporaryDirectory(prefix="nbh-chromium-") as profile:
        if block_third_party_cookies:
            # Chromium's own preference, as set by "Block third-party cookies" in its settings.
            (Path(profile) / "Default").mkdir()
            prefs = {"profile": {"cookie_controls_mode": 1, "block_third_party_cookies": True}}
            (Path(profile) / "Default" / "Preferences").write_text(json.dumps(prefs))
        with sync_playwright() as p:
            context = p.chromium.launch_persistent_context(
                profile, executable_path=CHROMIUM, args=args, headless=True, viewport={"width": 1200, "height": 900})
            try:
                yield context
            finally:
                context.close()


@contextmanager
def chromium_browser() -> Iterator[Browser]:
    """One Chromium for several people at once: each `new_context()` has its own cookies."""
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()


@contextmanager
def lms_site() -> Iterator[tuple[dict[str, str], str]]:
    """Serves one LMS page, on another site than the platform's, whose HTML the test sets in
    page["html"] (an iframe of a student's link, say). Yields (page, the page's URL)."""
    page = {"html": ""}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = page["html"].encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer((LMS_HOST, 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield page, f"http://{LMS_HOST}:{server.server_port}/unit"
    finally:
        server.shutdown()
