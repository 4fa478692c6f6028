"""The demo organization's logins and the login form, shared by bench/bench_load.py (which
signs in once per login before the focus phase) and its locust scenario (whose mixed-phase
users sign in as a browser does)."""

import os
import re

ORG = "demo"
LOGINS = ["owner@example.com", "admin@example.com", "member@example.com"]
PASSWORD = os.environ.get("BENCH_PASSWORD", "mlprojects-demo")
CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


def sign_in(session, host: str, email: str, **request_options):
    """Sign `session` (a requests.Session, or locust's HttpSession, which is one) in as
    `email` through the login form; the answer to the form's POST. `request_options` go
    to both requests (a timeout; locust's `name`)."""
    page = session.get(f"{host}/accounts/login/", **request_options)
    token = CSRF.search(page.text).group(1)
    return session.post(
        f"{host}/accounts/login/",
        data={"username": email, "password": PASSWORD, "csrfmiddlewaretoken": token},
        headers={"Referer": f"{host}/accounts/login/"},
        **request_options,
    )
