"""The locust scenario of bench/bench_load.py: members of the demo organization reading
pages and API lists, logging metrics to runs and commenting.

Each simulated user logs in through the login form (one of the demo logins) and also
holds an API token (BENCH_TOKEN, a write token of the demo organization). Requests are
named by endpoint group, which is what the summary reports."""

import itertools
import json
import os
import random
import re
import time

from locust import HttpUser, between, task

ORG = "demo"
PASSWORD = os.environ.get("BENCH_PASSWORD", "mlprojects-demo")
TOKEN = os.environ["BENCH_TOKEN"]
PROJECTS = json.loads(os.environ["BENCH_PROJECTS"])  # [[id, slug], …]
RUNS = json.loads(os.environ["BENCH_RUNS"])  # [run id, …]
LOGINS = ["owner@example.com", "admin@example.com", "member@example.com"]
PHASE = os.environ.get("BENCH_PHASE", "mixed")
CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
_users = itertools.count()


class Member(HttpUser):
    wait_time = between(0.5, 1.5)

    def on_start(self) -> None:
        email = LOGINS[next(_users) % len(LOGINS)]
        page = self.client.get("/accounts/login/", name="login")
        token = CSRF.search(page.text).group(1)
        self.client.post(
            "/accounts/login/",
            data={"username": email, "password": PASSWORD, "csrfmiddlewaretoken": token},
            headers={"Referer": f"{self.host}/accounts/login/"},
            name="login",
        )
        self.api = {"Authorization": f"Bearer {TOKEN}"}

    def project(self) -> tuple[int, str]:
        return random.choice(PROJECTS)

    @task(6)
    def project_page(self) -> None:
        _, slug = self.project()
        self.client.get(f"/o/{ORG}/projects/{slug}/", name="page: project")

    @task(2)
    def dashboard(self) -> None:
        if PHASE == "mixed":
            self.client.get(f"/o/{ORG}/", name="page: dashboard")

    @task(2)
    def project_lists(self) -> None:
        if PHASE != "mixed":
            return
        _, slug = self.project()
        page = random.choice(["runs/", "evaluations/", "ab-tests/", "proposals/"])
        self.client.get(f"/o/{ORG}/projects/{slug}/{page}", name="page: project lists")

    @task(3)
    def api_lists(self) -> None:
        if PHASE != "mixed":
            return
        pk, _ = self.project()
        url = random.choice(
            [
                "/api/v1/projects/",
                f"/api/v1/projects/{pk}/runs/",
                f"/api/v1/projects/{pk}/evaluations/",
                f"/api/v1/projects/{pk}/ab-tests/",
            ]
        )
        self.client.get(url, headers=self.api, name="api: lists")

    @task(2)
    def log_batch(self) -> None:
        if PHASE != "mixed":
            return
        run = random.choice(RUNS)
        now = int(time.time() * 1000)
        body = {
            "metrics": [
                {"key": "loss", "value": random.random(), "step": step, "timestamp": now}
                for step in range(50)
            ]
        }
        self.client.post(
            f"/api/v1/runs/{run}/log-batch/", json=body, headers=self.api, name="api: log-batch"
        )

    @task(1)
    def comment(self) -> None:
        if PHASE != "mixed":
            return
        _, slug = self.project()
        self.client.post(
            f"/o/{ORG}/projects/{slug}/comments/phenomenon/new/",
            data={"body": "Looked at this under load; numbers look right."},
            headers={
                "X-CSRFToken": self.client.cookies.get("csrftoken", ""),
                "Referer": f"{self.host}/o/{ORG}/projects/{slug}/",
                "HX-Request": "true",
            },
            name="page: comment",
        )
