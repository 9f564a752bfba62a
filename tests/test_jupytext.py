"""Text notebooks (jupytext .md and .py) open as notebooks."""
from tests.helpers import new_student, open_notebook
from tests.jupyter_api import contents, execute


def test_markdown_notebook_opens_as_a_notebook(stack, legacy_course):
    student = new_student()
    server, path = open_notebook(stack, legacy_course, "text/myst-notebook", student)
    assert path == "text/myst-notebook.ipynb"
    notebook = contents(server, path)
    assert notebook["type"] == "notebook"
    code = [c["source"] for c in notebook["content"]["cells"] if c["cell_type"] == "code"]
    assert code == ['print("hello from markdown", 6 * 7)']
    assert execute(server, code[0]).strip() == "hello from markdown 42"


def test_percent_script_opens_as_a_notebook(stack, legacy_course):
    server, path = open_notebook(stack, legacy_course, "text/percent-script.py", new_student())
    assert path == "text/percent-script.ipynb"
    cells = contents(server, path)["content"]["cells"]
    assert [c["cell_type"] for c in cells] == ["markdown", "code"]
