"""State changes of the lifecycle domain.

Every write to a project's lifecycle goes through `_after_change`, in the same
transaction: it records a `SectionVersion` of the step when its content changed, writes
the audit row, and refreshes the project's summary (readiness score, verdict, stage) so
the dashboard never has to load sections. Only the current cycle can be written.
"""

import hashlib
import json
import math

from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models, transaction
from django.utils import timezone
from django.utils.text import slugify

from accounts.models import Organization, User
from accounts.services import audit
from mlprojects.lifecycle import readiness, selectors
from mlprojects.lifecycle.feasibility import CRITERIA, RED_FLAGS
from mlprojects.models import (
    CYCLE_SECTIONS,
    Feasibility,
    Finding,
    FindingStatus,
    Hypothesis,
    Metric,
    ProblemDefinition,
    ProblemNode,
    Project,
    ProjectCycle,
    SectionVersion,
    Stage,
)


def unique_project_slug(*, org: Organization, name: str, exclude_id: int | None = None) -> str:
    base = slugify(name)[:70] or "project"
    taken = set(
        Project.objects.filter(organization=org, slug__startswith=base)
        .exclude(pk=exclude_id)
        .values_list("slug", flat=True)
    )
    slug, n = base, 2
    while slug in taken:
        slug, n = f"{base}-{n}", n + 1
    return slug


@transaction.atomic
def project_create(
    *, org: Organization, user: User | None, name: str, summary: str = "", slug: str = ""
) -> Project:
    """The only way projects are made: the project and its first cycle, together."""
    project = Project.objects.create(
        organization=org,
        name=name.strip(),
        slug=slug or unique_project_slug(org=org, name=name),
        summary=summary,
        owner=user,
        created_by=user,
    )
    cycle_create(project=project, number=1, user=user)
    audit(org=org, actor=user, action="project.created", target=project.name)
    return project


@transaction.atomic
def project_update(*, project: Project, user: User | None, values: dict) -> Project:
    """Change the project's own fields (name, summary, owner)."""
    for name, value in values.items():
        setattr(project, name, value)
    # Validate what changes: a project whose creator left (created_by null) stays editable.
    untouched = [f.name for f in Project._meta.concrete_fields if f.name not in values]
    project.full_clean(exclude=untouched)
    project.save()
    audit(org=project.organization, actor=user, action="project.updated", target=project.name)
    return project


def cycle_create(*, project: Project, number: int, user: User | None) -> ProjectCycle:
    """A cycle with all its single-row sections, empty."""
    cycle = ProjectCycle.objects.create(project=project, number=number, started_by=user)
    for model in CYCLE_SECTIONS.values():
        model.objects.create(cycle=cycle)
    return cycle


def _writable_cycle(project: Project) -> ProjectCycle:
    # Every project has its current cycle: `project_create` makes cycle 1 in the same
    # transaction, and a data migration gave one to every older project that lacked it.
    return ProjectCycle.objects.get(project=project, number=project.cycle)


def _check_writable(project: Project, cycle_id: int) -> None:
    current = _writable_cycle(project)
    if cycle_id != current.id:
        raise ValidationError("Earlier cycles are read-only; edit the current cycle.")


def project_refresh(*, project: Project, steps: dict | None = None) -> readiness.Readiness:
    """Recompute the summary fields of the project from its current cycle."""
    if steps is None:
        steps = selectors.cycle_steps(selectors.cycle_get(project=project))
    result = readiness.evaluate(steps)
    stage = Stage.FURTHER_ANALYSIS
    for key in readiness.STEPS:
        if result.step_status(key, readiness.has_content(key, steps[key])) != "done":
            stage = key
            break
    project.readiness_score = result.score
    project.verdict = steps[Stage.FEASIBILITY]["verdict"]
    project.stage = stage
    project.save(update_fields=["readiness_score", "verdict", "stage", "updated_at"])
    return result


def _after_change(*, project: Project, step: str, user: User | None, action: str) -> None:
    cycle = selectors.cycle_get(project=project)
    steps = selectors.cycle_steps(cycle)
    data = steps[step]
    last = SectionVersion.objects.filter(cycle=cycle, step=step).order_by("-number").first()
    if last is None or last.data != data:
        number = (last.number if last else 0) + 1
        SectionVersion.objects.create(
            project=project, cycle=cycle, step=step, number=number, data=data, author=user
        )
        audit(
            org=project.organization,
            actor=user,
            action=action,
            target=project.name,
            data={"step": step, "cycle": cycle.number, "version": number, "project": project.pk},
        )
    project_refresh(project=project, steps=steps)


