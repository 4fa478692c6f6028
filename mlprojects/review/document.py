"""A frozen proposal as one readable document, from which every rendering is made.

The review page, the print page and the Markdown export all render the same
`ProposalDocument`, built here from the snapshot alone, so they cannot disagree about
what a stakeholder approves. Every field the team wrote is a row: references between
items are shown by name (the cause a solution answers, the objective a metric serves,
the metric it rolls up to), stored codes by their labels, numbers by the one number
helper. Each row records the snapshot paths it shows (`sources`), which is how the tests
prove that nothing of the snapshot is left out.
"""

from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from django.db import models

from mlprojects.lifecycle import feasibility
from mlprojects.lifecycle.models import (
    Baseline,
    DeploymentPlan,
    EvaluationPlan,
    Feasibility,
    Feedback,
    FurtherAnalysis,
    Goal,
    Hypothesis,
    Metric,
    MultiObjectiveStrategy,
    Objective,
    PerformanceRequirements,
    Phenomenon,
    ProblemDefinition,
    ProblemNode,
    ProjectConstraint,
    Prototype,
    Reference,
    Solution,
    Stage,
    WatchedMetric,
)
from mlprojects.lifecycle.rules import describe_rules
from mlprojects.templatetags.numbers import number

Path = tuple  # a path into the snapshot: ("steps", "goals", "metrics", 0, "name")

# The model behind each dict of the steps, by the key it is found under: field labels and
# choice labels come from there, so a code such as "poor_data" is never shown raw.
MODELS: dict[str, type[models.Model]] = {
    Stage.PHENOMENON.value: Phenomenon,
    "hypotheses": Hypothesis,
    Stage.PROBLEM_DEFINITION.value: ProblemDefinition,
    "tree": ProblemNode,
    "children": ProblemNode,
    "solutions": Solution,
    "goal": Goal,
    "objectives": Objective,
    "metrics": Metric,
    "items": ProjectConstraint,
    "performance": PerformanceRequirements,
    "baselines": Baseline,
    "references": Reference,
    "prototype": Prototype,
    "feedback": Feedback,
    Stage.EVALUATION.value: EvaluationPlan,
    Stage.DEPLOYMENT.value: DeploymentPlan,
    "watched_metrics": WatchedMetric,
    Stage.FURTHER_ANALYSIS.value: FurtherAnalysis,
}
# Labels of keys that are not a model field of their own.
KEY_LABELS = {
    "data_sources": "Data sources",
    "hypotheses": "Hypotheses",
    "tree": "Problem tree",
    "children": "Causes",
    "solutions": "Solutions",
    "goal": "Goal",
    "objectives": "Objectives",
    "metrics": "Metrics",
    "multi_objective": "Multi-objective plan",
    "weights": "Weights",
    "formula": "Formula",
    "strategy": "Strategy",
    "rationale": "Rationale",
    "items": "Constraints and risks",
    "performance": "Performance requirements",
    "baselines": "Baselines",
    "references": "References (state of the art)",
    "prototype": "Prototype",
    "feedback": "Feedback",
    "watched_metrics": "Watched metrics",
    "metric_name": "Metric",
    "label_next_step": "Next step for the labels",
    "statement": "Statement",
    "text": "Plan",
}
# References by id that the document shows by structure instead of a row of their own:
# a node of the problem tree sits under its parent; a watched metric and a weight of the
# multi-objective plan carry the name of what they point to.
STRUCTURAL = {
    "parent": ("tree", "children"),
    "metric": ("watched_metrics",),
    "objective": ("weights",),
}
# Choices of keys whose dict is not a model of its own.
CHOICES = {("multi_objective", "strategy"): dict(MultiObjectiveStrategy.choices)}
EMPTY_EVIDENCE = "_None when this version was submitted._"
TITLE_KEYS = ("title", "name", "statement", "who", "metric_name", "description")


@dataclass
class DocRow:
    """One line of the document: an item (`label` "•", `value` its title), a group
    heading (`value` empty) or a field with its value, which links to `url` when the
    evidence gave one (a page of the product, e.g. a registered model version)."""

    depth: int
    label: str
    value: str
    sources: list[Path] = field(default_factory=list, repr=False, compare=False)
    url: str = field(default="", compare=False)

    @property
    def is_item(self) -> bool:
        return self.label == "•"


