"""MLflow's artifact proxy (`/mlflow/api/2.0/mlflow-artifacts/artifacts/…`): the client
uploads (PUT), downloads (GET), lists (GET `…/artifacts?path=`) and deletes (DELETE) the
files of runs and logged models through us, at the `mlflow-artifacts:/…` locations that
runs and experiments report. Storage, path checks and streaming are in
`evaluation.runs.artifacts`; this module maps a path to the caller's organization first:

    <organization id>/<project id>[/<run id>/artifacts/…]
    <organization id>/<project id>[/models/<model id>/artifacts/…]

Another organization's path, or a project, run or model that is not in the path's project,
is RESOURCE_DOES_NOT_EXIST, whatever the rest of the path. Files are written only inside a
run's or a logged model's `artifacts` directory. Multipart uploads are not offered: the
client asks `/server-info` first and streams one PUT per file when there is none."""

from django.conf import settings
from django.http import FileResponse
from rest_framework.request import Request
from rest_framework.response import Response

from evaluation.runs import artifacts
from evaluation.runs.artifacts import ArtifactPathError, ArtifactTooLarge
from evaluation.runs.mlflow.protocol import MlflowError, invalid, not_found, string
from evaluation.runs.mlflow.views import MlflowEndpoint
from evaluation.runs.models import LoggedModel, Run
from mlprojects.models import Project
from mlprojects.site.limits import body_limit

MODELS = "models"
ARTIFACTS = "artifacts"


def _is_id(segment: str) -> bool:
    return segment.isascii() and segment.isdigit() and int(segment) < 2**63


class ArtifactEndpoint(MlflowEndpoint):
    """Path checks and tenancy shared by the listing and the file endpoint."""

    def segments(self, raw: str | None) -> list[str]:
        """The checked segments of `raw`, which must lie in the caller's organization and
        name existing objects there (else RESOURCE_DOES_NOT_EXIST)."""
        try:
            segments = artifacts.clean_path(raw or "")
        except ArtifactPathError as exc:
            raise invalid(f"Invalid artifact path {raw!r}: {exc}") from None
        missing = not_found(f"No artifact at {raw!r}.")
        if not segments or segments[0] != str(self.org.pk):
            raise missing
        if len(segments) >= 2:
            project_id = segments[1]
            if not _is_id(project_id):
                raise missing
            if not Project.objects.filter(organization=self.org, pk=int(project_id)).exists():
                raise missing
        if len(segments) >= 3:
            owner = segments[2]
            if owner == MODELS:
                if len(segments) >= 4 and not self.model_exists(int(project_id), segments[3]):
                    raise missing
            elif (
                not _is_id(owner)
                or not Run.objects.filter(project_id=int(project_id), pk=int(owner)).exists()
            ):
                raise missing
        return segments

    def model_exists(self, project_id: int, model_id: str) -> bool:
        """Whether `model_id` is a logged model of the project."""
        return LoggedModel.objects.filter(project_id=project_id, pk=model_id).exists()

    @staticmethod
    def writable(segments: list[str]) -> bool:
        """Whether files may be written at `segments`: strictly inside a run's or a logged
        model's artifact directory."""
        if len(segments) >= 3 and segments[2] == MODELS:
            return len(segments) >= 6 and segments[4] == ARTIFACTS
        return len(segments) >= 5 and segments[3] == ARTIFACTS


class ArtifactList(ArtifactEndpoint):
    """GET `…/mlflow-artifacts/artifacts?path=<dir>`: the files and directories directly in
    `<dir>`, each with its path relative to `<dir>`."""

    fields = {"path": string()}

    def handle(self, args: dict) -> dict:
        segments = self.segments(args["path"])
        files = []
        for entry in artifacts.artifact_list(segments=segments):
            item = {"path": entry.name, "is_dir": entry.is_dir}
            if not entry.is_dir:
                item["file_size"] = entry.size
            files.append(item)
        return {"files": files}


@body_limit("MLFLOW_ARTIFACT_MAX_BYTES")
class ArtifactFile(ArtifactEndpoint):
    """`…/mlflow-artifacts/artifacts/<path>`: GET downloads the file, PUT uploads the body
    as the file (replacing it), DELETE removes the file or directory. Both directions are
    streamed; an upload over MLFLOW_ARTIFACT_MAX_BYTES is refused with 413 (before it
    starts when its Content-Length says so, else as soon as it gets there) and leaves
    nothing behind."""

    http_method_names = ["get", "head", "put", "delete"]
    fields = {}

    @property
    def writes(self) -> bool:
        return self.request.method in ("PUT", "DELETE")

    def get(self, request: Request, path: str) -> FileResponse:
        segments = self.segments(path)
        if not artifacts.artifact_is_file(segments=segments):
            raise not_found(f"No artifact at {path!r}.")
        response = FileResponse(
            artifacts.artifact_open(segments=segments),
            as_attachment=True,
            filename=segments[-1],
            content_type=artifacts.download_type(segments[-1]),
        )
        response.block_size = artifacts.CHUNK_BYTES
        return response

    def put(self, request: Request, path: str) -> Response:
        segments = self.segments(path)
        if not self.writable(segments):
            raise invalid(
                f"Cannot write {path!r}: artifacts are written inside a run's or a logged "
                "model's artifact directory."
            )
        try:
            artifacts.artifact_save(
                segments=segments,
                stream=request._request,
                max_bytes=settings.MLFLOW_ARTIFACT_MAX_BYTES,
            )
        except ArtifactTooLarge as exc:
            raise MlflowError(
                "INVALID_PARAMETER_VALUE",
                f"{exc} (setting MLFLOW_ARTIFACT_MAX_BYTES).",
                413,
            ) from None
        return Response({})

    def delete(self, request: Request, path: str) -> Response:
        segments = self.segments(path)
        if not self.writable(segments):
            raise invalid(f"Cannot delete {path!r}: it is not inside an artifact directory.")
        artifacts.artifact_delete(segments=segments)
        return Response({})
