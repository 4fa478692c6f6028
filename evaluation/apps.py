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
    """The project page's buttons, "A/B tests", prototype and step-8 monitoring sections;
    A/B tests and monitoring in the activity feed; evaluation results, A/B decisions and
    prototype feedback as the evidence of a proposal; the monitoring alert notification."""
    from accounts.notifications import register_notification_kind
    from evaluation.abtests import selectors as abtests
    from evaluation.evaluations import selectors as evaluations
    from evaluation.monitoring import selectors as monitoring
    from evaluation.monitoring.jobs import ALERT_NOTIFICATION_KIND
    from evaluation.prototypes import selectors as prototypes
    from evaluation.runs import selectors as runs
    from mlprojects.lifecycle.panels import (
        ACTIONS,
        STEP_BASELINES,
        STEP_DEPLOYMENT,
        STEP_EVALUATION,
        register_dashboard_panel,
        register_project_panel,
    )
    from mlprojects.review.activity import register_activity_source
    from mlprojects.review.evidence import register_evidence_source

    register_project_panel(key="runs", slot=ACTIONS, template="evaluation/runs/_project_link.html")
    register_project_panel(
        key="models", slot=ACTIONS, template="evaluation/registry/_project_link.html"
    )
    register_project_panel(
        key="evaluations", slot=ACTIONS, template="evaluation/evaluations/_project_link.html"
    )
    register_project_panel(
        key="evaluations-section",
        slot=STEP_EVALUATION,
        template="evaluation/evaluations/_project_section.html",
        context=evaluations.project_section,
    )
    register_project_panel(
        key="abtests",
        slot=STEP_EVALUATION,
        template="evaluation/abtests/_project_section.html",
        context=abtests.project_section,
    )
    register_project_panel(
        key="prototype",
        slot=STEP_BASELINES,
        template="evaluation/prototypes/_project_section.html",
        context=prototypes.project_section,
    )
    register_project_panel(
        key="speed-vs-accuracy",
        slot=STEP_EVALUATION,
        template="evaluation/runs/_speed_accuracy.html",
        context=runs.speed_vs_accuracy_panel,
    )
    register_evidence_source(
        key="evaluations", title="Evaluations", collect=evaluations.evaluation_evidence
    )
    register_evidence_source(
        key="speed_vs_accuracy",
        title="Speed vs accuracy of the candidate models",
        collect=runs.speed_vs_accuracy_evidence,
    )
    register_evidence_source(
        key="abtests", title="A/B test decisions", collect=abtests.abtest_evidence
    )
    register_evidence_source(
        key="prototype_feedback",
        title="Feedback on the prototype's answers",
        collect=prototypes.feedback_evidence,
    )
    register_activity_source(
        prefix="abtest.",
        project_events=abtests.project_audit_events,
        describe=abtests.audit_event_lines,
    )
    register_project_panel(
        key="monitoring-link", slot=ACTIONS, template="evaluation/monitoring/_project_link.html"
    )
    register_project_panel(
        key="monitoring",
        slot=STEP_DEPLOYMENT,
        template="evaluation/monitoring/_project_section.html",
        context=monitoring.project_section,
    )
    register_evidence_source(
        key="deployments", title="Deployments", collect=monitoring.deployment_evidence
    )
    register_activity_source(
        prefix="monitoring.",
        project_events=monitoring.project_audit_events,
        describe=monitoring.audit_event_lines,
    )
    register_dashboard_panel(
        key="open-alerts",
        template="evaluation/monitoring/_dashboard_alerts.html",
        context=monitoring.projects_with_open_alerts,
    )
    register_notification_kind(ALERT_NOTIFICATION_KIND, "Monitoring alert")


def register_demo_loaders() -> None:
    """After the projects' stories (order 10), before the business analysis (50); the
    registry after the runs and before monitoring, whose deployment names its version."""
    from evaluation.abtests.demo import load_abtest_demo
    from evaluation.evaluations.demo import load_evaluation_demo
    from evaluation.monitoring.demo import load_monitoring_demo
    from evaluation.prototypes.demo import load_prototype_demo
    from evaluation.registry.demo import load_registry_demo
    from evaluation.runs.demo import load_runs_demo
    from mlprojects.site.demo import register_demo_loader

    register_demo_loader("abtests", order=20, load=lambda orgs: load_abtest_demo(orgs.demo))
    register_demo_loader("runs", order=30, load=lambda orgs: load_runs_demo(orgs.demo))
    register_demo_loader("registry", order=35, load=lambda orgs: load_registry_demo(orgs.demo))
    register_demo_loader("evaluations", order=40, load=lambda orgs: load_evaluation_demo(orgs.demo))
    register_demo_loader("monitoring", order=45, load=lambda orgs: load_monitoring_demo(orgs.demo))
    register_demo_loader("prototypes", order=46, load=lambda orgs: load_prototype_demo(orgs.demo))
