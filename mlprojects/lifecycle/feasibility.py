"""ML feasibility (seed §1.4.1) as a pure function: five criteria that make ML a fit, six
red flags that make it a poor one, and a verdict with reasons that name the answers.

The rules, applied in this order (the first that matches decides the verdict):
1. any red flag is raised                       → ``ml_not_advised``
2. pattern, objective or complexity is ``no``   → ``ml_not_advised``
3. data is ``no``                               → ``rules_first`` (rules + data collection plan)
4. any criterion is ``unknown``                 → ``open_questions``
5. otherwise                                    → ``ml_fits``
"""

from dataclasses import dataclass, field

YES, PARTLY, NO, UNKNOWN = "yes", "partly", "no", "unknown"
ANSWERS = (YES, PARTLY, NO, UNKNOWN)

# The five criteria in the seed's order, each with the question it answers.
CRITERIA: dict[str, str] = {
    "pattern": "Is there a pattern to learn?",
    "objective": "Can an objective (loss) function be written?",
    "complexity": "Is the pattern too complex for simple rules?",
    "data": "Does data exist, or can it be collected?",
    "repetition": "Is it a task humans repeat?",
}
# The six situations in which the seed advises against ML.
RED_FLAGS: dict[str, str] = {
    "unethical": "The use is unethical",
    "simple_solution": "A simple solution exists",
    "poor_data": "Good data is hard to get",
    "catastrophic_error": "A single wrong prediction is catastrophic",
    "explainability_required": "Every decision must be explainable",
    "not_cost_effective": "It is not cost-effective",
}

ML_NOT_ADVISED, RULES_FIRST, OPEN_QUESTIONS, ML_FITS = (
    "ml_not_advised",
    "rules_first",
    "open_questions",
    "ml_fits",
)
VERDICTS: dict[str, str] = {
    ML_FITS: "ML fits",
    OPEN_QUESTIONS: "Open questions",
    RULES_FIRST: "Rules first",
    ML_NOT_ADVISED: "ML not advised",
}
# Each criterion's short name, as reasons and documents name it.
CRITERION_NAMES: dict[str, str] = {
    "pattern": "Pattern",
    "objective": "Objective function",
    "complexity": "Complexity",
    "data": "Data",
    "repetition": "Repetition",
}
# The criteria whose "no" rules ML out (rule 2).
CORE = ("pattern", "objective", "complexity")


@dataclass(frozen=True)
class Verdict:
    verdict: str
    reasons: list[str] = field(default_factory=list)

    @property
    def label(self) -> str:
        return VERDICTS[self.verdict]


def normalise(criteria: dict[str, str | None], red_flags: dict[str, bool | None]):
    """Missing or empty answers count as `unknown`; missing red flags as not raised."""
    answers = {key: (criteria.get(key) or UNKNOWN) for key in CRITERIA}
    for key, value in answers.items():
        if value not in ANSWERS:
            raise ValueError(f"{key}: {value!r} is not one of {', '.join(ANSWERS)}")
    flags = {key: bool(red_flags.get(key)) for key in RED_FLAGS}
    return answers, flags


def evaluate(criteria: dict[str, str | None], red_flags: dict[str, bool | None]) -> Verdict:
    """The verdict for the given answers; every reason names the answers that produced it."""
    answers, flags = normalise(criteria, red_flags)

    raised = [key for key in RED_FLAGS if flags[key]]
    if raised:
        reasons = [f"Red flag: {RED_FLAGS[key].lower()}." for key in raised]
        reasons.append("Resolve or mitigate the red flags before considering ML.")
        return Verdict(ML_NOT_ADVISED, reasons)

    core_no = [key for key in CORE if answers[key] == NO]
    if core_no:
        reasons = [
            f"{CRITERION_NAMES[key]} answered no: {CRITERIA[key][:-1].lower()} — no."
            for key in core_no
        ]
        reasons.append("Without a learnable, complex pattern and an objective, ML cannot help.")
        return Verdict(ML_NOT_ADVISED, reasons)

    if answers["data"] == NO:
        return Verdict(
            RULES_FIRST,
            [
                "Data answered no: no data exists yet to learn from.",
                "Ship a rule-based solution now and plan how to collect the data.",
            ],
        )

    unknown = [key for key in CRITERIA if answers[key] == UNKNOWN]
    if unknown:
        return Verdict(
            OPEN_QUESTIONS,
            [f"{CRITERION_NAMES[key]} is unknown: {CRITERIA[key]}" for key in unknown]
            + ["Answer the open questions before deciding."],
        )

    summary = ", ".join(f"{CRITERION_NAMES[key].lower()} {answers[key]}" for key in CRITERIA)
    reasons = [f"No red flag and no criterion answered no or unknown ({summary})."]
    reasons += [
        f"{CRITERION_NAMES[key]} is only partly there: confirm it with data early."
        for key in CRITERIA
        if answers[key] == PARTLY
    ]
    return Verdict(ML_FITS, reasons)
