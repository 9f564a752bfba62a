from django.apps import AppConfig


class WorkspacesConfig(AppConfig):
    name = "nbhosting.workspaces"
