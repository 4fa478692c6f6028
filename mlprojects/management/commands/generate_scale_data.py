"""`python manage.py generate_scale_data --factor N`: N times the demo organization's data,
for load tests and query-count checks (bench/bench_load.py).

Every project of the demo organization (as `load_demo` made it) gets N-1 copies, each with
everything that hangs off it: its cycles, lifecycle sections and items, runs with their
metrics, comments, proposals and reviews, evaluations (succeeded, with their stored
metrics; the copies point at the original's file name and are never re-run) and A/B tests
with their results. The organization's activity grows by the same factor. Copies are made
with `bulk_create`, one statement per model and batch, remapping every foreign key to the
copy of its target, so each copy keeps the original's invariants (its current cycle, its
experiment, unique names per project).

Idempotent: copies are numbered and keyed on the project's slug (`<slug>-x<i>`), so
running it again only makes the copies that are missing; `--factor 1` makes none.
"""

import re
import uuid
from collections import defaultdict

from django.apps import apps
from django.core.management.base import BaseCommand, CommandError
from django.db import models, transaction

from accounts.models import AuditEvent, Organization
from mlprojects.models import Project

COPY_SLUG = re.compile(r"-x\d+$")
BATCH = 2000


def _owned_models() -> list[type[models.Model]]:
    """The models whose rows belong to a project (through a chain of foreign keys), parents
    before children. Many-to-many tables between two such models are included."""
    candidates = [
        model
        for config in apps.get_app_configs()
        if config.label in ("mlprojects", "evaluation")
        for model in config.get_models(include_auto_created=True)
    ]
    owned: list[type[models.Model]] = [Project]
    changed = True
    while changed:
        changed = False
        for model in candidates:
            if model in owned:
                continue
            targets = {
                field.related_model
                for field in model._meta.concrete_fields
                if field.is_relation and field.related_model is not model
            }
            if targets & set(owned):
                unresolved = {
                    t
                    for t in targets
                    if t not in owned and t._meta.app_label in ("mlprojects", "evaluation")
                }
                # Wait until every owned parent is placed (a child of two owned models).
                if not any(_reaches_project(t, set()) for t in unresolved):
                    owned.append(model)
                    changed = True
    return owned


def _reaches_project(model, seen) -> bool:
    if model is Project:
        return True
    if model in seen:
        return False
    seen.add(model)
    return any(
        _reaches_project(field.related_model, seen)
        for field in model._meta.concrete_fields
        if field.is_relation and field.related_model is not model
    )


def _unique_char_fields(model) -> set[str]:
    """Char fields in a uniqueness rule that no remapped key makes unique already: the
    copies' values get a suffix."""
    rules = [[f.name] for f in model._meta.concrete_fields if f.unique and not f.primary_key]
    rules += [
        list(c.fields)
        for c in model._meta.constraints
        if isinstance(c, models.UniqueConstraint) and c.fields
    ]
    rules += [list(t) for t in model._meta.unique_together]
    names = set()
    for rule in rules:
        fields = [model._meta.get_field(name) for name in rule]
        if any(f.is_relation and f.related_model is not Organization for f in fields):
            continue
        names |= {f.name for f in fields if isinstance(f, models.CharField)}
    return names - {"slug"}


