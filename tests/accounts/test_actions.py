"""run_action: the one way a button calls a service and tells the user how it went."""

from django.contrib.messages import get_messages
from django.contrib.messages.storage.fallback import FallbackStorage
from django.core.exceptions import ValidationError
from django.test import RequestFactory

from accounts.actions import run_action


def _request():
    request = RequestFactory().post("/")
    request.session = {}
    request._messages = FallbackStorage(request)
    return request


def _refuse():
    raise ValidationError({"name": "Give it a name."})


def test_success_flashes_the_message_and_goes_on():
    request = _request()
    response = run_action(request, lambda: 3, done=lambda n: f"{n} done.", back="/a/", then="/b/")
    assert response["Location"] == "/b/"
    assert [m.message for m in get_messages(request)] == ["3 done."]


def test_without_then_success_goes_back():
    response = run_action(_request(), lambda: None, done="Saved.", back="/a/")
    assert response["Location"] == "/a/"


def test_a_refusal_flashes_the_services_words_and_goes_back():
    request = _request()
    response = run_action(request, _refuse, done="Saved.", back="/a/", then="/b/")
    assert response["Location"] == "/a/"
    assert [(m.message, m.tags) for m in get_messages(request)] == [("Give it a name.", "error")]
