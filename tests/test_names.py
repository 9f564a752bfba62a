"""Unit tests: the grammars every URL and command argument goes through."""
import pytest

from nbhosting.names import (
    InvalidName,
    container_name,
    staff_identity,
    validate_course,
    validate_identity,
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


@pytest.mark.parametrize("name", ["alice", "_instructors-" + "c" * 40, "_staff-bob", "_staff-" + "x" * 51])
def test_platform_identities_are_accepted_where_staff_name_a_container(name):
    assert validate_identity(name) == name


@pytest.mark.parametrize("name", ["_alice", "_staff-", "_staff-a b", "_root-x", "_staff-" + "x" * 52, "_staff-a\n"])
def test_other_underscore_names_are_refused(name):
    with pytest.raises(InvalidName):
        validate_identity(name)


def test_a_staff_identity_is_never_a_student_id():
    assert staff_identity("alice") == "_staff-alice"
    with pytest.raises(InvalidName):
        validate_student(staff_identity("alice"))
    for username in ("a@b.org", "x" * 52, "-a"):
        with pytest.raises(InvalidName):
            staff_identity(username)
