"""Where uploaded files live, chosen by the environment: the local filesystem (MEDIA_ROOT)
by default, or an S3-compatible bucket (AWS S3, MinIO, Ceph, R2, ...) that every web and
worker node reads and writes.

Either one URL::

    STORAGE_URL=s3://mlprojects-files/prod?endpoint_url=https://minio.internal:9000&region=eu-west-1

(bucket, optional key prefix, and options `endpoint_url`, `region`, `addressing_style`,
`signature_version`), or the usual variables, which also complete a STORAGE_URL:
AWS_STORAGE_BUCKET_NAME, AWS_LOCATION (key prefix), AWS_S3_ENDPOINT_URL,
AWS_S3_REGION_NAME, AWS_S3_ADDRESSING_STYLE. Credentials come from AWS_ACCESS_KEY_ID /
AWS_SECRET_ACCESS_KEY (or the instance's role), never from the URL, so they are not
logged with it. `STORAGE_URL=file://` (or unset) is the local filesystem.

Plain functions of the environment so that they are tested without reloading settings."""

from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qs, urlsplit

from django.core.exceptions import ImproperlyConfigured

S3_BACKEND = "storages.backends.s3.S3Storage"
FILE_BACKEND = "django.core.files.storage.FileSystemStorage"

# STORAGE_URL query option -> S3Storage option.
_URL_OPTIONS = {
    "endpoint_url": "endpoint_url",
    "region": "region_name",
    "region_name": "region_name",
    "addressing_style": "addressing_style",
    "signature_version": "signature_version",
}
# Environment variable -> S3Storage option (they override the URL's).
_ENV_OPTIONS = {
    "AWS_STORAGE_BUCKET_NAME": "bucket_name",
    "AWS_LOCATION": "location",
    "AWS_S3_ENDPOINT_URL": "endpoint_url",
    "AWS_S3_REGION_NAME": "region_name",
    "AWS_S3_ADDRESSING_STYLE": "addressing_style",
    "AWS_S3_SIGNATURE_VERSION": "signature_version",
}


def _from_url(url: str) -> dict[str, Any] | None:
    """S3 options from STORAGE_URL, or None for the local filesystem."""
    parts = urlsplit(url)
    if parts.scheme in ("", "file"):
        return None
    if parts.scheme != "s3":
        raise ImproperlyConfigured(
            f"STORAGE_URL scheme {parts.scheme!r} is not supported; use s3://bucket or file://."
        )
    if parts.username or parts.password:
        raise ImproperlyConfigured(
            "STORAGE_URL must not hold credentials; set AWS_ACCESS_KEY_ID and "
            "AWS_SECRET_ACCESS_KEY instead."
        )
    options: dict[str, Any] = {}
    if parts.hostname:
        options["bucket_name"] = parts.hostname
    if parts.path.strip("/"):
        options["location"] = parts.path.strip("/")
    for key, values in parse_qs(parts.query, keep_blank_values=True).items():
        if key not in _URL_OPTIONS:
            raise ImproperlyConfigured(
                f"STORAGE_URL option {key!r} is unknown; use {', '.join(sorted(_URL_OPTIONS))}."
            )
        options[_URL_OPTIONS[key]] = values[-1]
    return options


def default_storage_backend(environ: Mapping[str, str]) -> dict[str, Any]:
    """The `STORAGES["default"]` entry for this environment."""
    url = environ.get("STORAGE_URL", "").strip()
    options = _from_url(url)
    from_env = {
        option: environ[name].strip()
        for name, option in _ENV_OPTIONS.items()
        if environ.get(name, "").strip()
    }
    if options is None and not from_env.get("bucket_name"):
        if url and from_env:
            raise ImproperlyConfigured(
                f"STORAGE_URL={url!r} selects local files, but {', '.join(sorted(from_env))} "
                "are S3 options; set STORAGE_URL=s3://bucket or remove them."
            )
        return {"BACKEND": FILE_BACKEND}
    options = {**(options or {}), **from_env}
    if not options.get("bucket_name"):
        raise ImproperlyConfigured(
            "STORAGE_URL names no bucket; use s3://bucket or set AWS_STORAGE_BUCKET_NAME."
        )
    endpoint = options.get("endpoint_url", "")
    if endpoint and urlsplit(endpoint).scheme not in ("http", "https"):
        raise ImproperlyConfigured(
            f"The S3 endpoint URL {endpoint!r} must be an http:// or https:// URL."
        )
    if options.get("addressing_style", "auto") not in ("auto", "path", "virtual"):
        raise ImproperlyConfigured("The S3 addressing style must be auto, path or virtual.")
    options.update(
        # Uploads get server-made unique names; never replace an object silently.
        file_overwrite=False,
        # Objects are private: files are served through the app's organization-checked
        # views, never by a public or signed bucket URL.
        default_acl=None,
        querystring_auth=True,
        # A file read whole by S3File spills to a temporary file past 8 MB instead of
        # growing in memory (the app's own readers use ranged reads instead).
        max_memory_size=8 * 1024 * 1024,
    )
    return {"BACKEND": S3_BACKEND, "OPTIONS": options}
