"""Writes of the prototype domain, and the calls to the model: every call goes through
`predict_rows`, which applies the organization's allow-list and the outbound guards."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import Organization, User
from accounts.services import audit
from evaluation.metrics.errors import EvaluationInputError
from evaluation.prototypes import builtin, outbound, protocols, schema
from evaluation.prototypes.baseline import rule_answers, rule_recommendations
from evaluation.prototypes.headers import HeadersUnreadable, decrypt_headers, encrypt_headers
from evaluation.prototypes.models import (
    AllowedHost,
    PrototypeCall,
    PrototypeEndpoint,
    PrototypeExample,
    PrototypeFeedback,
    ShareLink,
)
from evaluation.prototypes.selectors import endpoint_baseline, host_rules
from evaluation.registry import selectors as registry
from mlprojects.models import Project

BUILTIN_SCHEME = "builtin://"
#: Rows of a batch CSV; each is one model answer (one request per row for plain JSON).
MAX_BATCH_ROWS = 50
MAX_EXAMPLES = 20


# -- the allow-list ---------------------------------------------------------------------------


def allowed_host_add(
    *, org: Organization, user: User, host: str, allow_private: bool
) -> AllowedHost:
    host = host.strip().lower().rstrip(".")
    try:
        with transaction.atomic():
            entry = AllowedHost.objects.create(
                organization=org, host=host, allow_private=allow_private, created_by=user
            )
    except IntegrityError:
        raise ValidationError({"host": "This host is already on the allow-list."}) from None
    audit(
        org=org,
        actor=user,
        action="prototype.host_allowed",
        target=host,
        data={
            "allow_private": allow_private,
            "summary": f"allowed prototypes to call {host}"
            + (" (private addresses too)" if allow_private else ""),
        },
    )
    return entry


def allowed_host_remove(*, entry: AllowedHost, user: User) -> None:
    audit(
        org=entry.organization,
        actor=user,
        action="prototype.host_removed",
        target=entry.host,
        data={"summary": f"removed {entry.host} from the prototype hosts"},
    )
    entry.delete()


# -- the endpoint -----------------------------------------------------------------------------


def endpoint_for(*, project: Project) -> PrototypeEndpoint:
    endpoint, _ = PrototypeEndpoint.objects.get_or_create(project=project)
    return endpoint


@transaction.atomic
def endpoint_save(
    *,
    project: Project,
    user: User,
    values: dict[str, Any],
    headers: dict[str, str] | None = None,
    clear_headers: bool = False,
) -> PrototypeEndpoint:
    """Save the endpoint's settings. `headers` replace the stored ones when given (None
    keeps them, so a form need never show them again); `clear_headers` removes them."""
    endpoint = endpoint_for(project=project)
    for name, value in values.items():
        setattr(endpoint, name, value)
    if clear_headers:
        endpoint.headers_encrypted = ""
    elif headers:
        endpoint.headers_encrypted = encrypt_headers(headers)
    endpoint.updated_by = user
    endpoint.save()
    audit(
        org=project.organization,
        actor=user,
        action="prototype.endpoint_saved",
        target=project.name,
        data={
            "project": project.pk,
            "endpoint_url": endpoint.url,
            "protocol": endpoint.protocol,
            "summary": f"set up the prototype of “{project.name}”",
        },
    )
    return endpoint


@transaction.atomic
def endpoint_set_fields(
    *,
    endpoint: PrototypeEndpoint,
    fields: list[dict[str, Any]],
    examples: list[dict[str, Any]] | None = None,
) -> PrototypeEndpoint:
    """Replace the input fields (validated by the schema builder); with `examples`, the
    example inputs are replaced too (the first rows of an example file)."""
    try:
        endpoint.fields = schema.build_fields(fields)
    except schema.SchemaError as exc:
        raise ValidationError({"fields": str(exc)}) from None
    endpoint.save(update_fields=["fields", "updated_at"])
    if examples is not None:
        endpoint.examples.all().delete()
        for i, inputs in enumerate(examples[:MAX_EXAMPLES], start=1):
            PrototypeExample.objects.create(endpoint=endpoint, name=f"Example {i}", inputs=inputs)
    return endpoint


def endpoint_fields_from_version(*, endpoint: PrototypeEndpoint) -> bool:
    """Set the input fields from the MLflow signature of the registered model version the
    endpoint serves. False (fields unchanged) when it has no usable signature: no MLmodel
    file, no signature, unnamed tensor inputs, or column types a form can't hold."""
    version = endpoint.model_version
    inputs = registry.version_signature_inputs(version) if version else None
    if not inputs:
        return False
    try:
        fields = schema.fields_from_signature(inputs)
    except schema.SchemaError:
        return False
    endpoint_set_fields(endpoint=endpoint, fields=fields)
    return True


