from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "nbhosting.accounts"
    label = "accounts"
