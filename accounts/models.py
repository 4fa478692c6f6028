"""Users, organizations and who belongs to which. Every organization-owned object in the
other apps hangs off `Organization` and is reached through an org-scoped query."""

import hashlib
import secrets

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone

from accounts.notifications import notification_kind_choices
from accounts.permissions import Role, role_can


class TimeStampedModel(models.Model):
    """`created_at`/`updated_at` for every model of the project."""

    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


class UserManager(BaseUserManager):
    use_in_migrations = True

    def create_user(self, email: str, password: str | None = None, **extra) -> "User":
        if not email:
            raise ValueError("An email address is required.")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **extra) -> "User":
        extra.update(is_staff=True, is_superuser=True)
        return self.create_user(email, password, **extra)

    def get_by_natural_key(self, email: str) -> "User":
        return self.get(email__iexact=email)


class User(AbstractBaseUser, PermissionsMixin):
    """A person. Logs in with their email address."""

    email = models.EmailField(unique=True)
    full_name = models.CharField(max_length=150, blank=True)
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(default=False)
    date_joined = models.DateTimeField(default=timezone.now)
    # Notifications always appear in the app; this only says whether they are also mailed.
    email_notifications = models.BooleanField(
        "Email me my notifications",
        default=True,
        help_text="Mentions, review requests and decisions on your proposals.",
    )

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    class Meta:
        constraints = [
            models.UniqueConstraint(
                Lower("email"),
                name="user_email_ci_unique",
                violation_error_message="A user with this email exists.",
            )
        ]

    def __str__(self) -> str:
        return self.full_name or self.email

    @property
    def display_name(self) -> str:
        return self.full_name or self.email.split("@")[0]


class OrganizationQuerySet(models.QuerySet):
    def for_user(self, user) -> "OrganizationQuerySet":
        if not user.is_authenticated:
            return self.none()
        return self.filter(memberships__user=user)


class Organization(TimeStampedModel):
    """A team's workspace: every project, analysis, run and token belongs to exactly one."""

    name = models.CharField(max_length=100)
    slug = models.SlugField(max_length=60, unique=True)
    approvals_required = models.PositiveSmallIntegerField(
        default=1, help_text="How many approvals a proposal needs."
    )

    objects = OrganizationQuerySet.as_manager()

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Membership(TimeStampedModel):
    """A user's role in one organization."""

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="memberships"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.MEMBER)

    class Meta:
        ordering = ["organization__name", "user__email"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "user"],
                name="membership_unique_user_per_org",
                violation_error_message="This user is already a member.",
            ),
            models.CheckConstraint(
                condition=models.Q(role__in=Role.values), name="membership_role_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.organization} ({self.role})"

    def can(self, perm: str) -> bool:
        return role_can(self.role, perm)


def _hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


class InvitationQuerySet(models.QuerySet):
    def pending(self) -> "InvitationQuerySet":
        return self.filter(
            accepted_at__isnull=True, revoked_at__isnull=True, expires_at__gt=timezone.now()
        )


class Invitation(TimeStampedModel):
    """An invitation to join an organization with a role. Only the SHA-256 of the link's
    token is stored, so a database leak does not hand out memberships."""

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="invitations"
    )
    email = models.EmailField()
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.MEMBER)
    token_hash = models.CharField(max_length=64, unique=True)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = InvitationQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Invitation of {self.email} to {self.organization}"

    @staticmethod
    def new_token() -> tuple[str, str]:
        raw = secrets.token_urlsafe(32)
        return raw, _hash_token(raw)

    @classmethod
    def find_by_token(cls, raw: str) -> "Invitation | None":
        return (
            cls.objects.select_related("organization").filter(token_hash=_hash_token(raw)).first()
        )

    @property
    def is_expired(self) -> bool:
        return self.expires_at <= timezone.now()

    @property
    def is_pending(self) -> bool:
        return self.accepted_at is None and self.revoked_at is None and not self.is_expired


