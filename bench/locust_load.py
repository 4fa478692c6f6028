"""The locust scenario of bench/bench_load.py: members of the demo organization reading
pages and API lists, logging metrics to runs and commenting.

Each simulated user logs in through the login form (one of the demo logins) and also
holds an API token (BENCH_TOKEN, a write token of the demo organization). `Member` mixes
everything (the mixed phase); `ProjectReader` only reads project pages, at the same pace,
with sessions signed in beforehand (the focus phase: `locust -f bench/locust_load.py
ProjectReader`). Requests are named by endpoint group, which is what the summary
reports."""

import itertools
import json
import os
import random
import time

from locust import FastHttpUser, HttpUser, between, task
from logins import LOGINS, ORG, sign_in  # bench/, which locust puts on the path

TOKEN = os.environ["BENCH_TOKEN"]
PROJECTS = json.loads(os.environ["BENCH_PROJECTS"])  # [[id, slug], …]
RUNS = json.loads(os.environ["BENCH_RUNS"])  # [run id, …]
SESSIONS = json.loads(os.environ.get("BENCH_SESSIONS", "[]"))  # [Cookie header, …]
_users = itertools.count()


class ProjectReader(FastHttpUser):
    """Reads project pages as one of the demo logins, signed in before the phase started
    (BENCH_SESSIONS: the Cookie header of a session per login), so the minute measures
    reading and not twenty password hashes; with locust's low-overhead client, as the load
    generator shares the server's cores."""

    wait_time = between(0.5, 1.5)

    def on_start(self) -> None:
        self.cookie = SESSIONS[next(_users) % len(SESSIONS)]

    @task
    def read_project(self) -> None:
        _, slug = random.choice(PROJECTS)
        self.client.get(
            f"/o/{ORG}/projects/{slug}/", headers={"Cookie": self.cookie}, name="page: project"
        )


class Member(HttpUser):
    wait_time = between(0.5, 1.5)

    def on_start(self) -> None:
        sign_in(self.client, self.host, LOGINS[next(_users) % len(LOGINS)], name="login")
        self.api = {"Authorization": f"Bearer {TOKEN}"}

    def project(self) -> tuple[int, str]:
        return random.choice(PROJECTS)

    @task(6)
    def read_project(self) -> None:
        _, slug = self.project()
        self.client.get(f"/o/{ORG}/projects/{slug}/", name="page: project")

    @task(2)
    def dashboard(self) -> None:
        self.client.get(f"/o/{ORG}/", name="page: dashboard")

    @task(2)
    def project_lists(self) -> None:
        _, slug = self.project()
        page = random.choice(["runs/", "evaluations/", "ab-tests/", "proposals/"])
        self.client.get(f"/o/{ORG}/projects/{slug}/{page}", name="page: project lists")

    @task(3)
    def api_lists(self) -> None:
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
