"""Which LMS contexts make staff: an LMS role is about one LMS course (the launch's context), so an
Instructor or TA becomes staff of our course only where a site admin mapped that context to it
(`nbh lti-context-add`). Anywhere else the same person is a learner: a platform's registration says
which of our courses its links may open, not who teaches them.
"""
import shlex

from django.db.models import QuerySet

from nbhosting.accounts.models import Enrollment
from nbhosting.courses.models import Course
from nbhosting.lti.models import Consumer, Platform, StaffContext

STAFF = (Enrollment.Role.INSTRUCTOR, Enrollment.Role.TA)
Lms = Platform | Consumer


def _of(lms: Lms) -> dict[str, Lms]:
    return {"platform": lms} if isinstance(lms, Platform) else {"consumer": lms}


def is_mapped(lms: Lms, context_id: str, course: Course) -> bool:
    return bool(context_id) and StaffContext.objects.filter(**_of(lms), context_id=context_id, course=course).exists()


def effective_role(claimed: str, lms: Lms, context_id: str, course: Course) -> str:
    """The LMS's role where the context is mapped to the course; a learner's anywhere else."""
    if claimed in STAFF and not is_mapped(lms, context_id, course):
        return Enrollment.Role.LEARNER
    return claimed


def add_command(lms: Lms, context_id: str, course: Course) -> str:
    """The command that maps this context, for the teacher to hand to the site's admin."""
    if isinstance(lms, Platform):
        words = ["nbh", "lti-context-add", lms.issuer, context_id, course.name, "--client-id", lms.client_id]
    else:
        words = ["nbh", "lti-context-add", "--lti11", lms.key, context_id, course.name]
    return shlex.join(words)


def unmapped_message(lms: Lms, context_id: str, course: Course) -> str:
    where = (f"platform {lms.issuer} (client id {lms.client_id})" if isinstance(lms, Platform)
             else f"LTI 1.1 consumer {lms.key}")
    if not context_id:
        return (f"The LMS sent no course (context id) with this launch, so its instructors cannot be made staff "
                f"of {course.name}. LMS: {where}.")
    return (f"This LMS course is not linked to {course.name} on this site, so its instructors and TAs are not "
            f"staff of {course.name} here (its students' links work).\n"
            f"Ask the site's admin to link it, giving them: LMS {where}, context id {context_id}, course "
            f"{course.name}; the command is:\n{add_command(lms, context_id, course)}")


def demote(lms: Lms, context_id: str, courses: list[Course]) -> int:
    """Unlinking takes staff rights back now, not at the next launch: the LMS staff enrollments, in
    these courses, of whoever launched from that context (LTI 1.1 keeps no context of a launch: all
    of the consumer's). A teacher of another linked context gets them back at their next launch."""
    people = Enrollment.objects.filter(course__in=courses, source=Enrollment.Source.LTI, role__in=STAFF)
    if isinstance(lms, Platform):
        people = people.filter(student__external_identity__lti_memberships__context__platform=lms,
                               student__external_identity__lti_memberships__context__context_id=context_id)
    else:
        people = people.filter(student__external_identity__issuer=f"lti11:{lms.key}")
    return Enrollment.objects.filter(pk__in=list(people.values_list("pk", flat=True))).update(
        role=Enrollment.Role.LEARNER)


def unlink(mappings: QuerySet[StaffContext]) -> int:
    """Deletes these mappings and takes back the staff rights they gave; returns how many people lost them."""
    demoted = 0
    for mapping in list(mappings.select_related("platform", "consumer", "course")):
        mapping.delete()
        demoted += demote(mapping.platform or mapping.consumer, mapping.context_id, [mapping.course])
    return demoted
