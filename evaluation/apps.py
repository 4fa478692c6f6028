from django.apps import AppConfig


class EvaluationConfig(AppConfig):
    name = "evaluation"
    verbose_name = "Runs, evaluations and A/B tests"

    def ready(self) -> None:
        # mlprojects never names this app: it defines small registries for what its pages
        # show of runs, evaluations and A/B tests, and this app fills them.
        from evaluation.abtests import selectors as abtests
        from mlprojects.lifecycle.panels import ACTIONS, STEP_EVALUATION, register_project_panel
        from mlprojects.review.activity import register_activity_source

        register_project_panel(
            key="runs", slot=ACTIONS, template="evaluation/runs/_project_link.html"
        )
        register_project_panel(
            key="evaluations", slot=ACTIONS, template="evaluation/evaluations/_project_link.html"
        )
        register_project_panel(
            key="abtests",
            slot=STEP_EVALUATION,
            template="evaluation/abtests/_project_section.html",
            context=abtests.project_section,
        )
        register_activity_source(
            prefix="abtest.",
            project_events=abtests.project_audit_events,
            describe=abtests.audit_event_lines,
        )