def _assign(obj: models.Model, values: dict) -> dict:
    """Set plain and foreign-key fields; return the many-to-many values to set after save."""
    m2m = {}
    for name, value in values.items():
        field = obj._meta.get_field(name)
        if field.many_to_many:
            m2m[name] = value
        else:
            setattr(obj, name, value)
    return m2m


def _save(obj: models.Model, values: dict) -> None:
    m2m = _assign(obj, values)
    obj.full_clean(exclude=["cycle"])
    obj.save()
    for name, value in m2m.items():
        getattr(obj, name).set(value)


class SectionConflict(Exception):
    """A save was based on an older version of the section than the saved one: someone
    else saved in between. `current` is the section as it is now, so the caller can show
    both texts and let the user merge."""

    def __init__(self, current: models.Model):
        super().__init__("This section was changed by someone else since you opened it.")
        self.current = current


def section_etag(instance: models.Model, fields: list[str] | None = None) -> str:
    """A version tag of a section's content (all its fields, or only `fields`): equal
    content, equal tag. Forms carry it and the API sends it as an ETag, so a save based
    on an older version is refused instead of silently overwriting."""
    meta = instance._meta
    names = fields or [
        f.name
        for f in [*meta.concrete_fields, *meta.many_to_many]
        if f.name not in ("id", "cycle", "created_at", "updated_at")
    ]
    values = {}
    for name in names:
        field = meta.get_field(name)
        if field.many_to_many:
            values[name] = sorted(getattr(instance, name).values_list("pk", flat=True))
        elif field.is_relation:
            values[name] = getattr(instance, field.attname)
        else:
            values[name] = getattr(instance, name)
    raw = json.dumps(values, sort_keys=True, cls=DjangoJSONEncoder)
    return hashlib.sha256(raw.encode()).hexdigest()[:20]


def _locked_section(
    model, cycle: ProjectCycle, if_version: str | None, fields: list[str] | None
) -> models.Model:
    """The section row, locked until the end of the transaction, after checking that the
    caller's version is still the saved one (no check without `if_version`)."""
    instance = model.objects.select_for_update().get(cycle=cycle)
    if if_version is not None and if_version != section_etag(instance, fields):
        raise SectionConflict(instance)
    return instance


@transaction.atomic
def section_update(
    *,
    project: Project,
    user: User | None,
    section: str,
    values: dict,
    if_version: str | None = None,
    version_fields: list[str] | None = None,
):
    """Update one single-row section (`CYCLE_SECTIONS` key) of the current cycle. With
    `if_version` (a `section_etag` over `version_fields`, default all fields), refuse with
    `SectionConflict` when the section changed since that version was read."""
    cycle = _writable_cycle(project)
    instance = _locked_section(CYCLE_SECTIONS[section], cycle, if_version, version_fields)
    if isinstance(instance, Feasibility):
        raise ValueError("Use feasibility_update, which recomputes the verdict.")
    for name, value in values.items():
        if name in ("metrics",):
            _check_same_cycle(value, cycle)
    _save(instance, values)
    if isinstance(instance, ProblemDefinition):
        _tree_root_from_statement(cycle, instance.statement)
    _after_change(project=project, step=instance.step, user=user, action="section.updated")
    return instance


def _statement_title(statement: str) -> str:
    first = statement.strip().splitlines()[0].strip() if statement.strip() else ""
    return first[:300]


def _tree_root_from_statement(cycle: ProjectCycle, statement: str) -> None:
    """The problem is written once: the problem statement is the root of the problem tree.
    A statement creates the root when the tree has none and renames the root when there is
    exactly one (a tree with several top-level problems is left as the team drew it)."""
    title = _statement_title(statement)
    if not title:
        return
    roots = list(ProblemNode.objects.filter(cycle=cycle, parent__isnull=True)[:2])
    if not roots:
        ProblemNode.objects.create(cycle=cycle, title=title)
    elif len(roots) == 1 and roots[0].title != title:
        roots[0].title = title
        roots[0].save(update_fields=["title"])  # a save: the project page hears of it


