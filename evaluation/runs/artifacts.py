"""Run artifacts (files a training script logs with the mlflow client: plots, tables, model
files), kept through Django's storage API (`default_storage`: local files by default, any
django-storages backend in production) under names the server makes:

    mlflow-artifacts/<organization id>/<project id>/<run id>/artifacts/<relative path>
    mlflow-artifacts/<organization id>/<project id>/models/<model id>/artifacts/<relative path>

The client names artifacts by the path after `mlflow-artifacts/`, the location the server
itself gave it (`artifact_uri` of a run, `artifact_location` of an experiment). Every path
is checked segment by segment before it names a storage object (no `..`, no absolute or
empty segments, no backslashes, NULs or control characters), so no request reaches outside
the prefix that the caller's organization owns. Bodies are streamed both ways."""

import mimetypes
import posixpath
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass

from django.core.files import File
from django.core.files.storage import default_storage

ROOT = "mlflow-artifacts"
URI_SCHEME = "mlflow-artifacts:"
CHUNK_BYTES = 1 << 20  # read and written 1 MiB at a time: flat memory, few storage calls
MAX_PATH_LENGTH = 1024  # characters of a relative artifact path (S3 keys stop at 1024 bytes)


class ArtifactPathError(ValueError):
    """A path that does not name a place inside the artifact store."""


class ArtifactTooLarge(Exception):
    def __init__(self, max_bytes: int) -> None:
        super().__init__(f"The artifact is larger than the limit of {max_bytes} bytes.")
        self.max_bytes = max_bytes


def clean_path(raw: str) -> list[str]:
    """The segments of a relative artifact path, or ArtifactPathError. A trailing slash is
    allowed (a directory); everything that could leave the prefix is refused rather than
    normalized away, as a path that needs normalizing was not made by the client."""
    if raw is None:
        return []
    if len(raw) > MAX_PATH_LENGTH:
        raise ArtifactPathError(f"An artifact path has at most {MAX_PATH_LENGTH} characters.")
    if "\\" in raw:
        raise ArtifactPathError("An artifact path may not contain backslashes.")
    if any(unicodedata.category(ch) == "Cc" for ch in raw):
        raise ArtifactPathError("An artifact path may not contain control characters.")
    if raw.startswith("/") or (len(raw) > 1 and raw[1] == ":"):
        raise ArtifactPathError("An artifact path must be relative.")
    path = raw[:-1] if raw.endswith("/") else raw
    if not path:
        return []
    segments = path.split("/")
    for segment in segments:
        if segment in ("", ".", ".."):
            raise ArtifactPathError("An artifact path may not contain empty, '.' or '..' segments.")
    return segments


def storage_name(segments: list[str]) -> str:
    return posixpath.join(ROOT, *segments)


def run_prefix(*, org_id: int, project_id: int, run_id: int) -> list[str]:
    return [str(org_id), str(project_id), str(run_id), "artifacts"]


def experiment_prefix(*, org_id: int, project_id: int) -> list[str]:
    return [str(org_id), str(project_id)]


def uri(segments: list[str]) -> str:
    return f"{URI_SCHEME}/{'/'.join(segments)}"


@dataclass(frozen=True)
class ArtifactEntry:
    name: str  # relative to the listed directory
    is_dir: bool
    size: int | None


class LimitedStream(File):
    """A request body as a file for `Storage.save`: read in chunks, never whole, and
    `ArtifactTooLarge` as soon as more than `max_bytes` have arrived."""

    def __init__(self, stream, max_bytes: int) -> None:
        super().__init__(stream)
        self.max_bytes = max_bytes
        self.received = 0

    def read(self, size: int = -1) -> bytes:
        if size is None or size < 0:
            size = CHUNK_BYTES  # never the whole body at once
        data = self.file.read(size)
        self.received += len(data)
        if self.received > self.max_bytes:
            raise ArtifactTooLarge(self.max_bytes)
        return data

    def chunks(self, chunk_size: int | None = None) -> Iterator[bytes]:
        while data := self.read(chunk_size or CHUNK_BYTES):
            yield data

    def multiple_chunks(self, chunk_size: int | None = None) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    @property
    def size(self) -> int:  # unknown until read; storages that ask get what came so far
        return self.received


def artifact_save(*, segments: list[str], stream, max_bytes: int) -> int:
    """Store the body read from `stream` at `segments` (replacing what was there, as
    MLflow does); the number of bytes stored. Nothing is kept of a body over the limit."""
    name = storage_name(segments)
    if default_storage.exists(name):
        default_storage.delete(name)
    body = LimitedStream(stream, max_bytes)
    try:
        saved = default_storage.save(name, body)
    except BaseException:
        if default_storage.exists(name):
            default_storage.delete(name)
        raise
    if saved != name:  # another upload of the same path finished first: it stays
        default_storage.delete(saved)
    return body.received


def artifact_list(*, segments: list[str]) -> list[ArtifactEntry]:
    """The files and directories directly in the directory `segments` (none for a file or
    a directory that does not exist), directories first, each group by name."""
    name = storage_name(segments)
    try:
        directories, files = default_storage.listdir(name)
    except (FileNotFoundError, NotADirectoryError):
        return []
    entries = [ArtifactEntry(d, True, None) for d in sorted(directories)]
    entries += [
        ArtifactEntry(f, False, default_storage.size(posixpath.join(name, f)))
        for f in sorted(files)
    ]
    return entries


def artifact_is_file(*, segments: list[str]) -> bool:
    if not segments:
        return False
    name = storage_name(segments)
    if not default_storage.exists(name):
        return False
    try:
        default_storage.listdir(name)
    except (FileNotFoundError, NotADirectoryError):
        return True
    # S3-like storages list a file's name as an empty directory; only a file has a size.
    try:
        default_storage.size(name)
    except (FileNotFoundError, IsADirectoryError, OSError):
        return False
    return not artifact_list(segments=segments)


def artifact_open(*, segments: list[str]) -> File:
    return default_storage.open(storage_name(segments), "rb")


def artifact_size(*, segments: list[str]) -> int:
    return default_storage.size(storage_name(segments))


def artifact_delete(*, segments: list[str]) -> None:
    """Delete the file or the whole directory at `segments`."""
    name = storage_name(segments)
    for entry in artifact_list(segments=segments):
        artifact_delete(segments=[*segments, entry.name])
    if default_storage.exists(name):
        try:
            default_storage.delete(name)
        except OSError:  # a local directory that still holds something (a racing upload)
            pass


def artifact_walk(*, segments: list[str], limit: int) -> list[tuple[str, ArtifactEntry]]:
    """Every file and directory under `segments` as (relative path, entry), depth first,
    at most `limit` of them (for the run page's tree)."""
    found: list[tuple[str, ArtifactEntry]] = []

    def walk(parts: list[str], relative: str) -> None:
        for entry in artifact_list(segments=parts):
            if len(found) >= limit:
                return
            path = posixpath.join(relative, entry.name) if relative else entry.name
            found.append((path, entry))
            if entry.is_dir:
                walk([*parts, entry.name], path)

    walk(segments, "")
    return found


# Downloads are always attachments, and of these types or else application/octet-stream,
# so a file a browser would render (HTML, SVG) never runs as a page of this site.
SAFE_TYPES = ("image/png", "image/jpeg", "image/gif", "text/plain", "text/csv", "application/json")
IMAGE_TYPES = ("image/png", "image/jpeg", "image/gif")


def download_type(name: str) -> str:
    guessed = mimetypes.guess_type(posixpath.basename(name))[0]
    return guessed if guessed in SAFE_TYPES else "application/octet-stream"