class AuditEvent(models.Model):
    """An append-only record of a state change in an organization (who, what, when).
    Written by the services in the same transaction as the change itself."""

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="audit_events"
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    action = models.CharField(max_length=60)
    target = models.CharField(max_length=200, blank=True)
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.action} {self.target}"

    def save(self, *args, **kwargs) -> None:
        if self.pk is not None:
            raise ValueError("Audit events are immutable.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValueError("Audit events are immutable.")

    @property
    def sentence(self) -> str:
        """The action as words: `interview.created` → created the interview “…”."""
        return audit_sentence(self.action, self.target)


class TokenScope(models.TextChoices):
    READ = "read", "Read"
    WRITE = "write", "Read and write"


class ApiTokenQuerySet(models.QuerySet):
    def active(self) -> "ApiTokenQuerySet":
        now = timezone.now()
        return self.filter(revoked_at__isnull=True).filter(
            models.Q(expires_at__isnull=True) | models.Q(expires_at__gt=now)
        )


class ApiToken(TimeStampedModel):
    """A bearer token with which scripts act as `user` in `organization`, never beyond the
    user's role there: the scope narrows the role, it never widens it. Only the SHA-256 of
    the token is stored; the token itself is shown once, when it is created."""

    PREFIX = "mlp_"
    # `last_used_at` is refreshed at most this often, so a busy script does not turn every
    # API request into a write.
    LAST_USED_RESOLUTION_SECONDS = 60

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="api_tokens"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(max_length=100)
    scope = models.CharField(max_length=10, choices=TokenScope.choices, default=TokenScope.READ)
    token_hash = models.CharField(max_length=64, unique=True)
    # The first characters of the token, so a user can tell their tokens apart.
    hint = models.CharField(max_length=16)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    objects = ApiTokenQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "user", "name"],
                condition=models.Q(revoked_at__isnull=True),
                name="api_token_name_unique_per_user_org",
                violation_error_message="You already have a token with this name.",
            ),
            models.CheckConstraint(
                condition=models.Q(scope__in=TokenScope.values), name="api_token_scope_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.hint}…)"

    @classmethod
    def new_token(cls) -> tuple[str, str]:
        raw = cls.PREFIX + secrets.token_urlsafe(32)
        return raw, _hash_token(raw)

    @classmethod
    def find_active(cls, raw: str) -> "ApiToken | None":
        return (
            cls.objects.active()
            .select_related("user", "organization")
            .filter(token_hash=_hash_token(raw))
            .first()
        )

    @property
    def is_expired(self) -> bool:
        return self.expires_at is not None and self.expires_at <= timezone.now()

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None and not self.is_expired

    def allows(self, method: str) -> bool:
        """Whether the scope permits an HTTP method (the role is checked separately)."""
        return self.scope == TokenScope.WRITE or method in ("GET", "HEAD", "OPTIONS")

    def touch(self) -> None:
        now = timezone.now()
        last = self.last_used_at
        if last is None or (now - last).total_seconds() >= self.LAST_USED_RESOLUTION_SECONDS:
            ApiToken.objects.filter(pk=self.pk).update(last_used_at=now)
            self.last_used_at = now


class IdempotencyRecord(models.Model):
    """The first response to an API POST that carried an `Idempotency-Key` header. A repeat
    with the same key and body gets this response back and writes nothing; the unique
    constraint makes a concurrent duplicate wait for, then replay, the first one."""

    # "token:<id>" or "user:<id>": keys of different callers never collide.
    caller = models.CharField(max_length=40)
    key = models.CharField(max_length=255)
    request_hash = models.CharField(max_length=64)
    response_status = models.PositiveSmallIntegerField()
    response_body = models.JSONField(null=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["caller", "key"],
                name="idempotency_key_unique_per_caller",
                violation_error_message="This idempotency key was already used.",
            )
        ]

    def __str__(self) -> str:
        return f"{self.caller} {self.key}"


class NotificationQuerySet(models.QuerySet):
    def unread(self) -> "NotificationQuerySet":
        return self.filter(read_at__isnull=True)


class Notification(models.Model):
    """Something a user should look at: a sentence and the page it is about. Other apps
    create them through `accounts.services.notify`, which also mails them after commit
    unless the recipient muted email; `accounts` knows nothing of what the URL shows."""

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications"
    )
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="notifications"
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    # One of the kinds the sending apps registered (`accounts.notifications`).
    kind = models.CharField(max_length=20, choices=notification_kind_choices)
    text = models.CharField(max_length=300)
    url = models.CharField(max_length=500)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    read_at = models.DateTimeField(null=True, blank=True)
    # Set by the email task, so a retried or duplicated task never mails twice.
    emailed_at = models.DateTimeField(null=True, blank=True)

    objects = NotificationQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["recipient", "read_at"], name="notification_unread_idx")]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(kind=""),
                name="notification_kind_set",
                violation_error_message="A notification has a kind.",
            ),
            models.CheckConstraint(
                condition=models.Q(url__startswith="/"),
                name="notification_url_is_local",
                violation_error_message="A notification links to a page of this site.",
            ),
        ]

    def __str__(self) -> str:
        return self.text

    @property
    def is_read(self) -> bool:
        return self.read_at is not None