def _statement_from_tree_root(cycle: ProjectCycle, node: ProblemNode) -> None:
    """The other direction: a top-level problem typed in the tree while the statement is
    empty becomes the problem statement, so it is not typed twice either way."""
    if node.parent_id is not None:
        return
    problem = ProblemDefinition.objects.get(cycle=cycle)
    if not problem.statement.strip():
        problem.statement = node.title
        problem.save(update_fields=["statement", "updated_at"])


def _check_same_cycle(objs, cycle: ProjectCycle) -> None:
    if any(o.cycle_id != cycle.id for o in objs):
        raise ValidationError({"metrics": "Every metric must belong to this project."})


@transaction.atomic
def feasibility_update(
    *,
    project: Project,
    user: User | None,
    criteria: dict[str, str] | None = None,
    red_flags: dict[str, bool] | None = None,
    rationales: dict[str, str] | None = None,
    values: dict | None = None,
    if_version: str | None = None,
    version_fields: list[str] | None = None,
) -> Feasibility:
    """Change any of the answers and rationales, and `values` of the business case and the
    data-collection plan (`Feasibility.BUSINESS_CASE_FIELDS`, `PLAN_FIELDS`); the verdict
    and its reasons follow. `if_version` as in `section_update`."""
    cycle = _writable_cycle(project)
    feasibility = _locked_section(Feasibility, cycle, if_version, version_fields)
    for key, value in (criteria or {}).items():
        if key not in CRITERIA:
            raise ValidationError({key: "Unknown criterion."})
        setattr(feasibility, key, value)
    for key, value in (red_flags or {}).items():
        if key not in RED_FLAGS:
            raise ValidationError({key: "Unknown red flag."})
        setattr(feasibility, key, bool(value))
    for key, value in (rationales or {}).items():
        if key not in CRITERIA and key not in RED_FLAGS:
            raise ValidationError({key: "Unknown criterion or red flag."})
        setattr(feasibility, f"{key}_rationale", value or "")
    plain = (*Feasibility.BUSINESS_CASE_FIELDS, *Feasibility.PLAN_FIELDS)
    for key, value in (values or {}).items():
        if key not in plain:
            raise ValidationError({key: "Unknown field of the feasibility section."})
        setattr(feasibility, key, value)
    feasibility.full_clean(exclude=["cycle"])
    feasibility.recompute()
    feasibility.save()
    _after_change(project=project, step=Stage.FEASIBILITY, user=user, action="section.updated")
    return feasibility


@transaction.atomic
def item_create(*, project: Project, user: User | None, model, values: dict):
    """Add an item (hypothesis, cause, solution, objective, metric, …) to the current
    cycle. References to other items must stay inside the cycle (checked by `clean`)."""
    cycle = _writable_cycle(project)
    item = model(cycle=cycle)
    _save(item, values)
    if isinstance(item, ProblemNode):
        _statement_from_tree_root(cycle, item)
    _after_change(project=project, step=model.step, user=user, action="section.updated")
    return item


@transaction.atomic
def item_update(*, project: Project, user: User | None, item, values: dict):
    _check_writable(project, item.cycle_id)
    _save(item, values)
    if isinstance(item, ProblemNode):
        _statement_from_tree_root(item.cycle, item)
    _after_change(project=project, step=item.step, user=user, action="section.updated")
    return item


@transaction.atomic
def metric_current_record(
    *, project: Project, user: User | None, metric: Metric, value: float, source: str
) -> Metric:
    """Write a measured value back to a metric of the current cycle as its current value —
    the business impact an A/B decision measured, so the metric tree shows what the action
    achieved. A version of step 4 like any edit, and an audit row that says where the value
    came from (`source`, e.g. "the A/B test “Menu descriptions”") and what it replaced."""
    if metric.cycle.project_id != project.pk:
        raise ValidationError({"metric": "The metric must belong to this project."})
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValidationError({"value": "Give the measured value as a finite number."})
    previous = metric.current
    item_update(project=project, user=user, item=metric, values={"current": float(value)})
    unit = f" {metric.unit}" if metric.unit else ""
    was = "unset" if previous is None else f"{previous:g}{unit}"
    audit(
        org=project.organization,
        actor=user,
        action="metric.current_recorded",
        target=metric.name,
        data={
            "project": project.pk,
            "metric": metric.pk,
            "from": previous,
            "to": float(value),
            "source": source,
            "summary": f"recorded {metric.name} of “{project.name}” as {float(value):g}{unit} "
            f"(was {was}), measured by {source}",
        },
    )
    return metric


