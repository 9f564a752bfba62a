from django.apps import AppConfig


class LtiConfig(AppConfig):
    name = "nbhosting.lti"
    label = "lti"
