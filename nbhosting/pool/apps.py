from django.apps import AppConfig


class PoolConfig(AppConfig):
    name = "nbhosting.pool"
    default_auto_field = "django.db.models.BigAutoField"
