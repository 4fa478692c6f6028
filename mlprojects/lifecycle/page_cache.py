"""The project page's workspace, rendered once and kept in the cache until a write changes it.

Rendering the nine steps costs about thirty queries and a thousand template nodes, and the
page is the one members open most. The rendered workspace is stored under a key made of

- a version per project, bumped after every write to the project, its cycles and their
  sections and items, its proposals, reviews and comments (`post_save`, `post_delete` and
  `m2m_changed` of those models, wired in `connect_signals`);
- a site-wide generation, bumped by the rarer writes that show on every project page
  (a user's name, an organization's slug, a data source's name);
- the cycle asked for, and whether the viewer may edit (the edit links).

A version is bumped twice: at once, and again when the transaction commits, so a page
rendered by another request from the data before the commit is never kept under the new
version. What is not the lifecycle's stays live: the template's `{% live %}` parts (the
panels of higher layers — runs, evaluations, A/B tests, monitoring — and the buttons that
depend on the viewer's permissions) are rendered on every request into the stored HTML,
and so is the viewer's CSRF token in its forms.

`PROJECT_PAGE_CACHE_SECONDS` bounds how long a stored workspace lives; `0` switches the
cache off.
"""

import time
from collections.abc import Callable

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import Model
from django.db.models.signals import m2m_changed, post_delete, post_save
from django.http import HttpRequest

from accounts.permissions import Perm
from mlprojects.lifecycle.models import Project

SITE_KEY = "project-page:site"
# The markup of a form's CSRF field while the workspace is stored; the viewer's own token
# replaces it on the way out. Escaped text cannot contain it (it starts with "<").
CSRF_SLOT = "csrf-token-slot"
CSRF_FIELD = '<input type="hidden" name="csrfmiddlewaretoken" value="{}">'


def _project_key(project_id: int) -> str:
    return f"project-page:project:{project_id}"


def enabled() -> bool:
    return settings.PROJECT_PAGE_CACHE_SECONDS > 0


def workspace_key(request: HttpRequest, project: Project, number: int | None) -> str | None:
    """The key the workspace of `project` (cycle `number`, the current one when None) is
    stored under for this viewer, or None when the cache is off."""
    if not enabled():
        return None
    project_key = _project_key(project.pk)
    versions = cache.get_many([SITE_KEY, project_key])
    site = versions.get(SITE_KEY) or _start(SITE_KEY)
    version = versions.get(project_key) or _start(project_key)
    # Viewers who may edit see the edit links; the rest of the markup that depends on
    # the viewer's permissions is `{% live %}` in the template.
    may_edit = bool(request.membership and request.membership.can(Perm.EDIT))
    cycle = "current" if number is None else number
    return f"project-page:workspace:{project.pk}:{version}:{site}:{cycle}:{int(may_edit)}"


def _start(key: str) -> int:
    """A version that starts from the clock, so a version evicted from the cache and
    started again never meets a workspace stored under its old number."""
    cache.add(key, time.time_ns(), timeout=None)
    return cache.get(key) or time.time_ns()


def _bump(key: str) -> None:
    try:
        cache.incr(key)
    except ValueError:  # not in the cache (evicted, or never read): any new number will do
        cache.set(key, time.time_ns(), timeout=None)


class CommitBump:
    """The on-commit half of a bump (a class, so it can be told among on-commit hooks)."""

    def __init__(self, key: str) -> None:
        self.key = key

    def __call__(self) -> None:
        _bump(self.key)


def _bump_now_and_at_commit(key: str) -> None:
    _bump(key)
    transaction.on_commit(CommitBump(key))


def project_changed(project_id: int | None) -> None:
    """Forget the stored workspaces of the project (of every project when None)."""
    _bump_now_and_at_commit(SITE_KEY if project_id is None else _project_key(project_id))


def site_changed() -> None:
    """Forget every stored workspace."""
    _bump_now_and_at_commit(SITE_KEY)


def get(key: str) -> str | None:
    return cache.get(key)


def store(key: str, html: str) -> None:
    cache.set(key, html, timeout=settings.PROJECT_PAGE_CACHE_SECONDS)


# --- which writes change which project ----------------------------------------------------


def _project_of(instance: Model) -> int | None:
    """The project an instance of a lifecycle or review model belongs to; None when it
    cannot be told (the caller then forgets every project's workspace)."""
    from mlprojects.models import ProjectCycle, Proposal

    if isinstance(instance, Project):
        return instance.pk
    if getattr(instance, "project_id", None) is not None:
        return instance.project_id
    for name, parent in (("cycle", ProjectCycle), ("proposal", Proposal)):
        parent_id = getattr(instance, f"{name}_id", None)
        if parent_id is None:
            continue
        if instance._meta.get_field(name).is_cached(instance):  # no query: services pass it
            return getattr(instance, name).project_id
        return parent.objects.filter(pk=parent_id).values_list("project_id", flat=True).first()
    return None


def _on_project_write(sender, instance: Model, **kwargs) -> None:
    project_changed(_project_of(instance))


def _on_comment_write(sender, instance: Model, **kwargs) -> None:
    if instance.project_id is not None:  # not a comment on a business analysis
        project_changed(instance.project_id)


def _on_site_write(sender, instance: Model, update_fields=None, **kwargs) -> None:
    if update_fields is not None and set(update_fields) <= {"last_login", "password"}:
        return  # a sign-in saves them (the password when its hash is upgraded); no page shows them
    site_changed()


def _on_m2m(sender, instance: Model, action: str, reverse: bool, **kwargs) -> None:
    if not action.startswith("post_"):
        return
    project_changed(None if reverse else _project_of(instance))


def _connect(signal, receiver: Callable, model: type[Model]) -> None:
    signal.connect(receiver, sender=model, dispatch_uid=f"project-page:{model._meta.label}")


def connect_signals() -> None:
    """Wire the writes that change what the workspace shows (from `AppConfig.ready`)."""
    from accounts.models import Organization, User
    from mlprojects.models import (
        Baseline,
        Comment,
        DataSource,
        DeploymentPlan,
        EvaluationPlan,
        Feasibility,
        Feedback,
        Finding,
        FurtherAnalysis,
        Goal,
        Hypothesis,
        Metric,
        Objective,
        PerformanceRequirements,
        Phenomenon,
        ProblemDefinition,
        ProblemNode,
        ProjectConstraint,
        ProjectCycle,
        Proposal,
        ProposalReview,
        Prototype,
        Reference,
        SectionVersion,
        Solution,
        WatchedMetric,
    )

    project_models = (
        Project,
        ProjectCycle,
        Phenomenon,
        Hypothesis,
        ProblemDefinition,
        ProblemNode,
        Solution,
        Feasibility,
        Goal,
        Objective,
        Metric,
        ProjectConstraint,
        PerformanceRequirements,
        Baseline,
        Reference,
        Prototype,
        Feedback,
        EvaluationPlan,
        DeploymentPlan,
        WatchedMetric,
        FurtherAnalysis,
        Finding,
        SectionVersion,
        Proposal,
        ProposalReview,
    )
    for model in project_models:
        _connect(post_save, _on_project_write, model)
        _connect(post_delete, _on_project_write, model)
    _connect(post_save, _on_comment_write, Comment)
    _connect(post_delete, _on_comment_write, Comment)
    for model in (User, Organization, DataSource):
        _connect(post_save, _on_site_write, model)
        _connect(post_delete, _on_site_write, model)
    for through in (
        Phenomenon.data_sources.through,
        EvaluationPlan.metrics.through,
        Proposal.reviewers.through,
    ):
        _connect(m2m_changed, _on_m2m, through)
