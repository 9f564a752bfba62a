from django.apps import AppConfig


class ExchangeConfig(AppConfig):
    name = "nbhosting.exchange"

    def ready(self) -> None:
        # nbgrader's mounts and server extensions join a course's containers through the spawn's
        # hook: the spawn knows nothing of nbgrader.
        from nbhosting.containers.spawn import register_spec_extender
        from nbhosting.exchange.containers import extras

        register_spec_extender(extras)
