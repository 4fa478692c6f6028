"""`manage.py create_api_token --user EMAIL --org SLUG --name NAME [--scope write]
[--expires-in-days N]`: prints a new API token (shown once, stored only as a hash)."""

from datetime import timedelta

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from accounts.models import Organization, TokenScope, User
from accounts.services import api_token_create


class Command(BaseCommand):
    help = "Create an API token for a user in an organization and print it."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--user", required=True, help="email of the token's user")
        parser.add_argument("--org", required=True, help="slug of the organization")
        parser.add_argument("--name", required=True, help="what the token is for")
        parser.add_argument("--scope", choices=TokenScope.values, default=TokenScope.READ)
        parser.add_argument("--expires-in-days", type=int, default=None)

    def handle(self, *args, user: str, org: str, name: str, scope: str, **options) -> None:
        found_user = User.objects.filter(email__iexact=user).first()
        if found_user is None:
            raise CommandError(f"No user with the email {user}.")
        found_org = Organization.objects.filter(slug=org).first()
        if found_org is None:
            raise CommandError(f"No organization with the slug {org}.")
        days = options["expires_in_days"]
        if days is not None and days <= 0:
            raise CommandError("--expires-in-days must be positive.")
        try:
            _, raw = api_token_create(
                org=found_org,
                user=found_user,
                name=name,
                scope=scope,
                expires_at=timezone.now() + timedelta(days=days) if days else None,
            )
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from exc
        self.stdout.write(raw)
