from django.urls import path

from mlprojects.lifecycle.api import views

P = "projects/<int:project_id>/"

urlpatterns = [
    path("projects/", views.ProjectListView.as_view(), name="api-project-list"),
    path(P, views.ProjectDetailView.as_view(), name="api-project-detail"),
    path(P + "next-cycle/", views.NextCycleView.as_view(), name="api-project-next-cycle"),
    path(P + "phenomenon/", views.PhenomenonView.as_view(), name="api-project-phenomenon"),
    path(P + "problem/", views.ProblemView.as_view(), name="api-project-problem"),
    path(P + "problem-tree/", views.ProblemTreeView.as_view(), name="api-project-problem-tree"),
    path(
        P + "problem-tree/<int:item_id>/",
        views.ProblemNodeDetailView.as_view(),
        name="api-project-problem-node",
    ),
    path(P + "solutions/", views.SolutionListView.as_view(), name="api-project-solutions"),
    path(
        P + "solutions/<int:item_id>/",
        views.SolutionDetailView.as_view(),
        name="api-project-solution",
    ),
    path(P + "feasibility/", views.FeasibilityView.as_view(), name="api-project-feasibility"),
    path(P + "goal/", views.GoalView.as_view(), name="api-project-goal"),
    path(P + "objectives/", views.ObjectiveListView.as_view(), name="api-project-objectives"),
    path(
        P + "objectives/<int:item_id>/",
        views.ObjectiveDetailView.as_view(),
        name="api-project-objective",
    ),
    path(P + "metrics/", views.MetricListView.as_view(), name="api-project-metrics"),
    path(P + "metrics/<int:item_id>/", views.MetricDetailView.as_view(), name="api-project-metric"),
    path(P + "constraints/", views.ConstraintListView.as_view(), name="api-project-constraints"),
    path(
        P + "constraints/<int:item_id>/",
        views.ConstraintDetailView.as_view(),
        name="api-project-constraint",
    ),
    path(P + "performance/", views.PerformanceView.as_view(), name="api-project-performance"),
    path(P + "baselines/", views.BaselineListView.as_view(), name="api-project-baselines"),
    path(
        P + "baselines/<int:item_id>/",
        views.BaselineDetailView.as_view(),
        name="api-project-baseline",
    ),
    path(P + "references/", views.ReferenceListView.as_view(), name="api-project-references"),
    path(
        P + "references/<int:item_id>/",
        views.ReferenceDetailView.as_view(),
        name="api-project-reference",
    ),
    path(P + "prototype/", views.PrototypeView.as_view(), name="api-project-prototype"),
    path(
        P + "evaluation-plan/",
        views.EvaluationPlanView.as_view(),
        name="api-project-evaluation-plan",
    ),
    path(
        P + "deployment-plan/",
        views.DeploymentPlanView.as_view(),
        name="api-project-deployment-plan",
    ),
    path(
        P + "further-analysis/",
        views.FurtherAnalysisView.as_view(),
        name="api-project-further-analysis",
    ),
]
