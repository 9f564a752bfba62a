"""Unit tests: the grammars every URL and command argument goes through."""
import pytest

from nbhosting.names import (
    InvalidName,
    container_name,
    validate_course,
    validate_notebook_path,
    validate_student,
)


@pytest.mark.parametrize("name", ["python3-s2", "flot.python", "A_1", "x" * 40])
def test_good_course_names(name):
    assert validate_course(name) == name


@pytest.mark.parametrize("name", ["", "-a", ".a", "a/b", "a b", "a-x-b", "x" * 41, "a.", "é", "a\n"])
def test_bad_course_names(name):
    with pytest.raises(InvalidName):
        validate_course(name)


@pytest.mark.parametrize("student", ["alice", "a.b-c_d", "0123456789abcdef", "x" * 64])
def test_good_student_ids(student):
    assert validate_student(student) == student


@pytest.mark.parametrize("student", ["", "-a", ".a", "..", "a/b", "a b", "a@b", "x" * 65, "a\x00", "a\n"])
def test_bad_student_ids(student):
    with pytest.raises(InvalidName):
        validate_student(student)


@pytest.mark.parametrize("path", ["intro", "w1/1.2-intro.ipynb", "a b/c d.md", "w1/week 1/é.py"])
def test_good_notebook_paths(path):
    assert str(validate_notebook_path(path)) == path


@pytest.mark.parametrize("path", [
    "", "/etc/passwd", "../x", "w1/../../x", "w1/./x", "w1//x", "a\x00b", "a\nb", "a\x1bb", "a\x7fb",
    ".git/config", "w1/.hidden", "a\\b", "/".join(["d"] * 17), "x" * 201,
])
def test_bad_notebook_paths(path):
    with pytest.raises(InvalidName):
        validate_notebook_path(path)


def test_container_names():
    # Course names cannot hold "-x-", so the first one is always the separator: names never collide.
    assert container_name("python3-s2", "bob-x-ray") == "python3-s2-x-bob-x-ray"
