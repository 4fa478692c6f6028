from django.apps import AppConfig


class EvaluationConfig(AppConfig):
    name = "evaluation"
    verbose_name = "Runs, evaluations and A/B tests"

    def ready(self) -> None:
        # mlprojects never names this app: it defines small registries for what its pages
        # and its demo show of runs, evaluations and A/B tests, and this app fills them.
        register_project_page_parts()
        register_demo_loaders()


def register_project_page_parts() -> None:
    """The project page's buttons and "A/B tests" section; A/B tests in the activity feed."""
    from evaluation.abtests import selectors as abtests
    from mlprojects.lifecycle.panels import ACTIONS, STEP_EVALUATION, register_project_panel
    from mlprojects.review.activity import register_activity_source

    register_project_panel(key="runs", slot=ACTIONS, template="evaluation/runs/_project_link.html")
    register_project_panel(
        key="models", slot=ACTIONS, template="evaluation/registry/_project_link.html"
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


def register_demo_loaders() -> None:
    """After the projects' stories (order 10), before the business analysis (50)."""
    from evaluation.abtests.demo import load_abtest_demo
    from evaluation.evaluations.demo import load_evaluation_demo
    from evaluation.runs.demo import load_runs_demo
    from mlprojects.site.demo import register_demo_loader

    register_demo_loader("abtests", order=20, load=lambda orgs: load_abtest_demo(orgs.demo))
    register_demo_loader("runs", order=30, load=lambda orgs: load_runs_demo(orgs.demo))
    register_demo_loader("evaluations", order=40, load=lambda orgs: load_evaluation_demo(orgs.demo))
