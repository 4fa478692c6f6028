"""The prototype of step 6: a project's model endpoint that colleagues try through a form,
the calls they made, their feedback, and share links for people outside the organization.
Which model servers may be called at all is the organization's allow-list."""

import hashlib
import secrets

from django.conf import settings
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone

from accounts.models import Organization, TimeStampedModel
from evaluation.prototypes import protocols
from mlprojects.models import Project


class AllowedHost(TimeStampedModel):
    """A model server host that prototypes of the organization may call (kept by an admin).
    Private, loopback and link-local addresses stay refused unless `allow_private`."""

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="prototype_hosts"
    )
    host = models.CharField(max_length=253, help_text="A host name or IP address, no port.")
    allow_private = models.BooleanField(
        "Allow private addresses",
        default=False,
        help_text="Let this host resolve to private, loopback or link-local addresses "
        "(a model server inside your network).",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )

    class Meta:
        ordering = ["host"]
        constraints = [
            models.UniqueConstraint(
                "organization",
                Lower("host"),
                name="prototype_host_unique_per_org",
                violation_error_message="This host is already on the allow-list.",
            )
        ]

    def __str__(self) -> str:
        return self.host


class Protocol(models.TextChoices):
    MLFLOW_SPLIT = protocols.MLFLOW_SPLIT, "MLflow scoring server (dataframe_split)"
    MLFLOW_INPUTS = protocols.MLFLOW_INPUTS, "MLflow scoring server (inputs)"
    KSERVE_V2 = protocols.KSERVE_V2, "KServe / Open Inference Protocol v2"
    JSON = protocols.PLAIN_JSON, "Plain JSON with a field mapping"


class OutputKind(models.TextChoices):
    CLASS = protocols.CLASS, "Class (with probability)"
    RANKING = protocols.RANKING, "Ranking (top items)"
    REGRESSION = protocols.REGRESSION, "Number (regression)"


class PrototypeEndpoint(TimeStampedModel):
    """Where a project's model answers, how to talk to it, and the form's input fields.
    Headers (API keys) are stored encrypted and never shown again after saving. When the
    endpoint serves a registered model version of the project, `model_version` names it."""

    project = models.OneToOneField(
        Project, on_delete=models.CASCADE, related_name="prototype_endpoint"
    )
    url = models.CharField("Endpoint URL", max_length=500, blank=True)
    model_version = models.ForeignKey(
        "evaluation.ModelVersion",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="Registered model version",
        help_text="The project's registered model version this endpoint serves: its MLflow "
        "signature gives the input fields.",
    )
    protocol = models.CharField(max_length=20, choices=Protocol.choices, default=Protocol.JSON)
    input_field = models.CharField(
        max_length=200,
        blank=True,
        help_text="Plain JSON: where the inputs go in the request (dotted path, e.g. "
        "“features”); empty sends the inputs as the body.",
    )
    output_field = models.CharField(
        max_length=200,
        blank=True,
        help_text="Where the answer is in the response (dotted path, e.g. “result.label”); "
        "for v2, the output tensor's name.",
    )
    output_kind = models.CharField(
        max_length=20, choices=OutputKind.choices, default=OutputKind.CLASS
    )
    units = models.CharField(max_length=40, blank=True, help_text="Units of a numeric answer.")
    top_k = models.PositiveSmallIntegerField(default=5)
    headers_encrypted = models.TextField(blank=True, editable=False)
    fields = models.JSONField(default=list, blank=True)
    baseline = models.ForeignKey(
        "mlprojects.Baseline",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="The rule baseline shown next to the model (default: the first rules "
        "baseline of the current cycle).",
    )
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )

    def __str__(self) -> str:
        return f"Prototype of {self.project}"

    @property
    def has_headers(self) -> bool:
        return bool(self.headers_encrypted)


class PrototypeExample(TimeStampedModel):
    """A saved input colleagues can start from."""

    endpoint = models.ForeignKey(
        PrototypeEndpoint, on_delete=models.CASCADE, related_name="examples"
    )
    name = models.CharField(max_length=100)
    inputs = models.JSONField()

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.name


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class ShareLink(TimeStampedModel):
    """A link for people outside the organization: they may try the prototype (read-only,
    rate limited) until it expires or is revoked. Only the token's hash is stored."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="share_links")
    label = models.CharField(max_length=100, blank=True)
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.label or f"Share link {self.pk}"

    @staticmethod
    def new_token() -> tuple[str, str]:
        token = secrets.token_urlsafe(24)
        return token, _token_hash(token)

    @staticmethod
    def hash_of(token: str) -> str:
        return _token_hash(token)

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None and self.expires_at > timezone.now()


class PrototypeCall(models.Model):
    """One answer of the model (and of the baseline) to one input, as it was shown."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="prototype_calls")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    share_link = models.ForeignKey(
        ShareLink, on_delete=models.SET_NULL, null=True, blank=True, related_name="calls"
    )
    inputs = models.JSONField()
    answer = models.JSONField(null=True, blank=True)
    baseline_answer = models.JSONField(null=True, blank=True)
    error = models.TextField(blank=True)
    latency_ms = models.FloatField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"Call {self.pk} of {self.project_id}"


class Verdict(models.TextChoices):
    UP = "up", "👍 Good answer"
    DOWN = "down", "👎 Bad answer"


class PrototypeFeedback(TimeStampedModel):
    """A colleague's thumbs up or down, with a comment, on one answer of the prototype."""

    call = models.ForeignKey(PrototypeCall, on_delete=models.CASCADE, related_name="feedback")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    verdict = models.CharField(max_length=4, choices=Verdict.choices)
    comment = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "prototype feedback"

    def __str__(self) -> str:
        return f"{self.get_verdict_display()} on call {self.call_id}"