@dataclass
class DocSection:
    key: str
    number: int | None
    title: str
    rows: list[DocRow]
    sources: list[Path] = field(default_factory=list, repr=False, compare=False)

    @property
    def heading(self) -> str:
        return f"{self.number}. {self.title}" if self.number else self.title


@dataclass
class ProposalDocument:
    title: str
    meta: list[tuple[str, str]]
    summary: str
    message: str
    sections: list[DocSection]


# ---------------------------------------------------------------- values


def _field(model: type[models.Model] | None, key: str) -> models.Field | None:
    if model is None:
        return None
    try:
        return model._meta.get_field(key)
    except Exception:  # noqa: BLE001 — FieldDoesNotExist and reverse relations alike
        return None


def _label(model, key: str) -> str:
    name = getattr(_field(model, key), "verbose_name", "")
    name = str(name) if name else KEY_LABELS.get(key, key.replace("_", " "))
    return name[:1].upper() + name[1:]


def value_text(value, *, model=None, key: str = "", container: str = "") -> str:
    """A stored value as a reader sees it: a choice by its label, yes/no, a number with
    the number helper, text as written."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float):
        return number(value)
    model_field = _field(model, key)
    if isinstance(model_field, models.DecimalField) and isinstance(value, str):
        return _amount(value)
    choices = CHOICES.get((container, key)) or (
        dict(model_field.choices or []) if model_field is not None else {}
    )
    if choices and value in choices:
        return str(choices[value])
    return str(value)


def _amount(value: str) -> str:
    """An amount of money as written in the snapshot ("60000.00") with thousands
    separators ("60,000.00")."""
    try:
        return f"{Decimal(value):,.2f}"
    except InvalidOperation:
        return value


def _empty(value) -> bool:
    return value in ("", None) or value == [] or value == {}


def _title_key(item: dict) -> str | None:
    return next((k for k in TITLE_KEYS if item.get(k) not in ("", None)), None)


# ---------------------------------------------------------------- the steps


class _Builder:
    """Walks one snapshot's steps; `names` resolves references by id to titles."""

    def __init__(self, steps: dict) -> None:
        self.steps = steps
        problem = steps.get(Stage.PROBLEM_DEFINITION, {}) or {}
        goals = steps.get(Stage.GOALS, {}) or {}
        self.causes: dict = {}
        self.problems: set = {node.get("id") for node in problem.get("tree") or []}

        def walk(nodes):
            for node in nodes or []:
                self.causes[node.get("id")] = node.get("title", "")
                walk(node.get("children"))

        walk(problem.get("tree"))
        self.objectives = {o.get("id"): o.get("title", "") for o in goals.get("objectives", [])}
        self.metrics = {m.get("id"): m.get("name", "") for m in goals.get("metrics", [])}

    # A reference by id, shown as the name of what it points to: (label, names).
    def reference(self, container: str, key: str, value=None):
        if key == "cause" and container == "solutions":
            # A solution answers a cause, or the problem itself (a root of the tree).
            label = "Answers problem" if value in self.problems else "Answers cause"
            return label, self.causes
        if key == "objective" and container == "metrics":
            return "Serves objective", self.objectives
        if key == "parent" and container == "metrics":
            return "Rolls up to", self.metrics
        return None

    def rows(self, data: dict, path: Path, container: str, depth: int) -> list[DocRow]:
        model = MODELS.get(container)
        rows: list[DocRow] = []
        for key, value in data.items():
            here = (*path, key)
            if key == "id" or _empty(value):
                continue
            ref = self.reference(container, key, value)
            if ref is not None:
                label, names = ref
                rows.append(DocRow(depth, label, names.get(value, f"#{value}"), [here]))
            elif key in STRUCTURAL and container in STRUCTURAL[key]:
                continue  # shown by the item's place or title (see `item_rows`)
            elif key == "rules" and container == "baselines":
                rows.append(DocRow(depth, "Rules", "\n".join(describe_rules(value)), [here]))
            elif isinstance(value, dict):
                sub = self.rows(value, here, key, depth + 1)
                if len(sub) == 1 and not sub[0].is_item and sub[0].value:
                    # A part with one thing written (the goal's statement) reads as one line.
                    rows.append(DocRow(depth, _label(model, key), sub[0].value, sub[0].sources))
                elif sub:
                    rows.append(DocRow(depth, _label(model, key), "", [here]))
                    rows += sub
            elif isinstance(value, list):
                rows += self.list_rows(value, here, key, model, depth)
            else:
                rows.append(
                    DocRow(
                        depth,
                        _label(model, key),
                        value_text(value, model=model, key=key, container=container),
                        [here],
                    )
                )
        return rows

    def list_rows(self, values: list, path: Path, key: str, parent_model, depth: int) -> list:
        if all(not isinstance(v, dict | list) for v in values):
            names = self.metrics if key == "metrics" else {}
            text = ", ".join(
                names.get(v, value_text(v)) if names else value_text(v) for v in values
            )
            return [DocRow(depth, _label(parent_model, key), text, [path])]
        rows = [DocRow(depth, _label(parent_model, key), "", [path])]
        for i, item in enumerate(values):
            rows += self.item_rows(item, (*path, i), key, depth + 1)
        return rows

    def item_rows(self, item: dict, path: Path, container: str, depth: int) -> list[DocRow]:
        title_key = _title_key(item)
        title = value_text(item[title_key]) if title_key else ""
        head = DocRow(depth, "•", title, [(*path, title_key)] if title_key else [path])
        rest = {k: v for k, v in item.items() if k != title_key}
        body = self.rows(rest, path, container, depth + 1)
        # References that the structure shows (a node under its parent, a watched metric
        # by its name) are covered by the item's head.
        head.sources += [(*path, k) for k in rest if container in STRUCTURAL.get(k, ())]
        return [head, *body]

    def feasibility(self, data: dict) -> list[DocRow]:
        base = ("steps", Stage.FEASIBILITY.value)
        criteria = data.get("criteria", {}) or {}
        flags = data.get("red_flags", {}) or {}
        why = data.get("rationales", {}) or {}
        rows: list[DocRow] = []
        if data.get("verdict"):
            label = feasibility.VERDICTS.get(data["verdict"], data["verdict"])
            rows.append(DocRow(0, "Verdict", label, [(*base, "verdict")]))
        if data.get("reasons"):
            rows.append(DocRow(0, "Reasons", "\n".join(data["reasons"]), [(*base, "reasons")]))
        if data.get("data_collection_plan"):
            plan = data["data_collection_plan"]
            rows.append(DocRow(0, "Data-collection plan", plan, [(*base, "data_collection_plan")]))
        if criteria:
            rows.append(DocRow(0, "Criteria", "", [(*base, "criteria")]))
        answers = {a: a.capitalize() for a in feasibility.ANSWERS}
        for key, answer in criteria.items():
            question = feasibility.CRITERIA.get(key, key)
            rows.append(
                DocRow(1, question, answers.get(answer, str(answer)), [(*base, "criteria", key)])
            )
            if why.get(key):
                rows.append(DocRow(2, "Why", why[key], [(*base, "rationales", key)]))
        if flags:
            rows.append(DocRow(0, "Red flags", "", [(*base, "red_flags")]))
        for key, raised in flags.items():
            label = feasibility.RED_FLAGS.get(key, key)
            rows.append(
                DocRow(1, label, "raised" if raised else "not raised", [(*base, "red_flags", key)])
            )
            if why.get(key):
                rows.append(DocRow(2, "Why", why[key], [(*base, "rationales", key)]))
            if key == "not_cost_effective":
                rows += self.business_case(data.get("business_case") or {}, base)
        return rows

    def business_case(self, case: dict, base: Path) -> list[DocRow]:
        """The estimate the "not cost-effective" flag is judged on, shown beside it."""
        written = {k: v for k, v in case.items() if not _empty(v)}
        if not written:
            return []
        path = (*base, "business_case")
        rows = [DocRow(2, "Business case", "", [path])]
        for key, value in written.items():
            text = value_text(value, model=Feasibility, key=key)
            rows.append(DocRow(3, _label(Feasibility, key), text, [(*path, key)]))
        return rows

    def section(self, key: str) -> list[DocRow]:
        data = self.steps.get(key)
        if not isinstance(data, dict):
            return []
        if key == Stage.FEASIBILITY:
            return self.feasibility(data)
        return self.rows(data, ("steps", key), key, 0)


