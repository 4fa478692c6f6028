"""The model registry's MLflow REST endpoints (`/mlflow/api/2.0/mlflow/registered-models/…`
and `…/model-versions/…`), which `mlflow.register_model`, `log_model(registered_model_name=)`,
`MlflowClient`'s registry methods and `models:/<name>/<version>` / `models:/<name>@<alias>`
URIs use. Names are those of the token's organization: another organization's registered
model, version or alias is RESOURCE_DOES_NOT_EXIST, as is a version source in it. A
version's files stay where its run or logged model keeps them; its download URI is an
`mlflow-artifacts:/` location, so the client downloads through this server's proxy."""

from rest_framework.request import Request
from rest_framework.response import Response

from evaluation.registry import selectors, services
from evaluation.registry.models import ModelVersion, RegisteredModel
from evaluation.registry.search import (
    filter_model_versions,
    filter_registered_models,
    order_model_versions,
    order_registered_models,
)
from evaluation.runs.mlflow.protocol import (
    KEY_VALUE,
    Field,
    invalid,
    invalid_value,
    missing_value,
    not_found,
    repeated,
    string,
    to_ms,
)
from evaluation.runs.mlflow.views import MlflowEndpoint, _search_page

MAX_MODEL_RESULTS = 1000  # MLflow's limits for registry searches
MAX_VERSION_RESULTS = 200_000
READY = "READY"  # versions are ready when created: their files are already stored


def version_json(version: ModelVersion, aliases: list[str] | None = None) -> dict:
    model = version.registered_model
    if aliases is None:
        aliases = [a for a, v in model.aliases.items() if v == version.version]
    return {
        "name": model.name,
        "version": str(version.version),
        "creation_timestamp": to_ms(version.created_at),
        "last_updated_timestamp": to_ms(version.updated_at),
        "user_id": getattr(version.created_by, "username", "") or "",
        "current_stage": version.stage,
        "description": version.description,
        "source": version.source,
        "run_id": str(version.run_id) if version.run_id else "",
        "status": READY,
        "tags": [{"key": k, "value": v} for k, v in version.tags.items()],
        "run_link": version.run_link,
        "aliases": sorted(aliases),
        "model_id": version.logged_model_id or "",
    }


def model_json(model: RegisteredModel, *, latest: bool = True) -> dict:
    body = {
        "name": model.name,
        "creation_timestamp": to_ms(model.created_at),
        "last_updated_timestamp": to_ms(model.updated_at),
        "user_id": getattr(model.created_by, "username", "") or "",
        "description": model.description,
        "tags": [{"key": k, "value": v} for k, v in model.tags.items()],
        "aliases": [{"alias": a, "version": str(v)} for a, v in sorted(model.aliases.items())],
    }
    if latest:
        body["latest_versions"] = [version_json(v) for v in selectors.latest_versions(model)]
    return body


def _version_number(raw: str | None) -> int:
    if raw is None:
        raise missing_value("version")
    text = raw.strip()
    if not (text.isascii() and text.isdigit()) or not 0 < int(text) < 2**31:
        raise invalid_value("version", raw, "Model version must be a positive integer.")
    return int(text)


class RegistryEndpoint(MlflowEndpoint):
    """Base of the registry endpoints: GET reads, any other method writes (except the
    searches the client sends as POST, which say so)."""

    read_methods = ("GET", "HEAD")

    @property
    def writes(self) -> bool:
        return self.request.method not in self.read_methods

    def patch(self, request: Request) -> Response:
        return Response(self.handle(self._args()))

    def delete(self, request: Request) -> Response:
        return Response(self.handle(self._args()))

    def get_model(self, name: str | None) -> RegisteredModel:
        if name is None:
            raise missing_value("name")
        model = selectors.registered_model(self.org, name)
        if model is None:
            raise not_found(f"Registered Model with name={name} not found")
        return model

    def get_version(self, args: dict) -> ModelVersion:
        model = self.get_model(args["name"])
        number = _version_number(args["version"])
        version = model.versions.filter(version=number).select_related("created_by").first()
        if version is None:
            raise not_found(f"Model Version (name={model.name}, version={number}) not found")
        version.registered_model = model
        return version


NAME = {"name": string(required=True)}
VERSION = {"name": string(required=True), "version": string(required=True)}


# -- registered models ----------------------------------------------------------------------
class RegisteredModelCreate(RegistryEndpoint):
    http_method_names = ["post"]
    fields = {**NAME, "tags": repeated(KEY_VALUE), "description": string()}

    def handle(self, args: dict) -> dict:
        model = services.registered_model_create(
            org=self.org,
            user=self.request.user,
            name=args["name"],
            description=args["description"] or "",
            tags={t["key"]: t["value"] or "" for t in args["tags"]},
        )
        return {"registered_model": model_json(model)}


