"""The nine steps of an ML project (seed §1), one `ProjectCycle` at a time.

Everything a team writes belongs to a cycle. A project's current cycle is
`Project.cycle`; starting the next cycle copies the definition forward
(`services.cycle_start_next`) and leaves earlier cycles readable and read-only.

Single-row sections (phenomenon, problem definition, feasibility, …) are one-to-one with
the cycle and created with it; lists (hypotheses, causes, objectives, metrics, …) hang off
the cycle by foreign key. Each model names the lifecycle `step` it belongs to, which is
what its history (`SectionVersion`) and the readiness checklist are grouped by.
"""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.utils import timezone

from accounts.models import TimeStampedModel
from mlprojects.analyses.models import DataSource
from mlprojects.lifecycle import feasibility
from mlprojects.lifecycle.models.projects import Project, Stage
from mlprojects.lifecycle.rules import validate_rules


class ProjectCycle(TimeStampedModel):
    """One pass through the nine steps. Cycle 1 starts with the project; cycle N+1 starts
    from what monitoring and further cause analysis uncovered in cycle N."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="cycles")
    number = models.PositiveIntegerField()
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )

    class Meta:
        ordering = ["project", "number"]
        constraints = [
            models.UniqueConstraint(
                fields=["project", "number"],
                name="cycle_number_unique_per_project",
                violation_error_message="This cycle already exists.",
            )
        ]

    def __str__(self) -> str:
        return f"{self.project} · cycle {self.number}"

    @property
    def is_current(self) -> bool:
        return self.number == self.project.cycle


class CycleItem(TimeStampedModel):
    """Base of everything that belongs to one cycle.

    `EDITABLE_FIELDS` are the plain fields a team writes, in the order the snapshot and the
    API show them: the web form, the API input and the snapshot all take them from here.
    Ids and references to other rows (a solution's cause, a metric's objective, …) are
    not in it; each of the three adds them explicitly where they belong."""

    step: str = ""
    EDITABLE_FIELDS: tuple[str, ...] = ()

    class Meta:
        abstract = True


# ---------------------------------------------------------------- 1. Phenomenon


class Phenomenon(CycleItem):
    """Step 1: what is happening, since when, measured how; what is hard about it and what
    would be good to solve; which data exists."""

    EDITABLE_FIELDS = ("what", "since", "evidence", "difficulties", "worth_solving")

    step = Stage.PHENOMENON
    cycle = models.OneToOneField(ProjectCycle, on_delete=models.CASCADE, related_name="phenomenon")
    what = models.TextField("What is happening", blank=True)
    since = models.CharField("Since when", max_length=200, blank=True)
    evidence = models.TextField("Measured evidence", blank=True)
    difficulties = models.TextField("What is difficult about it", blank=True)
    worth_solving = models.TextField("What would be good to solve", blank=True)
    data_sources = models.ManyToManyField(
        DataSource, blank=True, related_name="phenomena", verbose_name="Available data"
    )


class HypothesisStatus(models.TextChoices):
    OPEN = "open", "Open"
    SUPPORTED = "supported", "Supported"
    REJECTED = "rejected", "Rejected"


class Hypothesis(CycleItem):
    """A hypothesis about the phenomenon, and what the evidence says about it so far."""

    EDITABLE_FIELDS = ("statement", "status", "evidence")

    step = Stage.PHENOMENON
    cycle = models.ForeignKey(ProjectCycle, on_delete=models.CASCADE, related_name="hypotheses")
    statement = models.TextField()
    status = models.CharField(
        max_length=12, choices=HypothesisStatus.choices, default=HypothesisStatus.OPEN
    )
    evidence = models.TextField(blank=True)

    class Meta:
        ordering = ["id"]
        verbose_name_plural = "hypotheses"

    def __str__(self) -> str:
        return self.statement[:80]


# ---------------------------------------------------------------- 2. Problem definition


class ProblemDefinition(CycleItem):
    """Step 2: the phenomenon restated precisely, made clear (for whom, what success means —
    the seed's "I want to make people happy": which people, and what is happiness?), what
    we want to know, and the chosen approach as an incremental plan (what ships now, what
    is built in parallel)."""

    EDITABLE_FIELDS = (
        "statement",
        "for_whom",
        "success_means",
        "what_to_know",
        "ship_now",
        "build_in_parallel",
    )

    step = Stage.PROBLEM_DEFINITION
    cycle = models.OneToOneField(ProjectCycle, on_delete=models.CASCADE, related_name="problem")
    statement = models.TextField("Problem statement", blank=True)
    for_whom = models.TextField(
        "For whom",
        blank=True,
        help_text="Whose problem is it? “Make people happy” — which people: everyone, or "
        "first-time guests?",
    )
    success_means = models.TextField(
        "What success means",
        blank=True,
        help_text="What does solving it look like, and how would we see it? “Happy” as money, "
        "or as a feeling? The answer decides what can be done.",
    )
    what_to_know = models.TextField("What we want to know", blank=True)
    ship_now = models.TextField("What ships now", blank=True)
    build_in_parallel = models.TextField("What is built in parallel", blank=True)


class CauseEvidenceKind(models.TextChoices):
    INTERVIEWS = "interviews", "Interviews"
    DATA_CHECK = "data_check", "Data check"
    INTERVIEWS_AND_DATA = "interviews_and_data", "Interviews and a data check"
    OBSERVATION = "observation", "Observation"


class ProblemNode(CycleItem):
    """A node of the problem tree: a root is a problem, its children are causes, theirs
    sub-causes. Moves that would create a cycle or leave the cycle are refused.

    A cause carries the evidence behind it — the seed checked the data and interviewed
    first-time guests before naming "the menu is too large and poorly described"; a cause
    without evidence is still a guess."""

    EDITABLE_FIELDS = ("title", "evidence_kind", "evidence", "notes")

    step = Stage.PROBLEM_DEFINITION
    cycle = models.ForeignKey(ProjectCycle, on_delete=models.CASCADE, related_name="problem_nodes")
    parent = models.ForeignKey(
        "self", on_delete=models.CASCADE, null=True, blank=True, related_name="children"
    )
    title = models.CharField(max_length=300)
    evidence_kind = models.CharField(
        "Evidence from", max_length=20, choices=CauseEvidenceKind.choices, blank=True
    )
    evidence = models.TextField(
        "What the evidence shows",
        blank=True,
        help_text="What the interviews or the data check found (e.g. “12 of 15 first-time "
        "guests picked at random”).",
    )
    notes = models.TextField(blank=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.title

    def clean(self) -> None:
        if self.evidence_kind and not self.evidence.strip():
            raise ValidationError({"evidence": "Say what the evidence shows."})
        if self.parent_id is None:
            return
        if self.parent.cycle_id != self.cycle_id:
            raise ValidationError({"parent": "The parent must be a node of the same project."})
        node = self.parent
        while node is not None:
            if node.pk == self.pk and self.pk is not None:
                raise ValidationError(
                    {"parent": "A node cannot move under itself or one of its sub-causes."}
                )
            node = node.parent


class SolutionKind(models.TextChoices):
    RULE_BASED = "rule_based", "Rule-based"
    ML = "ml", "Machine learning"
    PROCESS = "process_change", "Process change"
    OTHER_TEAM = "other_team", "Another team's work"


class Size(models.TextChoices):
    SMALL = "small", "Small"
    MEDIUM = "medium", "Medium"
    LARGE = "large", "Large"


class Level(models.TextChoices):
    LOW = "low", "Low"
    MEDIUM = "medium", "Medium"
    HIGH = "high", "High"


class TimeToValue(models.TextChoices):
    NOW = "now", "Now"
    NEXT = "next", "Next"
    LATER = "later", "Later"


class SolutionStatus(models.TextChoices):
    PROPOSED = "proposed", "Proposed"
    CHOSEN = "chosen", "Chosen"
    IN_PROGRESS = "in_progress", "In progress"
    DONE = "done", "Done"
    DROPPED = "dropped", "Dropped"


class Solution(CycleItem):
    """A candidate solution — rules, ML, a process change or another team's work — sized so
    the team can start simple and go incrementally. It answers a node of the problem tree:
    a cause, or the problem itself when it does not wait for the causes (the seed's first
    idea, promoting the restaurant on social media, is the marketing team's fix to the
    whole problem)."""

    EDITABLE_FIELDS = (
        "title",
        "description",
        "kind",
        "owner",
        "effort",
        "expected_impact",
        "time_to_value",
        "status",
    )

    step = Stage.PROBLEM_DEFINITION
    cycle = models.ForeignKey(ProjectCycle, on_delete=models.CASCADE, related_name="solutions")
    cause = models.ForeignKey(
        ProblemNode,
        on_delete=models.CASCADE,
        related_name="solutions",
        verbose_name="Answers",
        help_text="A cause, or the problem itself (a top-level node).",
    )
    title = models.CharField(max_length=300)
    description = models.TextField(blank=True)
    kind = models.CharField(max_length=20, choices=SolutionKind.choices, default=SolutionKind.ML)
    owner = models.CharField(max_length=200, blank=True, help_text="A person or a team.")
    effort = models.CharField(max_length=10, choices=Size.choices, default=Size.MEDIUM)
    expected_impact = models.CharField(max_length=10, choices=Level.choices, default=Level.MEDIUM)
    time_to_value = models.CharField(
        max_length=10, choices=TimeToValue.choices, default=TimeToValue.NOW
    )
    status = models.CharField(
        max_length=12, choices=SolutionStatus.choices, default=SolutionStatus.PROPOSED
    )

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.title

    def clean(self) -> None:
        if self.cause_id and self.cause.cycle_id != self.cycle_id:
            raise ValidationError({"cause": "The cause must belong to this project."})


# ---------------------------------------------------------------- 3. ML feasibility


class Answer(models.TextChoices):
    YES = feasibility.YES, "Yes"
    PARTLY = feasibility.PARTLY, "Partly"
    NO = feasibility.NO, "No"
    UNKNOWN = feasibility.UNKNOWN, "Unknown"


class Verdict(models.TextChoices):
    ML_FITS = feasibility.ML_FITS, feasibility.VERDICTS[feasibility.ML_FITS]
    OPEN_QUESTIONS = feasibility.OPEN_QUESTIONS, feasibility.VERDICTS[feasibility.OPEN_QUESTIONS]
    RULES_FIRST = feasibility.RULES_FIRST, feasibility.VERDICTS[feasibility.RULES_FIRST]
    ML_NOT_ADVISED = feasibility.ML_NOT_ADVISED, feasibility.VERDICTS[feasibility.ML_NOT_ADVISED]


def _answer_field(label: str) -> models.CharField:
    return models.CharField(label, max_length=8, choices=Answer.choices, default=Answer.UNKNOWN)


class Feasibility(CycleItem):
    """Step 3: the five criteria and six red flags of the seed, each with a rationale, and
    the verdict `feasibility.evaluate` derives from them (stored, so lists can filter)."""

    # The business case beside the "not cost-effective" red flag, and the plan a "Rules
    # first" verdict calls for: plain fields, written with the answers.
    BUSINESS_CASE_FIELDS = ("business_value", "estimated_value", "estimated_cost", "currency")
    PLAN_FIELDS = ("data_collection_plan",)
    # Each criterion and red flag followed by its rationale, in the order of the questions,
    # then the business case and the data-collection plan.
    EDITABLE_FIELDS = (
        *(
            name
            for key in (*feasibility.CRITERIA, *feasibility.RED_FLAGS)
            for name in (key, f"{key}_rationale")
        ),
        *BUSINESS_CASE_FIELDS,
        *PLAN_FIELDS,
    )

    step = Stage.FEASIBILITY
    cycle = models.OneToOneField(ProjectCycle, on_delete=models.CASCADE, related_name="feasibility")
    pattern = _answer_field("Pattern")
    pattern_rationale = models.TextField(blank=True)
    objective = _answer_field("Objective function")
    objective_rationale = models.TextField(blank=True)
    complexity = _answer_field("Complexity")
    complexity_rationale = models.TextField(blank=True)
    data = _answer_field("Data")
    data_rationale = models.TextField(blank=True)
    repetition = _answer_field("Repetition")
    repetition_rationale = models.TextField(blank=True)
    unethical = models.BooleanField(default=False)
    unethical_rationale = models.TextField(blank=True)
    simple_solution = models.BooleanField(default=False)
    simple_solution_rationale = models.TextField(blank=True)
    poor_data = models.BooleanField(default=False)
    poor_data_rationale = models.TextField(blank=True)
    catastrophic_error = models.BooleanField(default=False)
    catastrophic_error_rationale = models.TextField(blank=True)
    explainability_required = models.BooleanField(default=False)
    explainability_required_rationale = models.TextField(blank=True)
    not_cost_effective = models.BooleanField(default=False)
    not_cost_effective_rationale = models.TextField(blank=True)
    business_value = models.TextField(
        "Business value",
        blank=True,
        help_text="What solving it is worth to the business: more revenue, staff time saved, "
        "happier customers — not how interesting it is.",
    )
    estimated_value = models.DecimalField(
        "Estimated value per year",
        max_digits=14,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(0)],
    )
    estimated_cost = models.DecimalField(
        "Estimated cost",
        max_digits=14,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(0)],
        help_text="People, data, infrastructure and running costs until it pays off.",
    )
    currency = models.CharField(
        max_length=3, blank=True, help_text="Of the estimates: EUR, USD, KRW, …"
    )
    data_collection_plan = models.TextField(
        "Data-collection plan",
        blank=True,
        help_text="Without data, start with rules and plan the collection first: what will "
        "be collected, how, by whom and from when.",
    )
    verdict = models.CharField(
        max_length=16, choices=Verdict.choices, default=Verdict.OPEN_QUESTIONS
    )
    reasons = models.JSONField(default=list, blank=True)

    def criteria(self) -> dict[str, str]:
        return {key: getattr(self, key) for key in feasibility.CRITERIA}

    def red_flags(self) -> dict[str, bool]:
        return {key: getattr(self, key) for key in feasibility.RED_FLAGS}

    def rationales(self) -> dict[str, str]:
        keys = list(feasibility.CRITERIA) + list(feasibility.RED_FLAGS)
        return {key: getattr(self, f"{key}_rationale") for key in keys}

    def clean(self) -> None:
        estimated = self.estimated_value is not None or self.estimated_cost is not None
        if estimated and not self.currency.strip():
            raise ValidationError({"currency": "Give the currency of the estimates."})

    def cost_exceeds_value(self) -> bool:
        """Whether the estimates say what the red flag "not cost-effective" says."""
        if self.estimated_value is None or self.estimated_cost is None:
            return False
        return self.estimated_cost > self.estimated_value

    def recompute(self) -> feasibility.Verdict:
        result = feasibility.evaluate(self.criteria(), self.red_flags())
        self.verdict, self.reasons = result.verdict, result.reasons
        return result


# ---------------------------------------------------------------- 4. Goal, objectives, metrics


class MultiObjectiveStrategy(models.TextChoices):
    COMBINED_LOSS = "combined_loss", "One model on a combined loss Σ wᵢ·lossᵢ"
    SEPARATE_MODELS = "separate_models", "Separate models ranked by Σ wᵢ·scoreᵢ"


class Goal(CycleItem):
    """Step 4: the one goal of the cycle, and — when objectives conflict — how they are
    combined (the seed prefers separate models: weights change without retraining)."""

    EDITABLE_FIELDS = ("statement",)

    step = Stage.GOALS
    cycle = models.OneToOneField(ProjectCycle, on_delete=models.CASCADE, related_name="goal")
    statement = models.TextField("Goal", blank=True)
    multi_objective_strategy = models.CharField(
        "Multi-objective plan", max_length=20, choices=MultiObjectiveStrategy.choices, blank=True
    )
    multi_objective_rationale = models.TextField("Why this plan", blank=True)


class ObjectiveKind(models.TextChoices):
    FILTER = "filter", "Filter"
    CLASSIFY = "classify", "Classify"
    RANK = "rank", "Rank"
    PREDICT = "predict", "Predict"
    OTHER = "other", "Other"


class LabelScenario(models.TextChoices):
    LABELLED = "labelled", "Labelled data"
    PROXY = "proxy", "Proxy labels"
    UNLABELLED = "unlabelled", "Unlabelled data"
    NO_DATA = "no_data", "No data"


# The seed's next step for each label scenario (§1.4.2).
LABEL_NEXT_STEPS: dict[str, str] = {
    LabelScenario.LABELLED: "Train on the labels directly.",
    LabelScenario.PROXY: "Define the proxy (e.g. plays/skips as preference) and validate that "
    "it tracks the real target.",
    LabelScenario.UNLABELLED: "Label by hand, or find a way to learn without labels "
    "(e.g. self-supervised pseudo-labels).",
    LabelScenario.NO_DATA: "Plan how the data will be collected first.",
}


class Objective(CycleItem):
    """A concrete step towards the goal, with its loss, where its labels come from and how
    often it must be updated. `weight` is its wᵢ in the multi-objective plan (blank when it
    is not part of it)."""

    EDITABLE_FIELDS = (
        "title",
        "kind",
        "loss_function",
        "label_scenario",
        "label_source",
        "update_cadence",
        "owner",
        "weight",
    )

    step = Stage.GOALS
    cycle = models.ForeignKey(ProjectCycle, on_delete=models.CASCADE, related_name="objectives")
    title = models.CharField(max_length=300)
    kind = models.CharField(
        max_length=10, choices=ObjectiveKind.choices, default=ObjectiveKind.OTHER
    )
    loss_function = models.CharField("Objective / loss function", max_length=300, blank=True)
    label_scenario = models.CharField(
        max_length=12, choices=LabelScenario.choices, default=LabelScenario.LABELLED
    )
    label_source = models.TextField("Where the labels come from", blank=True)
    update_cadence = models.CharField(max_length=100, blank=True, help_text="e.g. daily, monthly")
    owner = models.CharField(max_length=200, blank=True)
    weight = models.FloatField(
        null=True, blank=True, help_text="Its weight in the multi-objective plan, if any."
    )

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.title

    @property
    def label_next_step(self) -> str:
        return LABEL_NEXT_STEPS[self.label_scenario]


class MetricKind(models.TextChoices):
    MODEL = "model", "Model"
    BUSINESS = "business", "Business"
    GUARDRAIL = "guardrail", "Guardrail"


class Direction(models.TextChoices):
    HIGHER = "higher", "Higher is better"
    LOWER = "lower", "Lower is better"


class Metric(CycleItem):
    """A measure of success. A model metric should move a business metric (its `parent`),
    which is how the metric tree ties model work to the business (seed §1.4.5)."""

    EDITABLE_FIELDS = ("name", "kind", "direction", "unit", "target", "current", "description")

    step = Stage.GOALS
    cycle = models.ForeignKey(ProjectCycle, on_delete=models.CASCADE, related_name="metrics")
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=10, choices=MetricKind.choices, default=MetricKind.MODEL)
    direction = models.CharField(max_length=8, choices=Direction.choices, default=Direction.HIGHER)
    unit = models.CharField(max_length=40, blank=True)
    target = models.FloatField(null=True, blank=True)
    current = models.FloatField("Current value", null=True, blank=True)
    objective = models.ForeignKey(
        Objective, on_delete=models.SET_NULL, null=True, blank=True, related_name="metrics"
    )
    parent = models.ForeignKey(
        "self",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="children",
        verbose_name="Moves business metric",
    )
    description = models.TextField(blank=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        errors = {}
        if self.objective_id and self.objective.cycle_id != self.cycle_id:
            errors["objective"] = "The objective must belong to this project."
        if self.parent_id:
            if self.parent.cycle_id != self.cycle_id:
                errors["parent"] = "The business metric must belong to this project."
            elif self.parent.kind != MetricKind.BUSINESS:
                errors["parent"] = "A metric can only move a business metric."
            elif self.parent_id == self.pk:
                errors["parent"] = "A metric cannot move itself."
        if errors:
            raise ValidationError(errors)


# ---------------------------------------------------------------- 5. Constraints and risks


class ConstraintKind(models.TextChoices):
    SCHEDULE = "schedule", "Schedule"
    BUDGET = "budget", "Budget"
    PEOPLE = "people", "People affected"
    PRIVACY = "privacy", "Privacy"
    TECHNICAL = "technical", "Technical / legacy"
    ETHICS = "ethics", "Ethics"
    OTHER = "other", "Other"


class RiskStatus(models.TextChoices):
    OPEN = "open", "Open"
    MITIGATED = "mitigated", "Mitigated"
    ACCEPTED = "accepted", "Accepted"
    CLOSED = "closed", "Closed"


RED_FLAG_CHOICES = [(key, label) for key, label in feasibility.RED_FLAGS.items()]


class ProjectConstraint(CycleItem):
    """A constraint or risk (step 5). `red_flag` names the feasibility red flag it
    mitigates, which is how the readiness checklist knows a raised flag is handled."""

    EDITABLE_FIELDS = (
        "kind",
        "description",
        "likelihood",
        "impact",
        "mitigation",
        "owner",
        "status",
        "red_flag",
        "starts_on",
        "due_on",
        "amount",
        "currency",
    )
    # The fields only a schedule (dates) or a budget (an amount) has.
    SCHEDULE_FIELDS = ("starts_on", "due_on")
    BUDGET_FIELDS = ("amount", "currency")

    step = Stage.CONSTRAINTS
    cycle = models.ForeignKey(ProjectCycle, on_delete=models.CASCADE, related_name="constraints")
    kind = models.CharField(max_length=12, choices=ConstraintKind.choices)
    description = models.TextField()
    likelihood = models.CharField(max_length=10, choices=Level.choices, default=Level.MEDIUM)
    impact = models.CharField(max_length=10, choices=Level.choices, default=Level.MEDIUM)
    mitigation = models.TextField(blank=True)
    owner = models.CharField(max_length=200, blank=True)
    status = models.CharField(max_length=10, choices=RiskStatus.choices, default=RiskStatus.OPEN)
    red_flag = models.CharField(
        "Mitigates red flag", max_length=30, choices=RED_FLAG_CHOICES, blank=True
    )
    starts_on = models.DateField("Starts on", null=True, blank=True, help_text="Schedule only.")
    due_on = models.DateField("Due on", null=True, blank=True, help_text="Schedule only.")
    amount = models.DecimalField(
        "Maximum budget",
        max_digits=14,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(0)],
        help_text="Budget only.",
    )
    currency = models.CharField(max_length=3, blank=True, help_text="Of the budget: EUR, USD, …")

    class Meta:
        ordering = ["id"]
        verbose_name = "constraint or risk"

    def __str__(self) -> str:
        return self.description[:80]

    def clean(self) -> None:
        errors: dict[str, str] = {}
        if self.kind != ConstraintKind.SCHEDULE:
            for name in self.SCHEDULE_FIELDS:
                if getattr(self, name) is not None:
                    errors[name] = "Only a schedule has dates."
        elif self.starts_on and self.due_on and self.due_on < self.starts_on:
            errors["due_on"] = "The schedule must end on or after its start."
        if self.kind != ConstraintKind.BUDGET:
            if self.amount is not None:
                errors["amount"] = "Only a budget has an amount."
            if self.currency:
                errors["currency"] = "Only a budget has a currency."
        elif self.amount is not None and not self.currency.strip():
            errors["currency"] = "Give the currency of the budget."
        if errors:
            raise ValidationError(errors)


class ErrorPreference(models.TextChoices):
    BALANCED = "balanced", "Balanced"
    FEWER_FALSE_NEGATIVES = "fewer_fn", "Missing a case is worse (avoid false negatives)"
    FEWER_FALSE_POSITIVES = "fewer_fp", "A false alarm is worse (avoid false positives)"


class RequiredMetric(models.TextChoices):
    """The metrics of a binary classifier that monitoring can estimate before labels
    arrive (CBPE), so that a minimum in production can be checked every window."""

    ROC_AUC = "roc_auc", "ROC AUC"
    PRECISION = "precision", "Precision"
    RECALL = "recall", "Recall"
    F1 = "f1", "F1"
    SPECIFICITY = "specificity", "Specificity"
    ACCURACY = "accuracy", "Accuracy"


#: How a title names each metric ("Estimated recall below 0.6").
REQUIRED_METRIC_LABELS = {
    c.value: c.label if c == RequiredMetric.ROC_AUC else c.label.lower() for c in RequiredMetric
}


class PerformanceRequirements(CycleItem):
    """Step 5's performance constraints: the baseline to beat, the decision threshold, the
    minimum performance in production (monitoring alerts when the estimate falls below
    it), the speed/accuracy trade-off, who needs explanations and which errors are
    tolerable."""

    EDITABLE_FIELDS = (
        "baseline_to_beat",
        "threshold",
        "threshold_rationale",
        "required_metric",
        "required_minimum",
        "speed_vs_accuracy",
        "interpretability_needed",
        "interpretability_for",
        "error_preference",
        "false_negative_cost",
        "false_positive_cost",
    )

    step = Stage.CONSTRAINTS
    cycle = models.OneToOneField(ProjectCycle, on_delete=models.CASCADE, related_name="performance")
    baseline_to_beat = models.TextField(blank=True)
    threshold = models.FloatField("Decision threshold", null=True, blank=True)
    threshold_rationale = models.TextField(blank=True)
    required_metric = models.CharField(
        "Metric required in production",
        max_length=12,
        choices=RequiredMetric.choices,
        blank=True,
        help_text="Monitoring estimates it every window before labels arrive.",
    )
    required_minimum = models.FloatField(
        "Minimum in production",
        null=True,
        blank=True,
        help_text="An estimate below it raises an alert (e.g. 0.6).",
    )
    speed_vs_accuracy = models.TextField("Speed vs accuracy trade-off", blank=True)
    interpretability_needed = models.BooleanField(default=False)
    interpretability_for = models.CharField("Explanations needed by", max_length=200, blank=True)
    error_preference = models.CharField(
        "Error tolerance",
        max_length=10,
        choices=ErrorPreference.choices,
        default=ErrorPreference.BALANCED,
    )
    false_negative_cost = models.TextField("Cost of a false negative", blank=True)
    false_positive_cost = models.TextField("Cost of a false positive", blank=True)


# ---------------------------------------------------------------- 6. Baselines and prototype


class BaselineKind(models.TextChoices):
    RULES = "rules", "Rules"
    SCARECROW = "scarecrow", "Scarecrow model"
    HUMAN = "human_process", "Human process"
    EXISTING = "existing_system", "Existing system"
    PUBLISHED = "published_model", "Published model"


class ScarecrowStrategy(models.TextChoices):
    MAJORITY = "majority", "Predict the majority class"
    MEAN = "mean", "Predict the mean"
    MOST_POPULAR = "most_popular", "Recommend the most popular item"


class Baseline(CycleItem):
    """What a model must beat (step 6). A rules baseline keeps its rules as structured
    data (`mlprojects.rules`), validated strictly because the evaluation engine runs them."""

    EDITABLE_FIELDS = ("name", "kind", "strategy", "description", "rules", "result")

    step = Stage.BASELINES
    cycle = models.ForeignKey(ProjectCycle, on_delete=models.CASCADE, related_name="baselines")
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=16, choices=BaselineKind.choices)
    strategy = models.CharField(
        "Scarecrow strategy", max_length=16, choices=ScarecrowStrategy.choices, blank=True
    )
    description = models.TextField(blank=True)
    rules = models.JSONField(null=True, blank=True)
    result = models.CharField("Result so far", max_length=200, blank=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        errors: dict[str, str | list[str]] = {}
        if self.kind == BaselineKind.RULES:
            problems = validate_rules(self.rules) if self.rules is not None else []
            if self.rules is None:
                errors["rules"] = "A rules baseline needs its rules."
            elif problems:
                errors["rules"] = problems
        elif self.rules is not None:
            errors["rules"] = "Only a rules baseline has rules."
        if self.kind == BaselineKind.SCARECROW and not self.strategy:
            errors["strategy"] = "Say what the scarecrow predicts."
        elif self.kind != BaselineKind.SCARECROW and self.strategy:
            errors["strategy"] = "Only a scarecrow baseline has a strategy."
        if errors:
            raise ValidationError(errors)


class Reference(CycleItem):
    """State of the art for similar problems: a paper, a link, notes on what to try."""

    EDITABLE_FIELDS = ("title", "url", "notes")

    step = Stage.BASELINES
    cycle = models.ForeignKey(ProjectCycle, on_delete=models.CASCADE, related_name="references")
    title = models.CharField(max_length=300)
    url = models.URLField(max_length=500, blank=True)
    notes = models.TextField(blank=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.title


class PrototypeTool(models.TextChoices):
    STREAMLIT = "streamlit", "Streamlit"
    GRADIO = "gradio", "Gradio"
    VOILA = "voila", "Voila"
    OTHER = "other", "Other"


class Prototype(CycleItem):
    """A page where colleagues give an input and see the output (Streamlit, Gradio, Voila)."""

    EDITABLE_FIELDS = ("url", "tool", "description")

    step = Stage.BASELINES
    cycle = models.OneToOneField(ProjectCycle, on_delete=models.CASCADE, related_name="prototype")
    url = models.URLField("Link", max_length=500, blank=True)
    tool = models.CharField(max_length=10, choices=PrototypeTool.choices, blank=True)
    description = models.TextField(blank=True)


class Sentiment(models.TextChoices):
    POSITIVE = "positive", "Positive"
    NEUTRAL = "neutral", "Neutral"
    NEGATIVE = "negative", "Negative"


class Feedback(CycleItem):
    """A colleague's feedback on the prototype."""

    EDITABLE_FIELDS = ("who", "given_on", "text", "sentiment")

    step = Stage.BASELINES
    cycle = models.ForeignKey(ProjectCycle, on_delete=models.CASCADE, related_name="feedback")
    who = models.CharField(max_length=200)
    given_on = models.DateField("When", default=timezone.localdate)
    text = models.TextField("Feedback")
    sentiment = models.CharField(
        max_length=10, choices=Sentiment.choices, default=Sentiment.NEUTRAL
    )

    class Meta:
        ordering = ["-given_on", "-id"]
        verbose_name_plural = "feedback"

    def __str__(self) -> str:
        return f"{self.who}: {self.text[:60]}"


# ---------------------------------------------------------------- 7.–9.


class EvaluationPlan(CycleItem):
    """Step 7: which evaluations and A/B tests decide success, and on which metrics."""

    EDITABLE_FIELDS = ("text",)

    step = Stage.EVALUATION
    cycle = models.OneToOneField(
        ProjectCycle, on_delete=models.CASCADE, related_name="evaluation_plan"
    )
    text = models.TextField("Plan", blank=True)
    metrics = models.ManyToManyField(
        Metric, blank=True, related_name="+", verbose_name="Decided by"
    )


class DeploymentPlan(CycleItem):
    """Step 8: what is watched after deployment and where the model could be wrong."""

    EDITABLE_FIELDS = ("watch", "where_wrong")

    step = Stage.DEPLOYMENT
    cycle = models.OneToOneField(
        ProjectCycle, on_delete=models.CASCADE, related_name="deployment_plan"
    )
    watch = models.TextField("What we will watch", blank=True)
    where_wrong = models.TextField("Where it could be wrong", blank=True)


class AlertWhen(models.TextChoices):
    BELOW = "below", "falls below"
    ABOVE = "above", "rises above"


class WatchedMetric(CycleItem):
    """A metric watched in production, with the threshold that raises an alert."""

    EDITABLE_FIELDS = ("alert_when", "threshold", "notes")

    step = Stage.DEPLOYMENT
    cycle = models.ForeignKey(
        ProjectCycle, on_delete=models.CASCADE, related_name="watched_metrics"
    )
    metric = models.ForeignKey(Metric, on_delete=models.CASCADE, related_name="watches")
    alert_when = models.CharField(max_length=6, choices=AlertWhen.choices, default=AlertWhen.BELOW)
    threshold = models.FloatField("Alert threshold")
    notes = models.TextField(blank=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.metric} {self.alert_when} {self.threshold}"

    def clean(self) -> None:
        if self.metric_id and self.metric.cycle_id != self.cycle_id:
            raise ValidationError({"metric": "The metric must belong to this project."})


class FurtherAnalysis(CycleItem):
    """Step 9: what monitoring uncovered, which starts the next cycle."""

    EDITABLE_FIELDS = ("findings", "next_questions")

    step = Stage.FURTHER_ANALYSIS
    cycle = models.OneToOneField(
        ProjectCycle, on_delete=models.CASCADE, related_name="further_analysis"
    )
    findings = models.TextField(blank=True)
    next_questions = models.TextField("Questions for the next cycle", blank=True)


class FindingStatus(models.TextChoices):
    """open (no decision yet) → to carry | won't fix (a decision, with who and when);
    to carry (and open) → carried forward when the next cycle starts."""

    OPEN = "open", "Open (no decision)"
    TO_CARRY = "to_carry", "To carry into the next cycle"
    CARRIED_FORWARD = "carried_forward", "Carried into the next cycle"
    DISMISSED = "dismissed", "Won't fix"


class FindingEvidenceKind(models.TextChoices):
    ALERT = "alert", "Alert"
    DRIFT_CELL = "drift_cell", "Drift of a column in a window"
    SLICE = "slice", "Worst slice of a window"
    OTHER = "other", "Other"


class Finding(CycleItem):
    """Step 9: one thing monitoring uncovered - what was seen, the evidence (a link back to
    the alert, window × column or slice, and what it showed in `evidence`), the suspected
    cause. Each needs a decision before the cycle is ready: carry it into the next cycle
    (then it becomes a hypothesis of the new phenomenon, `hypothesis`, and with
    `as_cause` also a cause in the problem tree, `cause`) or won't fix, with a reason."""

    EDITABLE_FIELDS = ("what", "evidence_url", "suspected_cause", "as_cause")

    step = Stage.FURTHER_ANALYSIS
    cycle = models.ForeignKey(ProjectCycle, on_delete=models.CASCADE, related_name="findings")
    what = models.TextField("What was seen")
    evidence_url = models.CharField("Evidence", max_length=500, blank=True)
    suspected_cause = models.TextField(blank=True)
    evidence_kind = models.CharField(
        max_length=12, choices=FindingEvidenceKind.choices, default=FindingEvidenceKind.OTHER
    )
    evidence = models.JSONField(
        default=dict, blank=True, help_text="What the evidence showed when it was recorded."
    )
    as_cause = models.BooleanField(
        "Also a cause in the problem tree",
        default=False,
        help_text="Carried into the next cycle, it becomes a cause under the problem too.",
    )
    status = models.CharField(
        max_length=16, choices=FindingStatus.choices, default=FindingStatus.OPEN
    )
    decision_reason = models.TextField("Reason", blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    hypothesis = models.ForeignKey(
        Hypothesis,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="The next cycle's hypothesis this finding became.",
    )
    cause = models.ForeignKey(
        ProblemNode,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="The next cycle's cause this finding became.",
    )

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(status="dismissed") | ~models.Q(decision_reason=""),
                name="finding_wont_fix_has_reason",
                violation_error_message="Say why it won't be fixed.",
            )
        ]

    def __str__(self) -> str:
        return self.what[:80]

    @property
    def needs_decision(self) -> bool:
        return self.status == FindingStatus.OPEN


# ---------------------------------------------------------------- History


class SectionVersion(models.Model):
    """A snapshot of one step of one cycle after a save: who changed it and when. Only
    saves that change something are recorded; diffs are computed between neighbours."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="section_versions")
    cycle = models.ForeignKey(ProjectCycle, on_delete=models.CASCADE, related_name="versions")
    step = models.CharField(max_length=30, choices=Stage.choices)
    number = models.PositiveIntegerField()
    data = models.JSONField()
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["cycle", "step", "-number"]
        constraints = [
            models.UniqueConstraint(
                fields=["cycle", "step", "number"],
                name="section_version_unique",
                violation_error_message="This version exists.",
            )
        ]

    def __str__(self) -> str:
        return f"{self.cycle} · {self.step} v{self.number}"


# The single-row sections every cycle has, by related name (created with the cycle).
CYCLE_SECTIONS = {
    "phenomenon": Phenomenon,
    "problem": ProblemDefinition,
    "feasibility": Feasibility,
    "goal": Goal,
    "performance": PerformanceRequirements,
    "prototype": Prototype,
    "evaluation_plan": EvaluationPlan,
    "deployment_plan": DeploymentPlan,
    "further_analysis": FurtherAnalysis,
}
