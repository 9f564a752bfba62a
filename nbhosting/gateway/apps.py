from django.apps import AppConfig


class GatewayConfig(AppConfig):
    name = "nbhosting.gateway"
