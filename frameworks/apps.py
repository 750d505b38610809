from django.apps import AppConfig


class FrameworksConfig(AppConfig):
    name = "frameworks"
    verbose_name = "Backup frameworks"

    def ready(self) -> None:
        # Registers the deploy check on the database role; connects sign-in's recording.
        from frameworks import dbroles, signin  # noqa: F401