# ---------------------------------------------------------------- background jobs


class JobState(models.TextChoices):
    """The states every background job shares (a model may add its own before `queued`,
    such as an evaluation's draft): queued → running → succeeded | failed, and running →
    queued again when the sweep reclaims a job whose worker stopped beating."""

    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"


class BackgroundJob(models.Model):
    """A row that is also its own outbox entry: the request commits it `queued`, then
    `accounts.jobs` sends its task after commit; if the broker was unreachable, or the
    message or its worker was lost, the periodic sweep sends it again. A concrete job
    model has `status` (with the `JobState` values), `error` and `finished_at`, and names
    the Celery task that runs one job by id in `job_task`.

    `attempts` counts worker starts; only the current attempt of a running job may write
    progress or the outcome (its updates filter on status and attempt), so a result is
    written once whatever the redeliveries. Each attempt is recorded in `JobAttempt`."""

    #: Dotted name of the Celery task that runs one job; it takes the job's id.
    job_task = ""

    attempts = models.PositiveSmallIntegerField(default=0)
    # When the job last became queued, and when its task was last handed to the broker
    # (null: not sent yet, e.g. the broker was down).
    queued_at = models.DateTimeField(null=True, blank=True)
    dispatched_at = models.DateTimeField(null=True, blank=True)
    # Written by the running attempt every JOB_HEARTBEAT_SECONDS; one older than
    # JOB_RECLAIM_AFTER_SECONDS means its worker is gone.
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    worker = models.CharField(max_length=200, blank=True)

    class Meta:
        abstract = True


class JobAttempt(models.Model):
    """One start of a background job by a worker, for the record: who asked for the job,
    when and where it ran, and how the attempt ended (a `lost` attempt's worker stopped
    beating and the job was reclaimed)."""

    class Outcome(models.TextChoices):
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"
        LOST = "lost", "Worker lost"

    # The job's model as "app_label.model" and its id (jobs live in several apps).
    job_type = models.CharField(max_length=60)
    job_id = models.PositiveBigIntegerField()
    number = models.PositiveSmallIntegerField()
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    worker = models.CharField(max_length=200, blank=True)
    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(max_length=20, choices=Outcome.choices, default=Outcome.RUNNING)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["job_type", "job_id", "number"]
        constraints = [
            models.UniqueConstraint(
                fields=["job_type", "job_id", "number"],
                name="jobattempt_unique",
                violation_error_message="This attempt of the job is already recorded.",
            )
        ]

    def __str__(self) -> str:
        return f"{self.job_type} {self.job_id} attempt {self.number}: {self.outcome}"


class OutgoingEmail(BackgroundJob, TimeStampedModel):
    """An email to send, written in the same transaction as what it is about (a
    notification), so it is sent once the broker and a worker are there even if they were
    not when the request committed."""

    job_task = "accounts.tasks.send_outgoing_email_task"

    notification = models.ForeignKey(
        Notification, on_delete=models.CASCADE, null=True, blank=True, related_name="emails"
    )
    to = models.EmailField()
    subject = models.CharField(max_length=200)
    body = models.TextField()
    status = models.CharField(max_length=20, choices=JobState.choices, default=JobState.QUEUED)
    error = models.TextField(blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["status", "queued_at"], name="outgoingemail_status_idx")]

    def __str__(self) -> str:
        return f"{self.to}: {self.subject}"


def audit_sentence(action: str, target: str) -> str:
    """An audit action as a sentence: `interview.created` → created the interview “…”."""
    noun, _, verb = action.partition(".")
    noun, verb = noun.replace("_", " "), verb.replace("_", " ")
    if not verb:
        return f"{noun} “{target}”" if target else noun
    return f"{verb} the {noun} “{target}”" if target else f"{verb} the {noun}"
