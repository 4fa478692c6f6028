"""Give every project its current cycle.

Projects are made together with their first cycle (`project_create`), but a row written
another way (imported, copied in by hand) may lack it; pages used to create it on the
first read. Reads no longer write, so this creates every missing current cycle, with its
empty single-row sections, once.
"""

from django.db import migrations
from django.db.models import Exists, OuterRef

# The single-row sections of a cycle, as at this migration (CYCLE_SECTIONS).
SECTIONS = [
    "Phenomenon",
    "ProblemDefinition",
    "Feasibility",
    "Goal",
    "PerformanceRequirements",
    "Prototype",
    "EvaluationPlan",
    "DeploymentPlan",
    "FurtherAnalysis",
]


def create_missing_current_cycles(apps, schema_editor):
    Project = apps.get_model("mlprojects", "Project")
    ProjectCycle = apps.get_model("mlprojects", "ProjectCycle")
    has_current = ProjectCycle.objects.filter(project=OuterRef("pk"), number=OuterRef("cycle"))
    for project in Project.objects.filter(~Exists(has_current)).iterator():
        cycle = ProjectCycle.objects.create(project=project, number=project.cycle)
        for name in SECTIONS:
            apps.get_model("mlprojects", name).objects.create(cycle=cycle)


class Migration(migrations.Migration):
    dependencies = [
        ("mlprojects", "0005_review"),
    ]

    operations = [
        migrations.RunPython(create_missing_current_cycles, migrations.RunPython.noop),
    ]
