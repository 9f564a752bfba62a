from django.apps import AppConfig


class ClassroomConfig(AppConfig):
    name = "nbhosting.classroom"
    label = "classroom"