class Command(BaseCommand):
    help = "Multiply the demo organization's data N times (projects and all they hold)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--factor", type=int, required=True)
        parser.add_argument("--org", default="demo", help="organization slug (default: demo)")

    def handle(self, *args, factor: int, org: str, **options) -> None:
        if factor < 1:
            raise CommandError("--factor must be at least 1.")
        organization = Organization.objects.filter(slug=org).first()
        if organization is None:
            raise CommandError(f"No organization {org!r}: run `manage.py load_demo` first.")
        with transaction.atomic():
            made = self.multiply(organization, factor)
        self.stdout.write(self.style.SUCCESS(f"{made} copies made (factor {factor})."))

    def multiply(self, org: Organization, factor: int) -> int:
        projects = [
            p for p in Project.objects.filter(organization=org) if not COPY_SLUG.search(p.slug)
        ]
        existing = set(
            Project.objects.filter(organization=org, slug__regex=r"-x[0-9]+$").values_list(
                "slug", flat=True
            )
        )
        made = 0
        for copy in range(1, factor):
            todo = [p for p in projects if f"{p.slug}-x{copy}" not in existing]
            if not todo:
                continue
            self.copy_projects(todo, copy)
            self.copy_activity(org, copy)
            made += 1
        return made

    def copy_projects(self, projects: list[Project], copy: int) -> None:
        mapping: dict[type, dict] = defaultdict(dict)  # model -> {original pk: copy pk}
        originals: dict[type, set] = defaultdict(set)
        originals[Project] = {p.pk for p in projects}
        for model in _owned_models():
            fks = [
                f
                for f in model._meta.concrete_fields
                if f.is_relation and f.related_model in originals and f.related_model is not model
            ]
            if model is Project:
                rows = list(Project.objects.filter(pk__in=originals[Project]))
            else:
                query = models.Q()
                for f in fks:
                    query |= models.Q(**{f"{f.attname}__in": originals[f.related_model]})
                rows = list(model._base_manager.filter(query).order_by("pk")) if fks else []
            if not rows:
                continue
            suffixed = _unique_char_fields(model)
            self_fks = [
                f for f in model._meta.concrete_fields if f.is_relation and f.related_model is model
            ]
            old_pks = [row.pk for row in rows]
            pk_is_relation = model._meta.pk.is_relation
            for row in rows:
                for f in fks:
                    old = getattr(row, f.attname)
                    if old in mapping[f.related_model]:
                        setattr(row, f.attname, mapping[f.related_model][old])
                for f in self_fks:
                    setattr(row, f"_old_{f.attname}", getattr(row, f.attname))
                    setattr(row, f.attname, None)
                for name in suffixed:
                    setattr(row, name, self.suffix(model, name, getattr(row, name), copy))
                if model is Project:
                    row.slug = self.suffix(model, "slug", row.slug, copy)
                if getattr(row, "is_default", False):
                    row.is_default = False
                for f in model._meta.concrete_fields:
                    if isinstance(f, models.UUIDField) and f.unique:
                        setattr(row, f.attname, uuid.uuid4())
                if isinstance(model._meta.pk, models.CharField):
                    row.pk = self.new_key(model, row.pk)  # chosen by the app, not the database
                elif not pk_is_relation:
                    row.pk = None
                row._state.adding = True
            created = model._base_manager.bulk_create(rows, batch_size=BATCH)
            for old, new in zip(old_pks, created, strict=True):
                mapping[model][old] = new.pk
                originals[model].add(old)
            if self_fks:
                for row in created:
                    for f in self_fks:
                        old = getattr(row, f"_old_{f.attname}")
                        setattr(row, f.attname, mapping[model].get(old, old))
                model._base_manager.bulk_update(
                    created, [f.attname for f in self_fks], batch_size=BATCH
                )

    @staticmethod
    def new_key(model, old: str) -> str:
        """A fresh text primary key shaped like `old` (e.g. a logged model's "m-<hex>")."""
        prefix = old.rsplit("-", 1)[0] + "-" if "-" in old else ""
        return (prefix + uuid.uuid4().hex)[: model._meta.pk.max_length]

    @staticmethod
    def suffix(model, name: str, value: str, copy: int) -> str:
        if not value:
            return value
        end = f" #{copy}" if name != "slug" else f"-x{copy}"
        limit = model._meta.get_field(name).max_length or 255
        return value[: limit - len(end)] + end

    def copy_activity(self, org: Organization, copy: int) -> None:
        events = [
            AuditEvent(
                organization_id=e.organization_id,
                actor_id=e.actor_id,
                action=e.action,
                target=e.target,
                data={**e.data, "scale_copy": copy},
                created_at=e.created_at,
            )
            for e in AuditEvent.objects.filter(organization=org)
            .exclude(data__has_key="scale_copy")
            .order_by("pk")
        ]
        AuditEvent.objects.bulk_create(events, batch_size=BATCH)
