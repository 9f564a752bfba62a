from django.apps import AppConfig


class StartsConfig(AppConfig):
    name = "nbhosting.starts"
    default_auto_field = "django.db.models.BigAutoField"
