"""Writes to the model registry. Every object a request names is looked up in the caller's
organization; another organization's run, logged model or artifact path is reported as not
existing (ValidationError code DOES_NOT_EXIST), never as someone else's."""

import re
from collections.abc import Mapping
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Max

from accounts.models import Organization, User
from evaluation.registry.models import ModelVersion, RegisteredModel, Stage
from evaluation.runs import artifacts
from evaluation.runs.models import LoggedModel, Run
from evaluation.runs.services import (
    ALREADY_EXISTS,
    DOES_NOT_EXIST,
    MAX_TAG_VALUE_LENGTH,
    text_problem,
)
from mlprojects.models import Project

MAX_NAME_LENGTH = 256
MAX_KEY_LENGTH = 250
MAX_ALIAS_LENGTH = 255
ALIAS = re.compile(r"[A-Za-z0-9_-]+")
VERSION_ALIAS = re.compile(r"v[0-9]+", re.IGNORECASE)  # reserved, as in MLflow
MODEL_ID = re.compile(r"m-[0-9a-f]{32}")


def _bad(message: str, code: str | None = None) -> ValidationError:
    return ValidationError(message, code=code)


def check_name(name: str, what: str = "registered model name") -> str:
    if not isinstance(name, str) or not name.strip():
        raise _bad(f"A {what} must be a non-empty string.")
    if len(name) > MAX_NAME_LENGTH:
        raise _bad(f"A {what} has at most {MAX_NAME_LENGTH} characters.")
    if problem := text_problem(name):
        raise _bad(f"The {what} {problem}.")
    if "/" in name or ":" in name or "@" in name:
        raise _bad(f"A {what} may not contain '/', ':' or '@' (it names models:/ URIs).")
    return name


def _check_tags(tags: Mapping[str, str]) -> None:
    for key, value in tags.items():
        if not key or len(key) > MAX_KEY_LENGTH:
            raise _bad(f"A tag key is 1 to {MAX_KEY_LENGTH} characters long.")
        if len(value) > MAX_TAG_VALUE_LENGTH:
            raise _bad(f"A tag value has at most {MAX_TAG_VALUE_LENGTH} characters.")
        if problem := text_problem(key) or text_problem(value):
            raise _bad(f"The tag {key[:40]!r} {problem}.")


def check_alias(alias: str) -> str:
    if not alias or len(alias) > MAX_ALIAS_LENGTH or not ALIAS.fullmatch(alias):
        raise _bad(
            f"An alias is 1 to {MAX_ALIAS_LENGTH} letters, digits, '_' or '-'; {alias!r} is not."
        )
    if VERSION_ALIAS.fullmatch(alias) or alias.lower() == "latest":
        raise _bad(f"The alias {alias!r} is reserved: it would name a version number.")
    return alias


# -- registered models ----------------------------------------------------------------------
@transaction.atomic
def registered_model_create(
    *,
    org: Organization,
    user: User | None,
    name: str,
    description: str = "",
    tags: Mapping[str, str] | None = None,
    project: Project | None = None,
) -> RegisteredModel:
    check_name(name)
    tags = dict(tags or {})
    _check_tags(tags)
    if RegisteredModel.objects.filter(organization=org, name=name).exists():
        raise _bad(f"Registered Model (name={name}) already exists.", ALREADY_EXISTS)
    try:
        with transaction.atomic():
            return RegisteredModel.objects.create(
                organization=org,
                project=project,
                name=name,
                description=description,
                tags=tags,
                created_by=user,
            )
    except IntegrityError:  # a concurrent create of the same name
        raise _bad(f"Registered Model (name={name}) already exists.", ALREADY_EXISTS) from None


