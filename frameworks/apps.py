from django.apps import AppConfig


class FrameworksConfig(AppConfig):
    name = "frameworks"
    verbose_name = "Backup frameworks"

    def ready(self) -> None:
        from django.contrib.auth import get_user_model
        from django.db.models.signals import post_save

        # Registers the deploy check on the database role; connects sign-in's recording.
        from frameworks import dbroles, integrity, signin  # noqa: F401

        # Every password hash saved through Django gets its seal (see frameworks.integrity).
        post_save.connect(
            integrity.seal_on_save, sender=get_user_model(), dispatch_uid="password-seal"
        )