def example_save(
    *, endpoint: PrototypeEndpoint, name: str, values: dict[str, Any]
) -> PrototypeExample:
    if endpoint.examples.count() >= MAX_EXAMPLES:
        raise ValidationError(f"At most {MAX_EXAMPLES} saved examples; delete one first.")
    try:
        inputs = schema.coerce_row(endpoint.fields, values)
    except schema.SchemaError as exc:
        raise ValidationError(str(exc)) from None
    return PrototypeExample.objects.create(endpoint=endpoint, name=name.strip(), inputs=inputs)


def example_delete(*, endpoint: PrototypeEndpoint, example_id: int) -> str:
    """Delete a saved example of the endpoint; returns its name."""
    example = endpoint.examples.filter(pk=example_id).first()
    if example is None:
        raise ValidationError("That example is already gone.")
    example.delete()
    return example.name


# -- calling the model ------------------------------------------------------------------------


class PrototypeUnavailable(Exception):
    """The model could not answer; the message is for the person who asked."""


def _post(endpoint: PrototypeEndpoint, body: Any, headers: dict[str, str]) -> tuple[Any, float]:
    if endpoint.url.startswith(BUILTIN_SCHEME):
        if not settings.PROTOTYPE_BUILTIN_MODELS:
            raise PrototypeUnavailable(
                "Built-in demo models are turned off on this server "
                "(PROTOTYPE_BUILTIN_MODELS); point the prototype at a real model server."
            )
        model = builtin.MODELS.get(endpoint.url.removeprefix(BUILTIN_SCHEME))
        if model is None:
            raise PrototypeUnavailable(f"There is no built-in model {endpoint.url!r}.")
        started = timezone.now()
        try:
            answer = model(body)
        except builtin.BuiltinError as exc:
            raise PrototypeUnavailable(str(exc)) from None
        return answer, (timezone.now() - started).total_seconds() * 1000
    try:
        response = outbound.post_json(
            endpoint.url,
            body,
            headers=headers,
            rules=host_rules(org=endpoint.project.organization),
            timeout=settings.PROTOTYPE_TIMEOUT_SECONDS,
            max_bytes=settings.PROTOTYPE_MAX_RESPONSE_BYTES,
        )
        return response.json(), response.elapsed_ms
    except outbound.OutboundError as exc:
        raise PrototypeUnavailable(str(exc)) from None


def predict_rows(
    endpoint: PrototypeEndpoint, rows: list[dict[str, Any]]
) -> tuple[list[Any], float]:
    """The model's raw answer for each row and the total latency in milliseconds."""
    if not endpoint.url:
        raise PrototypeUnavailable("The prototype has no endpoint yet: the team sets it up first.")
    try:
        headers = decrypt_headers(endpoint.headers_encrypted)
    except HeadersUnreadable as exc:
        raise PrototypeUnavailable(str(exc)) from None
    try:
        if endpoint.protocol in protocols.BATCH_PROTOCOLS:
            body = protocols.build_request(endpoint.protocol, rows)
            data, latency = _post(endpoint, body, headers)
            answers = protocols.parse_response(
                endpoint.protocol, data, n_rows=len(rows), output_field=endpoint.output_field
            )
            return answers, latency
        answers, latency = [], 0.0
        for row in rows:
            body = protocols.build_request(
                endpoint.protocol, [row], input_field=endpoint.input_field
            )
            data, elapsed = _post(endpoint, body, headers)
            answers += protocols.parse_response(
                endpoint.protocol, data, n_rows=1, output_field=endpoint.output_field
            )
            latency += elapsed
        return answers, latency
    except protocols.ProtocolError as exc:
        raise PrototypeUnavailable(f"The model's answer could not be read: {exc}") from None


def _readable(endpoint: PrototypeEndpoint, raw: Any) -> dict[str, Any]:
    try:
        answer = protocols.readable_answer(raw, kind=endpoint.output_kind, top_k=endpoint.top_k)
    except protocols.ProtocolError as exc:
        return {"error": f"The model's answer could not be read: {exc}", "raw": raw}
    answer["raw"] = raw
    if endpoint.units and answer["kind"] == protocols.REGRESSION:
        answer["text"] = f"{answer['text']} {endpoint.units}"
    return answer


def baseline_rows(endpoint: PrototypeEndpoint, rows: list[dict[str, Any]]) -> list[dict] | None:
    """The rule baseline's answer for each row: `{"name", "text", "value"}`, or an error."""
    baseline = endpoint_baseline(endpoint=endpoint)
    if baseline is None:
        return None
    try:
        if endpoint.output_kind == protocols.RANKING:
            recommended = rule_recommendations(baseline.rules, rows)
            return [
                {
                    "name": baseline.name,
                    "text": ", ".join(str(i) for i in items)
                    or "No rule recommends anything for this input.",
                    "value": items,
                }
                for items in recommended
            ]
        answers = rule_answers(baseline.rules, rows)
    except EvaluationInputError as exc:
        return [{"name": baseline.name, "error": str(exc)} for _ in rows]
    return [{"name": baseline.name, "text": str(a), "value": a} for a in answers]


