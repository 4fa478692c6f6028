"""A deployment names the registered model version it runs by reference, not as text:
the "name/version" texts recorded so far become links where they name a version of the
deployment's project, and are kept in the notes otherwise. A prototype endpoint may name
the registered model version it serves."""

import django.db.models.deletion
from django.db import migrations, models


def link_versions(apps, schema_editor):
    Deployment = apps.get_model("evaluation", "Deployment")
    ModelVersion = apps.get_model("evaluation", "ModelVersion")
    for deployment in Deployment.objects.exclude(model_version_text=""):
        name, _, number = deployment.model_version_text.rpartition("/")
        version = None
        if name and number.isdigit():
            version = ModelVersion.objects.filter(
                registered_model__project_id=deployment.project_id,
                registered_model__name=name,
                version=int(number),
            ).first()
        if version is not None:
            deployment.registered_version = version
        else:
            note = f"Registered model version: {deployment.model_version_text}"
            deployment.notes = f"{deployment.notes}\n{note}".strip()
        deployment.save(update_fields=["registered_version", "notes"])


def unlink_versions(apps, schema_editor):
    Deployment = apps.get_model("evaluation", "Deployment")
    for deployment in Deployment.objects.exclude(registered_version=None).select_related(
        "registered_version__registered_model"
    ):
        version = deployment.registered_version
        deployment.model_version_text = f"{version.registered_model.name}/{version.version}"
        deployment.save(update_fields=["model_version_text"])


class Migration(migrations.Migration):
    dependencies = [
        ("evaluation", "0022_warehouse_queries"),
    ]

    operations = [
        migrations.RenameField(
            model_name="deployment", old_name="model_version", new_name="model_version_text"
        ),
        migrations.AddField(
            model_name="deployment",
            name="registered_version",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="deployments",
                to="evaluation.modelversion",
                verbose_name="Registered model version",
            ),
        ),
        migrations.RunPython(link_versions, unlink_versions),
        migrations.RemoveField(model_name="deployment", name="model_version_text"),
        migrations.RenameField(
            model_name="deployment", old_name="registered_version", new_name="model_version"
        ),
        migrations.AddField(
            model_name="prototypeendpoint",
            name="model_version",
            field=models.ForeignKey(
                blank=True,
                help_text="The project's registered model version this endpoint serves: its "
                "MLflow signature gives the input fields.",
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to="evaluation.modelversion",
                verbose_name="Registered model version",
            ),
        ),
    ]
