"""What the lti-context-* commands share: finding the LMS an admin names."""
from django.core.management.base import CommandError

from nbhosting.lti.contexts import Lms
from nbhosting.lti.models import Consumer, Platform

LMS_HELP = "the LTI 1.3 platform's issuer (or, with --lti11, the LTI 1.1 consumer key)"


def add_lms_arguments(parser) -> None:
    parser.add_argument("platform", metavar="PLATFORM", help=LMS_HELP)
    parser.add_argument("--client-id", default="", help="which registration, when the issuer has several")
    parser.add_argument("--lti11", action="store_true", help="PLATFORM is an LTI 1.1 consumer key")


def lms_named(platform: str, client_id: str, lti11: bool) -> Lms:
    if lti11:
        consumer = Consumer.objects.filter(key=platform).first()
        if consumer is None:
            raise CommandError(f"no LTI 1.1 consumer with key {platform} (see nbh lti-consumer-add)")
        return consumer
    found = Platform.objects.filter(issuer=platform)
    if client_id:
        found = found.filter(client_id=client_id)
    registrations = list(found[:2])
    if not registrations:
        raise CommandError(f"no LTI 1.3 platform {platform}" + (f" with client id {client_id}" if client_id else "")
                           + " (see nbh lti-platform-list; --lti11 for an LTI 1.1 consumer)")
    if len(registrations) > 1:
        raise CommandError(f"{platform} has several registrations: say which with --client-id")
    return registrations[0]


def context_id_checked(context_id: str) -> str:
    if not context_id.strip() or len(context_id) > 255 or not context_id.isprintable():
        raise CommandError(f"invalid context id {context_id!r}: 1-255 printable characters, as the LMS sends it")
    return context_id