def registered_model_update(
    *, model: RegisteredModel, description: str | None = None, tags=None, drop_tag=None
) -> RegisteredModel:
    if description is not None:
        model.description = description
    if tags:
        tags = dict(tags)
        _check_tags(tags)
        model.tags = {**model.tags, **tags}
    if drop_tag is not None:
        if drop_tag not in model.tags:
            raise _bad(f"No tag with key {drop_tag!r} on {model.name}.", DOES_NOT_EXIST)
        model.tags = {k: v for k, v in model.tags.items() if k != drop_tag}
    model.save()
    return model


@transaction.atomic
def registered_model_rename(*, model: RegisteredModel, new_name: str) -> RegisteredModel:
    check_name(new_name, "new registered model name")
    taken = RegisteredModel.objects.filter(organization_id=model.organization_id, name=new_name)
    if taken.exclude(pk=model.pk).exists():
        raise _bad(f"Registered Model (name={new_name}) already exists.", ALREADY_EXISTS)
    model.name = new_name
    model.save(update_fields=["name", "updated_at"])
    return model


def registered_model_delete(*, model: RegisteredModel) -> None:
    model.delete()  # its versions go with it, as in MLflow


def alias_set(*, model: RegisteredModel, alias: str, version: ModelVersion) -> None:
    check_alias(alias)
    model.aliases = {**model.aliases, alias: version.version}
    model.save(update_fields=["aliases", "updated_at"])


def alias_delete(*, model: RegisteredModel, alias: str) -> None:
    # Deleting an alias that is not set is not an error in MLflow.
    model.aliases = {k: v for k, v in model.aliases.items() if k != alias}
    model.save(update_fields=["aliases", "updated_at"])


# -- sources --------------------------------------------------------------------------------
@dataclass(frozen=True)
class Source:
    project: Project
    storage_location: str
    run: Run | None = None
    logged_model: LoggedModel | None = None


def _missing(what: str) -> ValidationError:
    return _bad(f"{what} not found.", DOES_NOT_EXIST)


def _logged_model(org: Organization, model_id: str) -> LoggedModel:
    model = (
        LoggedModel.objects.filter(project__organization=org, pk=model_id, deleted_at=None)
        .select_related("project", "source_run")
        .first()
    )
    if model is None:
        raise _missing(f"Logged model with ID '{model_id}'")
    return model


def _run(org: Organization, raw: str) -> Run:
    run = None
    if raw.isascii() and raw.isdigit() and int(raw) < 2**63:
        run = Run.objects.for_org(org).select_related("project").filter(pk=int(raw)).first()
    if run is None:
        raise _missing(f"Run with id={raw}")
    return run


def _model_location(model: LoggedModel) -> str:
    return artifacts.uri(
        [str(model.project.organization_id), str(model.project_id), "models", model.pk, "artifacts"]
    )


def _run_location(run: Run, path: list[str]) -> str:
    prefix = artifacts.run_prefix(
        org_id=run.project.organization_id, project_id=run.project_id, run_id=run.pk
    )
    return artifacts.uri([*prefix, *path])


def _segments(raw: str) -> list[str]:
    try:
        return artifacts.clean_path(raw)
    except artifacts.ArtifactPathError as exc:
        raise _bad(f"Invalid model version source: {exc}") from None