class RegisteredModelGet(RegistryEndpoint):
    http_method_names = ["get", "head"]
    fields = NAME

    def handle(self, args: dict) -> dict:
        return {"registered_model": model_json(self.get_model(args["name"]))}


class RegisteredModelUpdate(RegistryEndpoint):
    http_method_names = ["patch"]
    fields = {**NAME, "description": string()}

    def handle(self, args: dict) -> dict:
        model = services.registered_model_update(
            model=self.get_model(args["name"]), description=args["description"] or ""
        )
        return {"registered_model": model_json(model)}


class RegisteredModelRename(RegistryEndpoint):
    http_method_names = ["post"]
    fields = {**NAME, "new_name": string(required=True)}

    def handle(self, args: dict) -> dict:
        model = services.registered_model_rename(
            model=self.get_model(args["name"]), new_name=args["new_name"]
        )
        return {"registered_model": model_json(model)}


class RegisteredModelDelete(RegistryEndpoint):
    http_method_names = ["delete"]
    fields = NAME

    def handle(self, args: dict) -> dict:
        services.registered_model_delete(model=self.get_model(args["name"]))
        return {}


class RegisteredModelSetTag(RegistryEndpoint):
    http_method_names = ["post"]
    fields = {**NAME, "key": string(required=True), "value": string()}

    def handle(self, args: dict) -> dict:
        services.registered_model_update(
            model=self.get_model(args["name"]), tags={args["key"]: args["value"] or ""}
        )
        return {}


class RegisteredModelDeleteTag(RegistryEndpoint):
    http_method_names = ["delete"]
    fields = {**NAME, "key": string(required=True)}

    def handle(self, args: dict) -> dict:
        services.registered_model_update(model=self.get_model(args["name"]), drop_tag=args["key"])
        return {}


class RegisteredModelSearch(RegistryEndpoint):
    http_method_names = ["get", "head"]
    fields = {
        "filter": string(),
        "max_results": Field("int64"),
        "order_by": repeated(string()),
        "page_token": string(),
    }

    def handle(self, args: dict) -> dict:
        size = 100 if args["max_results"] is None else args["max_results"]
        if not 0 < size <= MAX_MODEL_RESULTS:
            raise invalid_value(
                "max_results", size, f"It must be between 1 and {MAX_MODEL_RESULTS}."
            )
        page, token = _search_page(
            selectors.registered_models(self.org).select_related("created_by"),
            "ALL",
            lambda items: order_registered_models(
                filter_registered_models(items, args["filter"] or ""), args["order_by"]
            ),
            {**args, "max_results": size},
        )
        body = {"registered_models": [model_json(m) for m in page]}
        if token:
            body["next_page_token"] = token
        return body


class LatestVersions(RegistryEndpoint):
    read_methods = ("GET", "HEAD", "POST")  # a read the client sends as a POST
    http_method_names = ["post", "get", "head"]
    fields = {**NAME, "stages": repeated(string())}

    def handle(self, args: dict) -> dict:
        model = self.get_model(args["name"])
        versions = selectors.latest_versions(model, args["stages"] or None)
        return {"model_versions": [version_json(v) for v in versions]}


class RegisteredModelAlias(RegistryEndpoint):
    """POST sets an alias on a version, DELETE removes it, GET the version it names."""

    http_method_names = ["get", "head", "post", "delete"]
    fields = {**NAME, "alias": string(required=True), "version": string()}

    def handle(self, args: dict) -> dict:
        method = self.request.method
        if method == "POST":
            version = self.get_version(args)
            services.alias_set(model=version.registered_model, alias=args["alias"], version=version)
            return {}
        model = self.get_model(args["name"])
        if method == "DELETE":
            services.alias_delete(model=model, alias=args["alias"])
            return {}
        number = model.aliases.get(args["alias"])
        version = model.versions.filter(version=number).first() if number else None
        if version is None:
            raise not_found(f"Registered model alias {args['alias']} not found.")
        version.registered_model = model
        return {"model_version": version_json(version)}


