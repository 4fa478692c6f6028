"""What a stakeholder approves is everything the team wrote: the review page, the print
page and the Markdown export are made from one document, and every field of every
section of the frozen snapshot — plus the evaluations and A/B decisions frozen with it —
appears in each of them.

The tests walk the snapshot itself, so a field added to a step later is covered without
touching them."""

import html
import io
import re

import pytest
from django.core.management import call_command

from accounts.models import User
from mlprojects.lifecycle.services import section_update
from mlprojects.models import Project
from mlprojects.review.document import build_document, document_sections
from mlprojects.review.services import proposal_submit

pytestmark = pytest.mark.django_db

CODE = re.compile(r"^[a-z]+(_[a-z]+)+$")


def leaves(data, path=()):
    """Every non-empty value of the snapshot with its path; a list of plain values is one
    leaf. Ids are the snapshot's own bookkeeping, not something the team wrote."""
    if isinstance(data, dict):
        for key, value in data.items():
            if key != "id":
                yield from leaves(value, (*path, key))
    elif isinstance(data, list):
        if data and all(not isinstance(v, dict | list) for v in data):
            yield path, data
        else:
            for i, value in enumerate(data):
                yield from leaves(value, (*path, i))
    elif data not in ("", None):
        yield path, data


def normalized(text: str) -> str:
    return " ".join(text.split())


def html_sections(page: str) -> dict[str, str]:
    """The text of each `<section id="doc-…">` of a page, tags removed."""
    found = {}
    for match in re.finditer(
        r'<section class="doc-section" id="doc-([\w-]+)">(.*?)</section>', page, re.S
    ):
        text = re.sub(r"<[^>]+>", " ", match.group(2))
        found[match.group(1)] = normalized(html.unescape(text))
    return found


def markdown_sections(text: str, headings: dict[str, str]) -> dict[str, str]:
    parts = {}
    chunks = re.split(r"^## ", text, flags=re.M)
    by_heading = {chunk.split("\n", 1)[0]: chunk for chunk in chunks[1:]}
    for key, heading in headings.items():
        parts[key] = normalized(by_heading.get(heading, "").replace("**", ""))
    return parts


@pytest.fixture
def demo_proposals(client_for):
    """A new proposal of each demo project with content, submitted by the demo member,
    and the three renderings of each."""
    call_command("load_demo", stdout=io.StringIO())
    member = User.objects.get(email="member@example.com")
    project = Project.objects.get(slug="news-feed-ranking")
    # Fill what the demo leaves blank, so every kind of field is walked.
    section_update(
        project=project,
        user=member,
        section="goal",
        values={
            "multi_objective_strategy": "separate_models",
            "multi_objective_rationale": "Spam filters change faster than quality ranking.",
        },
    )
    client = client_for(member)
    rendered = []
    for project in Project.objects.filter(organization__slug="demo").select_related("organization"):
        proposal = proposal_submit(project=project, user=member, message="Please read all of it.")
        base = f"/o/demo/projects/{project.slug}/proposals/{proposal.version}"
        pages = {
            "review page": client.get(base + "/").content.decode(),
            "print page": client.get(base + "/export.html").content.decode(),
        }
        markdown = client.get(base + "/export.md").content.decode()
        rendered.append((proposal, pages, markdown))
    return rendered


def _renderings(proposal, pages, markdown) -> dict[str, dict[str, str]]:
    sections = document_sections(proposal.snapshot)
    headings = {s.key: s.heading for s in sections}
    out = {name: html_sections(page) for name, page in pages.items()}
    out["Markdown export"] = markdown_sections(markdown, headings)
    return out


def test_every_field_of_the_snapshot_is_a_row_of_the_document(demo_proposals):
    for proposal, _, _ in demo_proposals:
        sections = document_sections(proposal.snapshot)
        covered = {
            tuple(source)
            for section in sections
            for row in [section, *section.rows]
            for source in row.sources
        }
        snapshot = {"steps": proposal.snapshot["steps"], "evidence": proposal.snapshot["evidence"]}
        for path, _value in leaves(snapshot):
            assert any(path[: len(c)] == c for c in covered), f"{path} is not in the document"


