from django.urls import path

from mlprojects.lifecycle.api import views

PROJECT = "projects/<int:project_id>/"

urlpatterns = [
    path("projects/", views.ProjectListView.as_view(), name="api-project-list"),
    path(PROJECT, views.ProjectDetailView.as_view(), name="api-project-detail"),
    path(PROJECT + "next-cycle/", views.NextCycleView.as_view(), name="api-project-next-cycle"),
    path(PROJECT + "phenomenon/", views.PhenomenonView.as_view(), name="api-project-phenomenon"),
    path(PROJECT + "problem/", views.ProblemView.as_view(), name="api-project-problem"),
    path(
        PROJECT + "problem-tree/", views.ProblemTreeView.as_view(), name="api-project-problem-tree"
    ),
    path(
        PROJECT + "problem-tree/<int:item_id>/",
        views.ProblemNodeDetailView.as_view(),
        name="api-project-problem-node",
    ),
    path(PROJECT + "solutions/", views.SolutionListView.as_view(), name="api-project-solutions"),
    path(
        PROJECT + "solutions/<int:item_id>/",
        views.SolutionDetailView.as_view(),
        name="api-project-solution",
    ),
    path(PROJECT + "feasibility/", views.FeasibilityView.as_view(), name="api-project-feasibility"),
    path(PROJECT + "goal/", views.GoalView.as_view(), name="api-project-goal"),
    path(PROJECT + "objectives/", views.ObjectiveListView.as_view(), name="api-project-objectives"),
    path(
        PROJECT + "objectives/<int:item_id>/",
        views.ObjectiveDetailView.as_view(),
        name="api-project-objective",
    ),
    path(PROJECT + "metrics/", views.MetricListView.as_view(), name="api-project-metrics"),
    path(
        PROJECT + "metrics/<int:item_id>/",
        views.MetricDetailView.as_view(),
        name="api-project-metric",
    ),
    path(
        PROJECT + "constraints/", views.ConstraintListView.as_view(), name="api-project-constraints"
    ),
    path(
        PROJECT + "constraints/<int:item_id>/",
        views.ConstraintDetailView.as_view(),
        name="api-project-constraint",
    ),
    path(PROJECT + "performance/", views.PerformanceView.as_view(), name="api-project-performance"),
    path(PROJECT + "baselines/", views.BaselineListView.as_view(), name="api-project-baselines"),
    path(
        PROJECT + "baselines/<int:item_id>/",
        views.BaselineDetailView.as_view(),
        name="api-project-baseline",
    ),
    path(PROJECT + "references/", views.ReferenceListView.as_view(), name="api-project-references"),
    path(
        PROJECT + "references/<int:item_id>/",
        views.ReferenceDetailView.as_view(),
        name="api-project-reference",
    ),
    path(PROJECT + "prototype/", views.PrototypeView.as_view(), name="api-project-prototype"),
    path(
        PROJECT + "evaluation-plan/",
        views.EvaluationPlanView.as_view(),
        name="api-project-evaluation-plan",
    ),
    path(
        PROJECT + "deployment-plan/",
        views.DeploymentPlanView.as_view(),
        name="api-project-deployment-plan",
    ),
    path(
        PROJECT + "further-analysis/",
        views.FurtherAnalysisView.as_view(),
        name="api-project-further-analysis",
    ),
]
