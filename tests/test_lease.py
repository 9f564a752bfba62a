"""Unit tests: the per-pair lease is exclusive, released, and taken over once expired."""
from datetime import timedelta

import pytest
from django.utils import timezone

from nbhosting.containers.lease import LeaseTimeout, lease
from nbhosting.containers.models import Container
from nbhosting.courses.models import Course
from nbhosting.workspaces.models import get_or_create_student

pytestmark = pytest.mark.django_db


@pytest.fixture
def record(settings):
    settings.NBH_UID_MIN, settings.NBH_UID_MAX = 5000, 5001
    course = Course.objects.create(name="c1", git_url="/nowhere")
    return Container.objects.create(course=course, student=get_or_create_student("s1"), name="c1-x-s1")


def test_lease_is_exclusive_and_released(record):
    with lease(record):
        with pytest.raises(LeaseTimeout):
            with lease(record, wait=0.3):
                pass
    record.refresh_from_db()
    assert record.lease_owner == "" and record.lease_until is None
    with lease(record, wait=0):
        pass


def test_expired_lease_is_taken_over(record):
    Container.objects.filter(pk=record.pk).update(lease_owner="crashed", lease_until=timezone.now() - timedelta(1))
    with lease(record, wait=0):
        record.refresh_from_db()
        assert record.lease_owner not in ("", "crashed")


def test_lease_is_released_on_error(record):
    with pytest.raises(RuntimeError):
        with lease(record):
            raise RuntimeError("spawn failed")
    with lease(record, wait=0):
        pass


def test_uids_come_from_the_range_and_run_out(record):
    student = get_or_create_student("s2")
    assert student.uid == 5001 and get_or_create_student("s2").uid == 5001
    with pytest.raises(Exception, match="no uid left"):
        get_or_create_student("s3")
