"""Abuse limits on the account pages: login lockout after repeated wrong passwords (per
account and per client address), and per-address and per-email limits on sign-up and
password-reset posts."""

from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.core import mail
from django.test import Client
from django.utils import timezone

from tests.factories import UserFactory

PASSWORD = "correct-horse-battery"
LOGIN = "/accounts/login/"
RESET = "/accounts/password/reset/"


@pytest.fixture
def person(db):
    return UserFactory(email="person@acme.test", password=PASSWORD)


def log_in(client: Client, email: str, password: str, address: str = "203.0.113.7"):
    return client.post(LOGIN, {"username": email, "password": password}, REMOTE_ADDR=address)


def fail(client: Client, email: str, times: int, address: str = "203.0.113.7") -> None:
    for _ in range(times):
        assert log_in(client, email, "wrong-password", address).status_code in (200, 429)


def test_a_wrong_password_shows_the_usual_error(client, person):
    response = log_in(client, person.email, "wrong-password")
    assert response.status_code == 200
    assert "Please enter a correct email and password" in response.text


def test_the_right_password_is_refused_during_the_lockout(client, person, settings):
    fail(client, person.email, settings.AXES_FAILURE_LIMIT - 1)
    response = log_in(client, person.email, "wrong-password")
    assert response.status_code == 429
    response = log_in(client, person.email, PASSWORD)
    assert response.status_code == 429
    assert "_auth_user_id" not in client.session


def test_the_lockout_answers_the_login_page_with_a_clear_message(client, person, settings):
    fail(client, person.email, settings.AXES_FAILURE_LIMIT)
    response = log_in(client, person.email, PASSWORD)
    assert response.status_code == 429
    assert response["Content-Type"].startswith("text/html")
    assert "Too many failed login attempts" in response.text
    assert f"{settings.LOGIN_COOLOFF_MINUTES} minutes" in response.text
    assert 'value="person@acme.test"' in response.text


def test_the_right_password_works_again_after_the_cool_off(client, person, settings):
    fail(client, person.email, settings.AXES_FAILURE_LIMIT)
    assert log_in(client, person.email, PASSWORD).status_code == 429
    # Let the cool-off pass: the failures are now older than it.
    AccessAttempt.objects.update(
        attempt_time=timezone.now() - settings.AXES_COOLOFF_TIME - timedelta(seconds=1)
    )
    response = log_in(client, person.email, PASSWORD)
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(person.pk)


def test_the_account_is_locked_from_every_address(client, person, settings):
    for n in range(settings.AXES_FAILURE_LIMIT):
        fail(client, person.email, 1, address=f"198.51.100.{n + 1}")
    assert log_in(client, person.email, PASSWORD, address="192.0.2.99").status_code == 429


def test_the_case_of_the_email_does_not_reset_the_count(client, person, settings):
    for n in range(settings.AXES_FAILURE_LIMIT):
        email = person.email.upper() if n % 2 else person.email
        fail(client, email, 1, address=f"198.51.100.{n + 1}")
    assert log_in(client, person.email, PASSWORD, address="192.0.2.99").status_code == 429


def test_an_address_guessing_many_accounts_is_locked_out(client, person, settings):
    for n in range(settings.AXES_FAILURE_LIMIT):
        fail(client, f"someone{n}@acme.test", 1)
    assert log_in(client, person.email, PASSWORD).status_code == 429
    # The account itself is not locked for its owner elsewhere.
    assert log_in(Client(), person.email, PASSWORD, address="192.0.2.99").status_code == 302


def test_resetting_the_password_lifts_the_account_lockout(client, person, settings):
    for n in range(settings.AXES_FAILURE_LIMIT):
        fail(client, person.email, 1, address=f"198.51.100.{n + 1}")
    client.post(RESET, {"email": person.email})
    link = next(w for w in mail.outbox[0].body.split() if "/accounts/password/reset/" in w)
    form_url = client.get(link).url
    new_password = "a-brand-new-passphrase"
    response = client.post(form_url, {"new_password1": new_password, "new_password2": new_password})
    assert response.status_code == 302
    assert log_in(Client(), person.email, new_password, address="192.0.2.99").status_code == 302


def test_ten_reset_requests_send_at_most_the_limit_of_mails(client, person, settings):
    settings.PASSWORD_RESET_RATE_PER_EMAIL = "3/hour"
    answers = [client.post(RESET, {"email": person.email}) for _ in range(10)]
    assert len(mail.outbox) == 3
    assert {a.status_code for a in answers} == {302}
    assert {a["Location"] for a in answers} == {"/accounts/password/reset/done/"}


def test_a_limited_reset_looks_the_same_as_one_for_an_unknown_address(client, person, settings):
    settings.PASSWORD_RESET_RATE_PER_EMAIL = "1/hour"
    client.post(RESET, {"email": person.email})
    limited = client.post(RESET, {"email": person.email})
    unknown = client.post(RESET, {"email": "nobody@acme.test"})
    assert len(mail.outbox) == 1
    assert (limited.status_code, limited["Location"]) == (unknown.status_code, unknown["Location"])


def test_reset_requests_are_limited_per_address_across_emails(client, db, settings):
    settings.PASSWORD_RESET_RATE_PER_IP = "4/hour"
    users = [UserFactory(email=f"user{n}@acme.test") for n in range(6)]
    for user in users:
        client.post(RESET, {"email": user.email})
    assert len(mail.outbox) == 4
    # Another address is not affected.
    Client(REMOTE_ADDR="192.0.2.50").post(RESET, {"email": users[5].email})
    assert len(mail.outbox) == 5


def signup(client: Client, n: int, email: str | None = None):
    return client.post(
        "/accounts/signup/",
        {
            "full_name": "Ada",
            "email": email or f"new{n}@acme.test",
            "password": "a-long-enough-passphrase",
            "organization_name": f"Org {n}",
        },
    )


def test_sign_ups_from_one_address_are_limited(client, db, settings):
    settings.SIGNUP_RATE_PER_IP = "2/hour"
    assert signup(Client(), 1).status_code == 302
    assert signup(Client(), 2).status_code == 302
    response = signup(Client(), 3)
    assert response.status_code == 429
    assert "Too many sign-up attempts" in response.text
    assert 'value="new3@acme.test"' in response.text


def test_sign_up_attempts_for_one_email_are_limited(db, settings):
    settings.SIGNUP_RATE_PER_EMAIL = "2/hour"
    for n in range(2):
        signup(Client(REMOTE_ADDR=f"198.51.100.{n + 1}"), n, email="same@acme.test")
    response = signup(Client(REMOTE_ADDR="198.51.100.9"), 9, email="SAME@acme.test")
    assert response.status_code == 429


@pytest.mark.parametrize(
    ("proxies", "forwarded", "expected"),
    [
        (0, "198.51.100.1", "10.0.0.2"),
        (1, "198.51.100.1", "198.51.100.1"),
        (1, "6.6.6.6, 198.51.100.1", "198.51.100.1"),
        (2, "6.6.6.6, 198.51.100.1, 10.0.0.9", "198.51.100.1"),
        (1, "not-an-address", "10.0.0.2"),
    ],
)
def test_the_client_address_trusts_only_the_configured_proxies(
    rf, settings, proxies, forwarded, expected
):
    from mlprojects.site.client_ip import client_ip

    settings.TRUSTED_PROXY_COUNT = proxies
    request = rf.get("/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR=forwarded)
    assert client_ip(request) == expected
