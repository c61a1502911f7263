from django.apps import AppConfig


class ResourcesConfig(AppConfig):
    name = "resources"
    verbose_name = "Stored images"

    def ready(self) -> None:
        from resources import signals  # noqa: F401  (connects the receivers)