def _site_path(url: object) -> str:
    """A link of an evidence field, kept only when it is a path of this site."""
    url = str(url or "")
    return url if url.startswith("/") and not url.startswith("//") else ""


def _evidence_sections(evidence: dict) -> list[DocSection]:
    sections = []
    for key, part in (evidence or {}).items():
        rows: list[DocRow] = []
        for i, entry in enumerate(part.get("entries", [])):
            path = ("evidence", key, "entries", i)
            rows.append(DocRow(0, "•", entry.get("title", ""), [(*path, "title")]))
            for j, item in enumerate(entry.get("fields", [])):
                if not _empty(item.get("value")):
                    rows.append(
                        DocRow(
                            1,
                            item.get("label", ""),
                            str(item["value"]),
                            [(*path, "fields", j)],
                            url=_site_path(item.get("url")),
                        )
                    )
        sections.append(
            DocSection(
                key=f"evidence-{key}",
                number=None,
                title=part.get("title", key),
                rows=rows,
                sources=[("evidence", key, "title")],
            )
        )
    return sections


def document_sections(snapshot: dict) -> list[DocSection]:
    """The nine steps, then the evidence frozen with them (evaluations, A/B decisions)."""
    builder = _Builder(snapshot.get("steps", {}) or {})
    steps = [
        DocSection(key=key, number=n, title=label.split(". ", 1)[1], rows=builder.section(key))
        for n, (key, label) in enumerate(Stage.choices, start=1)
    ]
    return steps + _evidence_sections(snapshot.get("evidence", {}))