def test_every_row_appears_in_every_rendering(demo_proposals):
    for proposal, pages, markdown in demo_proposals:
        renderings = _renderings(proposal, pages, markdown)
        for section in document_sections(proposal.snapshot):
            for name, texts in renderings.items():
                text = texts.get(section.key)
                assert text is not None, f"{section.heading} is missing from the {name}"
                for row in section.rows:
                    if not row.is_item:
                        assert normalized(row.label) in text, (name, section.key, row)
                    assert normalized(row.value) in text, (name, section.key, row)


def test_what_the_team_wrote_appears_verbatim_in_every_rendering(demo_proposals):
    checked = 0
    for proposal, pages, markdown in demo_proposals:
        renderings = _renderings(proposal, pages, markdown)
        for part in ("steps", "evidence"):
            for path, value in leaves(proposal.snapshot[part]):
                key = path[0] if part == "steps" else f"evidence-{path[0]}"
                values = value if isinstance(value, list) else [value]
                for text in values:
                    # Free text (not a stored code, a number or yes/no) is shown as written.
                    if not isinstance(text, str) or CODE.match(text) or " " not in text:
                        continue
                    for name, texts in renderings.items():
                        assert normalized(text) in texts[key], (name, path, text)
                    checked += 1
    assert checked > 100  # the demo's projects are written out in full


def test_stored_codes_are_shown_by_their_labels(demo_proposals):
    for proposal, pages, markdown in demo_proposals:
        codes = {
            value
            for path, value in leaves(proposal.snapshot["steps"])
            if isinstance(value, str) and CODE.match(value) and "rules" not in path
        } | {key for path, _ in leaves(proposal.snapshot["steps"]) for key in path[-1:]
             if isinstance(key, str) and CODE.match(key) and path[0] == "feasibility"}  # fmt: skip
        for name, texts in _renderings(proposal, pages, markdown).items():
            for key, text in texts.items():
                for code in codes:
                    assert not re.search(rf"\b{code}\b", text), (name, key, code)


def test_the_document_answers_what_the_old_one_left_out(demo_proposals):
    restaurant = next(
        (p, pages, md) for p, pages, md in demo_proposals if p.project.slug == "restaurant-revenue"
    )
    proposal, pages, markdown = restaurant
    texts = _renderings(proposal, pages, markdown)
    for sections in texts.values():
        goals, feasibility = sections["goals"], sections["feasibility"]
        assert "Goal Bring first-time guests back for a second visit." in goals.replace(":", "")
        assert "Can an objective (loss) function be written? Yes" in feasibility.replace(":", "")
        assert "Rank dishes by the chance a guest orders and rates them well." in feasibility
        problem = sections["problem_definition"]
        assert "Answers cause The menu is too large" in problem.replace(":", "")
        metrics = goals.replace(":", "")
        assert "Serves objective Recommend dishes a first-time guest will enjoy" in metrics
        decisions = sections["evidence-abtests"]
        assert "Menu descriptions for first-time guests" in decisions
        assert "Decision Ship" in decisions.replace(":", "")


def test_the_evaluations_are_frozen_with_their_results(demo_proposals):
    fraud = next(p for p, _, _ in demo_proposals if p.project.slug == "fraud-detection")
    (entry,) = fraud.snapshot["evidence"]["evaluations"]["entries"]
    fields = {f["label"]: f["value"] for f in entry["fields"]}
    assert fields["Task"] == "Binary classification"
    assert fields["Model"].startswith("ROC-AUC 0.8893")
    assert fields["Measures"] == "Recall at 1% review rate"


def test_the_document_has_the_head_summary_and_note(demo_proposals):
    proposal, pages, markdown = demo_proposals[0]
    document = build_document(proposal)
    assert markdown.startswith(f"# {document.title}\n")
    assert "Please read all of it." in markdown
    for page in pages.values():
        assert "Please read all of it." in page
        if document.summary:
            assert html.escape(document.summary).split("\n")[0] in page