# -- model versions -------------------------------------------------------------------------
class ModelVersionCreate(RegistryEndpoint):
    http_method_names = ["post"]
    fields = {
        **NAME,
        "source": string(required=True),
        "run_id": string(),
        "tags": repeated(KEY_VALUE),
        "run_link": string(),
        "description": string(),
        "model_id": string(),
    }

    def handle(self, args: dict) -> dict:
        model = self.get_model(args["name"])
        source = services.resolve_source(
            org=self.org,
            source=args["source"],
            run_id=args["run_id"] or "",
            model_id=args["model_id"] or "",
        )
        version = services.version_create(
            model=model,
            user=self.request.user,
            source=source,
            source_text=args["source"],
            run_link=args["run_link"] or "",
            description=args["description"] or "",
            tags={t["key"]: t["value"] or "" for t in args["tags"]},
        )
        return {"model_version": version_json(version, [])}


class ModelVersionGet(RegistryEndpoint):
    http_method_names = ["get", "head"]
    fields = VERSION

    def handle(self, args: dict) -> dict:
        return {"model_version": version_json(self.get_version(args))}


class ModelVersionUpdate(RegistryEndpoint):
    http_method_names = ["patch"]
    fields = {**VERSION, "description": string()}

    def handle(self, args: dict) -> dict:
        version = services.version_update(
            version=self.get_version(args), description=args["description"] or ""
        )
        return {"model_version": version_json(version)}


class ModelVersionDelete(RegistryEndpoint):
    http_method_names = ["delete"]
    fields = VERSION

    def handle(self, args: dict) -> dict:
        services.version_delete(version=self.get_version(args))
        return {}


class ModelVersionSetTag(RegistryEndpoint):
    http_method_names = ["post"]
    fields = {**VERSION, "key": string(required=True), "value": string()}

    def handle(self, args: dict) -> dict:
        services.version_update(
            version=self.get_version(args), tags={args["key"]: args["value"] or ""}
        )
        return {}


class ModelVersionDeleteTag(RegistryEndpoint):
    http_method_names = ["delete"]
    fields = {**VERSION, "key": string(required=True)}

    def handle(self, args: dict) -> dict:
        services.version_update(version=self.get_version(args), drop_tag=args["key"])
        return {}


class ModelVersionTransition(RegistryEndpoint):
    http_method_names = ["post"]
    fields = {
        **VERSION,
        "stage": string(required=True),
        "archive_existing_versions": Field("bool"),
    }

    def handle(self, args: dict) -> dict:
        version = services.version_transition(
            version=self.get_version(args),
            stage=args["stage"],
            archive_existing=bool(args["archive_existing_versions"]),
        )
        return {"model_version": version_json(version)}


class ModelVersionDownloadUri(RegistryEndpoint):
    http_method_names = ["get", "head"]
    fields = VERSION

    def handle(self, args: dict) -> dict:
        return {"artifact_uri": self.get_version(args).storage_location}


class ModelVersionSearch(RegistryEndpoint):
    http_method_names = ["get", "head"]
    fields = {
        "filter": string(),
        "max_results": Field("int64"),
        "order_by": repeated(string()),
        "page_token": string(),
    }

    def handle(self, args: dict) -> dict:
        size = 10_000 if args["max_results"] is None else args["max_results"]
        if not 0 < size <= MAX_VERSION_RESULTS:
            raise invalid(f"max_results must be between 1 and {MAX_VERSION_RESULTS}.")
        page, token = _search_page(
            selectors.model_versions(self.org).select_related("created_by"),
            "ALL",
            lambda items: order_model_versions(
                filter_model_versions(items, args["filter"] or ""), args["order_by"]
            ),
            {**args, "max_results": size},
        )
        body = {"model_versions": [version_json(v) for v in page]}
        if token:
            body["next_page_token"] = token
        return body


ENDPOINTS = {
    "registered-models/create": RegisteredModelCreate,
    "registered-models/get": RegisteredModelGet,
    "registered-models/update": RegisteredModelUpdate,
    "registered-models/rename": RegisteredModelRename,
    "registered-models/delete": RegisteredModelDelete,
    "registered-models/search": RegisteredModelSearch,
    "registered-models/set-tag": RegisteredModelSetTag,
    "registered-models/delete-tag": RegisteredModelDeleteTag,
    "registered-models/get-latest-versions": LatestVersions,
    "registered-models/alias": RegisteredModelAlias,
    "model-versions/create": ModelVersionCreate,
    "model-versions/get": ModelVersionGet,
    "model-versions/update": ModelVersionUpdate,
    "model-versions/delete": ModelVersionDelete,
    "model-versions/search": ModelVersionSearch,
    "model-versions/set-tag": ModelVersionSetTag,
    "model-versions/delete-tag": ModelVersionDeleteTag,
    "model-versions/transition-stage": ModelVersionTransition,
    "model-versions/get-download-uri": ModelVersionDownloadUri,
}
