"""A real browser: an LMS page on another site iframes a student's link, with third-party cookies
blocked; the notebook renders inside the iframe, a cell runs and its output shows."""


from tests.browser import ARTIFACTS, chromium
from tests.helpers import new_student


def test_notebook_runs_in_a_cross_site_iframe_without_cookies(stack, legacy_course, lms_page):
    page_content, lms_url = lms_page
    link = f"{stack.url}/notebookLazyCopy/{legacy_course}/intro/{new_student()}"
    page_content["html"] = (f'<html><body><h1>Unit 3</h1><iframe id="nb" src="{link}" '
                            'width="1100" height="800"></iframe></body></html>')
    ARTIFACTS.mkdir(exist_ok=True)
    with chromium(block_third_party_cookies=True) as browser:
        tab = browser.new_page()
        errors: list[str] = []
        tab.on("pageerror", lambda exc: errors.append(str(exc)))
        tab.goto(lms_url)
        frame_element = tab.wait_for_selector("iframe#nb")
        frame = frame_element.content_frame()
        frame.wait_for_url("**/c/**/notebooks/intro.ipynb", timeout=120_000)
        # The setup really blocks third-party cookies: the iframe cannot keep one.
        assert frame.evaluate("document.cookie = 'probe=1; SameSite=None'; document.cookie") == ""

        frame.wait_for_selector(".jp-Notebook .jp-CodeCell", timeout=120_000)
        # The kernel starts by itself (no "Select Kernel" dialog) and becomes idle.
        frame.wait_for_function("() => (document.querySelector('.jp-Toolbar-kernelName') || {}).innerText"
                                "?.includes('Python 3')", timeout=60_000)
        frame.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']", timeout=60_000)
        assert frame.query_selector(".jp-Dialog") is None
        frame.click(".jp-CodeCell .jp-InputArea-editor")
        tab.keyboard.press("Shift+Enter")
        output = frame.wait_for_selector(".jp-CodeCell .jp-OutputArea-output", timeout=60_000)
        frame.wait_for_function(
            "() => [...document.querySelectorAll('.jp-CodeCell .jp-OutputArea-output')]"
            ".some(e => e.innerText.includes('uid'))", timeout=60_000)
        texts = " ".join(e.inner_text() for e in frame.query_selector_all(".jp-CodeCell .jp-OutputArea-output"))
        tab.screenshot(path=str(ARTIFACTS / "lms-iframe-notebook.png"))
        assert output is not None
        assert "uid" in texts and "2" in texts
        assert not [e for e in errors if "403" in e or "Forbidden" in e]
