from django.apps import AppConfig


class FacesetsConfig(AppConfig):
    name = "facesets"
    verbose_name = "Face sets"
    default_auto_field = "django.db.models.BigAutoField"
