"""`python manage.py load_demo`: the demo organizations, users and the seed's stories (see
`mlprojects.site.demo`). Idempotent: running it again updates what it created and
duplicates nothing."""

from django.core.management.base import BaseCommand

from mlprojects.site.demo import load_demo


class Command(BaseCommand):
    help = "Create (or refresh) the demo organizations, users and the seed's stories."

    def handle(self, *args, **options) -> None:
        load_demo()
        self.stdout.write(self.style.SUCCESS("Demo data ready."))
