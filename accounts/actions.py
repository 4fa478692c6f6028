"""One way for a button to call a service: rename, delete, retry and the like.

A view loads the object (its access helper answers 404/403), then hands the service call
to `run_action`: a refusal (the service's ValidationError) is flashed and the user goes
back to where the button was; success is flashed and the user goes on.
"""

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect


def run_action(
    request: HttpRequest,
    action: Callable[[], Any],
    *,
    done: str | Callable[[Any], str],
    back: str,
    then: str | None = None,
    level: int = messages.SUCCESS,
) -> HttpResponse:
    """Call `action()`. On a ValidationError flash its messages and redirect to `back`;
    otherwise flash `done` (at `level`; a function of the action's result when the message
    depends on it) and redirect to `then` (default: `back`)."""
    try:
        result = action()
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect(back)
    messages.add_message(request, level, done(result) if callable(done) else done)
    return redirect(then or back)