def resolve_source(*, org: Organization, source: str, run_id: str = "", model_id: str = ""):
    """What a version's `source` names, in `org`: `models:/m-…` (a logged model),
    `runs:/<run id>/<path>` or an `mlflow-artifacts:/…` location this server gave out."""
    run = _run(org, run_id) if run_id else None
    logged = _logged_model(org, model_id) if model_id else None
    if source.startswith("models:/"):
        ident = source[len("models:/") :].strip("/")
        if not MODEL_ID.fullmatch(ident):
            raise _bad(
                "A model version's source is models:/<logged model id>, runs:/<run id>/<path> "
                f"or an mlflow-artifacts:/ location; {source[:200]!r} is not."
            )
        logged = _logged_model(org, ident)
        run = run or logged.source_run
        return Source(logged.project, _model_location(logged), run, logged)
    if source.startswith("runs:/"):
        segments = _segments(source[len("runs:/") :])
        if not segments:
            raise _bad("A runs:/ source names a run: runs:/<run id>/<path>.")
        source_run = _run(org, segments[0])
        if run is not None and run.pk != source_run.pk:
            raise _bad("The source names another run than run_id.")
        return Source(
            source_run.project, _run_location(source_run, segments[1:]), source_run, logged
        )
    if source.startswith(artifacts.URI_SCHEME):
        raw = source[len(artifacts.URI_SCHEME) :].lstrip("/")
        segments = _segments(raw)
        if len(segments) < 3 or segments[0] != str(org.pk) or not segments[1].isdigit():
            raise _missing(f"Artifact location {source[:200]!r}")
        project = Project.objects.filter(organization=org, pk=int(segments[1])).first()
        if project is None:
            raise _missing(f"Artifact location {source[:200]!r}")
        if segments[2] == "models" and len(segments) >= 4:
            logged = _logged_model(org, segments[3])
            if logged.project_id != project.pk:
                raise _missing(f"Artifact location {source[:200]!r}")
        elif segments[2].isdigit():
            source_run = _run(org, segments[2])
            if source_run.project_id != project.pk:
                raise _missing(f"Artifact location {source[:200]!r}")
            run = run or source_run
        else:
            raise _missing(f"Artifact location {source[:200]!r}")
        return Source(project, artifacts.uri(segments), run, logged)
    raise _bad(
        "A model version's source is models:/<logged model id>, runs:/<run id>/<path> or an "
        f"mlflow-artifacts:/ location of this server; {source[:200]!r} is not."
    )


# -- versions -------------------------------------------------------------------------------
@transaction.atomic
def version_create(
    *,
    model: RegisteredModel,
    user: User | None,
    source: Source,
    source_text: str,
    run_link: str = "",
    description: str = "",
    tags: Mapping[str, str] | None = None,
) -> ModelVersion:
    tags = dict(tags or {})
    _check_tags(tags)
    model = RegisteredModel.objects.select_for_update().get(pk=model.pk)
    if model.project_id is None:
        model.project = source.project
    model.save()  # also marks the model updated, as a new version does in MLflow
    latest = model.versions.aggregate(n=Max("version"))["n"] or 0
    return ModelVersion.objects.create(
        registered_model=model,
        version=latest + 1,
        source=source_text,
        storage_location=source.storage_location,
        run=source.run,
        logged_model=source.logged_model,
        run_link=run_link,
        description=description,
        tags=tags,
        created_by=user,
    )


def version_update(
    *, version: ModelVersion, description: str | None = None, tags=None, drop_tag=None
) -> ModelVersion:
    if description is not None:
        version.description = description
    if tags:
        tags = dict(tags)
        _check_tags(tags)
        version.tags = {**version.tags, **tags}
    if drop_tag is not None:
        if drop_tag not in version.tags:
            raise _bad(f"No tag with key {drop_tag!r} on this version.", DOES_NOT_EXIST)
        version.tags = {k: v for k, v in version.tags.items() if k != drop_tag}
    version.save()
    return version


@transaction.atomic
def version_transition(
    *, version: ModelVersion, stage: str, archive_existing: bool = False
) -> ModelVersion:
    match = {s.lower(): s for s in Stage.values}.get(stage.lower())
    if match is None:
        raise _bad(f"Invalid Model Version stage: {stage}. Value must be one of {Stage.values}.")
    if archive_existing and match in (Stage.STAGING, Stage.PRODUCTION):
        version.registered_model.versions.filter(stage=match).exclude(pk=version.pk).update(
            stage=Stage.ARCHIVED
        )
    version.stage = match
    version.save()
    return version


@transaction.atomic
def version_delete(*, version: ModelVersion) -> None:
    model = version.registered_model
    # Aliases that point at the version go with it, as in MLflow.
    model.aliases = {k: v for k, v in model.aliases.items() if v != version.version}
    model.save()
    version.delete()