def prototype_try(
    *,
    endpoint: PrototypeEndpoint,
    values: dict[str, Any],
    user: User | None = None,
    share_link: ShareLink | None = None,
) -> PrototypeCall:
    """Ask the model and the rule baseline for one input; the call is kept (with the error
    when the model could not answer) so that feedback refers to exactly what was shown."""
    try:
        row = schema.coerce_row(endpoint.fields, values)
    except schema.SchemaError as exc:
        raise ValidationError(str(exc)) from None
    baseline = baseline_rows(endpoint, [row])
    call = PrototypeCall(
        project=endpoint.project,
        user=user,
        share_link=share_link,
        inputs=row,
        baseline_answer=baseline[0] if baseline else None,
    )
    try:
        answers, latency = predict_rows(endpoint, [row])
    except PrototypeUnavailable as exc:
        call.error = str(exc)
    else:
        call.answer = _readable(endpoint, answers[0])
        call.latency_ms = round(latency, 1)
    call.save()
    return call


def prototype_batch(*, endpoint: PrototypeEndpoint, content: bytes) -> dict[str, Any]:
    """A small CSV through the model and the baseline: a row per input with both answers
    and whether they agree. Nothing is stored."""
    import io

    import pandas as pd

    try:
        frame = pd.read_csv(io.BytesIO(content), nrows=MAX_BATCH_ROWS + 1)
    except (ValueError, UnicodeDecodeError, pd.errors.ParserError) as exc:
        raise ValidationError(f"The file is not a readable CSV: {exc}") from None
    if frame.empty:
        raise ValidationError("The file has no rows.")
    if len(frame) > MAX_BATCH_ROWS:
        raise ValidationError(f"At most {MAX_BATCH_ROWS} rows in a batch; this file has more.")
    missing = [f["name"] for f in endpoint.fields if f["name"] not in frame.columns]
    if missing:
        raise ValidationError(f"The file lacks the column(s) {', '.join(missing)}.")
    rows = []
    for i, record in enumerate(frame.to_dict("records"), start=2):
        try:
            rows.append(schema.coerce_row(endpoint.fields, record))
        except schema.SchemaError as exc:
            raise ValidationError(f"Line {i}: {exc}") from None
    baseline = baseline_rows(endpoint, rows) or [None] * len(rows)
    answers, latency = predict_rows(endpoint, rows)
    table = []
    for row, raw, base in zip(rows, answers, baseline, strict=True):
        model = _readable(endpoint, raw)
        table.append(
            {"inputs": row, "model": model, "baseline": base,
             "agree": protocols.same_answer(model, base)}
        )  # fmt: skip
    return {
        "columns": [f["name"] for f in endpoint.fields],
        "rows": table,
        "latency_ms": round(latency, 1),
        "disagreements": sum(1 for r in table if r["agree"] is False),
    }


# -- feedback and sharing ---------------------------------------------------------------------


def feedback_give(
    *, call: PrototypeCall, user: User, verdict: str, comment: str = ""
) -> PrototypeFeedback:
    if call.share_link_id is not None or call.user_id != user.pk:
        # Feedback is on one's own answer: what the person saw is what they judge.
        raise ValidationError("Give feedback on an answer you asked for.")
    return PrototypeFeedback.objects.create(
        call=call, user=user, verdict=verdict, comment=comment.strip()
    )


def share_link_create(
    *, project: Project, user: User, days: int, label: str = ""
) -> tuple[ShareLink, str]:
    """A new share link and its token (shown once; only its hash is stored)."""
    if not 1 <= days <= settings.PROTOTYPE_SHARE_MAX_DAYS:
        raise ValidationError(
            {"days": f"A share link lasts 1 to {settings.PROTOTYPE_SHARE_MAX_DAYS} days."}
        )
    token, token_hash = ShareLink.new_token()
    link = ShareLink.objects.create(
        project=project,
        label=label.strip(),
        token_hash=token_hash,
        expires_at=timezone.now() + timedelta(days=days),
        created_by=user,
    )
    audit(
        org=project.organization,
        actor=user,
        action="prototype.share_link_created",
        target=project.name,
        data={
            "project": project.pk,
            "link": link.pk,
            "expires_at": link.expires_at.isoformat(),
            "summary": f"shared the prototype of “{project.name}” with a link until "
            f"{link.expires_at:%Y-%m-%d}",
        },
    )
    return link, token


def share_link_revoke(*, link: ShareLink, user: User) -> ShareLink:
    if link.revoked_at is None:
        link.revoked_at = timezone.now()
        link.save(update_fields=["revoked_at", "updated_at"])
        audit(
            org=link.project.organization,
            actor=user,
            action="prototype.share_link_revoked",
            target=link.project.name,
            data={
                "project": link.project_id,
                "link": link.pk,
                "summary": f"revoked a share link of the prototype of “{link.project.name}”",
            },
        )
    return link