@transaction.atomic
def item_delete(*, project: Project, user: User | None, item) -> None:
    """Delete an item; a problem node takes its sub-causes and their solutions with it."""
    _check_writable(project, item.cycle_id)
    step = item.step
    item.delete()
    _after_change(project=project, step=step, user=user, action="section.updated")


@transaction.atomic
def children_replace(*, project: Project, user: User | None, model, items: list[dict]) -> None:
    """Make the current cycle's `model` rows match `items`: rows with a known `id` are
    updated, rows without one are created, rows not mentioned are deleted. One version."""
    cycle = _writable_cycle(project)
    existing = {obj.pk: obj for obj in model.objects.filter(cycle=cycle)}
    keep = set()
    for values in items:
        values = dict(values)
        pk = values.pop("id", None)
        if pk is not None and pk not in existing:
            raise ValidationError({"id": f"No item {pk} in this section."})
        obj = existing[pk] if pk is not None else model(cycle=cycle)
        _save(obj, values)
        keep.add(obj.pk)
    model.objects.filter(cycle=cycle).exclude(pk__in=keep).delete()
    _after_change(project=project, step=model.step, user=user, action="section.updated")


def _clone(obj: models.Model, **changes) -> models.Model:
    obj.pk = None
    obj.id = None
    obj._state.adding = True
    # A loaded instance keeps the prefetched relations of its source; drop them so that
    # the copy's many-to-many managers see the copy's (empty) rows.
    obj.__dict__.pop("_prefetched_objects_cache", None)
    for name, value in changes.items():
        setattr(obj, name, value)
    obj.save()
    return obj


#: The decisions a finding of step 9 can get, and the status each gives it.
FINDING_DECISIONS = {
    "carry": FindingStatus.TO_CARRY,
    "wont_fix": FindingStatus.DISMISSED,
    "reopen": FindingStatus.OPEN,
}


@transaction.atomic
def finding_decide(
    *, project: Project, user: User | None, finding: Finding, decision: str, reason: str = ""
) -> Finding:
    """Decide what happens to a finding of the current cycle: carry it into the next
    cycle, or won't fix (a reason is required), or reopen it. A finding already carried
    into a cycle keeps its decision."""
    finding = Finding.objects.select_for_update().get(pk=finding.pk)
    _check_writable(project, finding.cycle_id)
    if decision not in FINDING_DECISIONS:
        raise ValidationError({"decision": "Carry it, won't fix, or reopen."})
    if finding.status == FindingStatus.CARRIED_FORWARD:
        raise ValidationError({"decision": "This finding is already carried into a new cycle."})
    reason = reason.strip()
    if decision == "wont_fix" and not reason:
        raise ValidationError({"reason": "Say why it won't be fixed."})
    finding.status = FINDING_DECISIONS[decision]
    finding.decision_reason = reason
    finding.decided_by = user if decision != "reopen" else None
    finding.decided_at = timezone.now() if decision != "reopen" else None
    finding.full_clean(exclude=["cycle"])
    finding.save()
    _after_change(
        project=project, step=Finding.step, user=user, action=f"finding.decided_{decision}"
    )
    return finding


def _seed_from_findings(old: ProjectCycle, new: ProjectCycle) -> None:
    """Each finding of step 9 to carry (or still open) becomes a hypothesis of the new
    cycle's phenomenon with its evidence linked - and, when asked, a cause under the new
    cycle's first problem too (the tree's first node when it has none) - and is marked
    carried forward (pointing at both).
    Findings decided "won't fix" stay behind."""
    root = ProblemNode.objects.filter(cycle=new, parent__isnull=True).order_by("id").first()
    carried = Finding.objects.filter(
        cycle=old, status__in=(FindingStatus.OPEN, FindingStatus.TO_CARRY)
    )
    for finding in carried:
        statement = finding.what
        if finding.suspected_cause:
            statement += f" Suspected cause: {finding.suspected_cause}"
        hypothesis = Hypothesis.objects.create(
            cycle=new,
            statement=statement,
            evidence=f"Finding of cycle {old.number}: {finding.evidence_url}".strip(": "),
        )
        cause = None
        if finding.as_cause:
            cause = ProblemNode.objects.create(
                cycle=new,
                parent=root,
                title=(finding.suspected_cause or finding.what)[:300],
                notes=f"Finding of cycle {old.number}: {finding.what}\n{finding.evidence_url}",
            )
        finding.status, finding.hypothesis, finding.cause = (
            FindingStatus.CARRIED_FORWARD,
            hypothesis,
            cause,
        )
        finding.save(update_fields=["status", "hypothesis", "cause", "updated_at"])