def build_document(proposal) -> ProposalDocument:
    """The whole proposal version: its head (status, author, cycle), the project's
    summary, the note to reviewers, the steps and the evidence."""
    snap = proposal.snapshot
    project = snap.get("project", {})
    author = proposal.author.display_name if proposal.author else "a former member"
    return ProposalDocument(
        title=f"{project.get('name', '')} — proposal v{proposal.version}",
        meta=[
            ("Status", proposal.get_status_display()),
            ("Submitted", f"{proposal.created_at:%Y-%m-%d %H:%M} UTC by {author}"),
            ("Cycle", str(proposal.cycle)),
        ],
        summary=project.get("summary", ""),
        message=proposal.message,
        sections=document_sections(snap),
    )


def _md_text(text: str, indent: str) -> str:
    """Text of a list item: continuation lines indented so they stay in the item."""
    return text.replace("\n", "\n" + indent + "  ")


def document_markdown(doc: ProposalDocument) -> str:
    lines = [f"# {doc.title}", ""]
    lines += [f"- {label}: {value}" for label, value in doc.meta]
    if doc.summary:
        lines += ["", doc.summary]
    if doc.message:
        lines += ["", "> " + doc.message.replace("\n", "\n> ")]
    for section in doc.sections:
        lines += ["", f"## {section.heading}", ""]
        if not section.rows:
            lines.append("_Nothing written yet._" if section.number else EMPTY_EVIDENCE)
        for row in section.rows:
            indent = "  " * row.depth
            if row.is_item:
                lines.append(
                    f"{indent}- **{_md_text(row.value, indent)}**" if row.value else f"{indent}-"
                )
            elif row.value and row.url:
                lines.append(
                    f"{indent}- **{row.label}:** [{_md_text(row.value, indent)}]({row.url})"
                )
            elif row.value:
                lines.append(f"{indent}- **{row.label}:** {_md_text(row.value, indent)}")
            else:
                lines.append(f"{indent}- **{row.label}**")
    return "\n".join(lines) + "\n"
