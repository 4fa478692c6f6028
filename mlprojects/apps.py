from django.apps import AppConfig


class MlprojectsConfig(AppConfig):
    name = "mlprojects"
    verbose_name = "ML projects"