@transaction.atomic
def cycle_start_next(*, project: Project, user: User | None) -> ProjectCycle:
    """Start cycle N+1 carrying the project's definition forward: every section and list
    is copied (references remapped to the copies) except the prototype's feedback and the
    further analysis, which belong to the cycle that produced them. Cycle N stays as it
    was and becomes read-only."""
    # Lock the project row so that two clicks cannot start the same cycle twice.
    project.cycle = (
        Project.objects.select_for_update().values_list("cycle", flat=True).get(pk=project.pk)
    )
    old = selectors.cycle_get(project=project)
    new = ProjectCycle.objects.create(project=project, number=old.number + 1, started_by=user)
    # Read before the sections are cloned (cloning reuses the loaded instances).
    evaluated_ids = [m.pk for m in old.evaluation_plan.metrics.all()]

    for name, model in CYCLE_SECTIONS.items():
        if name == "further_analysis":
            model.objects.create(cycle=new)
            continue
        source = getattr(old, name)
        m2m = {f.name: list(getattr(source, f.name).all()) for f in model._meta.many_to_many}
        copy = _clone(source, cycle=new)
        if name == "phenomenon":
            copy.data_sources.set(m2m["data_sources"])
        setattr(new, name, copy)

    def copy_list(rows, **remap):
        mapping = {}
        for row in rows:
            old_id = row.pk
            changes = {"cycle": new}
            for field, table in remap.items():
                ref = getattr(row, f"{field}_id")
                changes[f"{field}_id"] = table.get(ref) if ref is not None else None
            mapping[old_id] = _clone(row, **changes).pk
        return mapping

    copy_list(old.hypotheses.all())
    nodes = list(old.problem_nodes.all())
    parents = {n.pk: n.parent_id for n in nodes}
    node_map = copy_list(nodes, parent={})
    for old_id, parent_id in parents.items():
        if parent_id is not None:
            ProblemNode.objects.filter(pk=node_map[old_id]).update(parent_id=node_map[parent_id])
    copy_list(old.solution_list, cause=node_map)
    objective_map = copy_list(old.objectives.all())
    metrics = list(old.metrics.all())
    metric_parents = {m.pk: m.parent_id for m in metrics}
    metric_map = copy_list(metrics, objective=objective_map, parent={})
    for old_id, parent_id in metric_parents.items():
        if parent_id is not None:
            Metric.objects.filter(pk=metric_map[old_id]).update(parent_id=metric_map[parent_id])
    copy_list(old.constraints.all())
    copy_list(old.baselines.all())
    copy_list(old.references.all())
    copy_list(old.watched_metrics.all(), metric=metric_map)
    new.evaluation_plan.metrics.set([metric_map[pk] for pk in evaluated_ids])
    _seed_from_findings(old, new)

    project.cycle = new.number
    project.save(update_fields=["cycle", "updated_at"])
    audit(
        org=project.organization,
        actor=user,
        action="project.cycle_started",
        target=project.name,
        data={"cycle": new.number},
    )
    project_refresh(project=project)
    return new


@transaction.atomic
def project_delete(*, project: Project, user: User | None, confirm: str) -> int:
    """Delete the project with everything that belongs to it and, once that is committed,
    the files its rows kept in storage (evaluation uploads, A/B raw files, drift data…),
    through the storage API so a bucket is emptied too. `confirm` must be the project's
    name, typed by the person deleting. Returns how many files are removed."""
    project = Project.objects.select_for_update().select_related("organization").get(pk=project.pk)
    if confirm.strip() != project.name:
        raise ValidationError({"confirm": "Type the project's name exactly to delete it."})
    contents = selectors.project_contents(project=project)
    files = contents.files
    audit(
        org=project.organization,
        actor=user,
        action="project.deleted",
        target=project.name,
        data={"project": project.pk, "slug": project.slug, "files": len(files)},
    )
    contents.collector.delete()
    if files:
        transaction.on_commit(lambda: [default_storage.delete(name) for name in files])
    return len(files)
