from django.apps import AppConfig


class IdentityConfig(AppConfig):
    name = "identity"
    verbose_name = "Face identity"

    def ready(self) -> None:
        # The engine does not import Django or Prometheus; the service listens to its stages.
        from faceengine.stages import observe_stages
        from faceportal.metrics import observe_stage

        observe_stages(observe_stage)
