"""The seed's stories as demo data (loaders registered by `MlprojectsConfig`, run by
`mlprojects.site.demo`). Each loader is idempotent (keyed on slugs/names): a project's
lifecycle is written only while it has no history yet, through the same services the
pages use."""

from datetime import date
from decimal import Decimal

from accounts.models import Organization, User
from mlprojects.lifecycle import services
from mlprojects.lifecycle.services import project_create
from mlprojects.models import (
    Baseline,
    DataSource,
    Feedback,
    Hypothesis,
    Metric,
    MetricKind,
    Objective,
    ObjectiveKind,
    ProblemNode,
    Project,
    ProjectConstraint,
    Reference,
    SectionVersion,
    Solution,
    WatchedMetric,
)
from mlprojects.site.demo import DemoOrganizations


def _ensure_project(
    *, org: Organization, slug: str, name: str, summary: str, owner_email: str
) -> Project:
    project = Project.objects.filter(organization=org, slug=slug).first()
    if project is None:
        owner = User.objects.get(email=owner_email)
        project = project_create(org=org, user=owner, name=name, summary=summary, slug=slug)
    return project


def _is_blank(project: Project) -> bool:
    return not SectionVersion.objects.filter(project=project).exists()


def _data_source(org: Organization, name: str, **fields) -> DataSource:
    source, _ = DataSource.objects.get_or_create(organization=org, name=name, defaults=fields)
    return source


def _restaurant(project: Project, user: User) -> None:
    def add(model, **values):
        return services.item_create(project=project, user=user, model=model, values=values)

    def section(name, **values):
        services.section_update(project=project, user=user, section=name, values=values)

    org = project.organization
    pos = _data_source(
        org, "POS receipts", owning_team="Operations", description="Every order since 2021."
    )
    reviews = _data_source(
        org, "Guest reviews", owning_team="Marketing", description="Online reviews and ratings."
    )
    section(
        "phenomenon",
        what="Revenue has fallen three months in a row and the total number of guests is down.",
        since="Three months (since March)",
        evidence="Monthly revenue −8%, −6%, −9%; covers per week down from 640 to 540 (POS).",
        difficulties="Guests rarely say why they do not come back; the staff is busy at peak "
        "times.",
        worth_solving="Bring first-time guests back for a second visit.",
        data_sources=[pos, reviews],
    )
    add(
        Hypothesis,
        statement="First-time guests drop more than regulars.",
        status="supported",
        evidence="POS: first visits −31%, repeat visits −9%.",
    )
    add(
        Hypothesis,
        statement="The menu is hard to choose from.",
        status="supported",
        evidence="12 of 15 interviewed first-time guests picked at random and were unhappy.",
    )
    add(Hypothesis, statement="Prices rose faster than the neighbourhood's.", status="rejected")

    section(
        "problem",
        statement="First-time guests are dropping sharply, more than regulars: the menu is too "
        "large and poorly described, so they choose at random and leave unsatisfied.",
        for_whom="First-time guests — not every guest: regulars already know what they like.",
        success_means="A first-time guest picks a dish they enjoy and comes back: the "
        "second-visit rate rises from 24% to 35%, and revenue stops falling.",
        what_to_know="Which dishes suit which guest, and does guidance bring them back?",
        ship_now="Rule-based descriptions: “if you like X, try Y”, and when each dish suits "
        "(rolled out this week).",
        build_in_parallel="A recommender that suggests dishes from a guest's taste.",
    )
    # The statement is the root of the problem tree (made by `section_update`).
    root = ProblemNode.objects.get(cycle__project=project, cycle__number=project.cycle, parent=None)
    large = add(
        ProblemNode,
        title="The menu is too large",
        parent=root,
        evidence_kind="interviews_and_data",
        evidence="12 of 15 interviewed first-time guests could not choose and picked at "
        "random; POS: 70 dishes, 41 ordered less than once a week.",
    )
    thin = add(
        ProblemNode,
        title="Dish descriptions are too thin",
        parent=root,
        evidence_kind="interviews",
        evidence="Interviewed guests did not know what most dishes were or when to eat them.",
    )
    add(
        Solution,
        cause=large,
        title="Trim the menu for a season",
        kind="process_change",
        owner="Head chef",
        effort="medium",
        expected_impact="low",
        time_to_value="next",
        status="proposed",
        description="May help for a while, but doubtful as the real fix.",
    )
    add(
        Solution,
        cause=thin,
        title="Rule-based descriptions: if you like X, try Y",
        kind="rule_based",
        owner="Floor manager",
        effort="small",
        expected_impact="medium",
        time_to_value="now",
        status="in_progress",
    )
    add(
        Solution,
        cause=thin,
        title="Taste-based dish recommender",
        kind="ml",
        owner="Data team",
        effort="large",
        expected_impact="high",
        time_to_value="later",
        status="chosen",
    )
    add(
        Solution,
        cause=root,
        title="SNS marketing campaign",
        kind="other_team",
        owner="Marketing team",
        effort="medium",
        expected_impact="medium",
        time_to_value="next",
        status="chosen",
    )

    services.feasibility_update(
        project=project,
        user=user,
        criteria={
            "pattern": "yes",
            "objective": "yes",
            "complexity": "partly",
            "data": "yes",
            "repetition": "yes",
        },
        red_flags={"poor_data": False},
        rationales={
            "pattern": "Orders cluster by taste (spicy, vegetarian, seafood).",
            "objective": "Rank dishes by the chance a guest orders and rates them well.",
            "complexity": "Pairing rules cover the basics; tastes combine in many ways.",
            "data": "Two years of POS receipts linked to loyalty cards.",
            "repetition": "Waiters recommend dishes hundreds of times a day.",
        },
        values={
            "business_value": "Each first-time guest who returns spends about €40 a visit; "
            "lifting the second-visit rate from 24% to 35% brings back about 1,500 visits a "
            "year.",
            "estimated_value": Decimal("60000"),
            "estimated_cost": Decimal("25000"),
            "currency": "EUR",
            "data_collection_plan": "From the rule-based rollout on, the tablets record which "
            "suggested dish each guest ordered and how they rated it: the labels the "
            "recommender will train on. Owner: floor manager; reviewed monthly.",
        },
    )

    section("goal", statement="Bring first-time guests back for a second visit.")
    recommend = add(
        Objective,
        title="Recommend dishes a first-time guest will enjoy",
        kind="rank",
        loss_function="pairwise ranking loss on orders",
        label_scenario="proxy",
        label_source="Re-orders and 4–5 star ratings as proxy for enjoyment.",
        update_cadence="monthly",
        owner="Data team",
    )
    add(
        Metric,
        name="Daily revenue",
        kind="business",
        unit="€",
        target=9000,
        description="Takings per day from the point-of-sale system.",
    )
    revisit = add(
        Metric,
        name="Second-visit rate of first-time guests",
        kind="business",
        unit="%",
        target=35,
        current=24,
    )
    add(
        Metric,
        name="NDCG@5 of recommended dishes",
        kind="model",
        objective=recommend,
        parent=revisit,
        target=0.45,
        current=0.31,
    )
    satisfaction = add(
        Metric, name="Dish rating of first-time guests", kind="guardrail", unit="stars", target=4.2
    )

    add(
        ProjectConstraint,
        kind="schedule",
        description="The recommender must be on the tablets before the autumn menu.",
        starts_on=date(2026, 4, 1),
        due_on=date(2026, 9, 1),
        likelihood="medium",
        impact="high",
        mitigation="Ship rule-based descriptions first.",
        owner="Floor manager",
        status="mitigated",
    )
    add(
        ProjectConstraint,
        kind="budget",
        description="The owner can spend at most this on the recommender this year.",
        amount=Decimal("25000"),
        currency="EUR",
        likelihood="low",
        impact="medium",
        mitigation="Open-source models on the existing server; no paid cloud service.",
        owner="Owner",
        status="accepted",
    )
    add(
        ProjectConstraint,
        kind="privacy",
        description="Loyalty cards link orders to people.",
        likelihood="medium",
        impact="high",
        mitigation="Train on pseudonymous ids only; no data leaves our server.",
        owner="Legal",
        status="open",
    )
    add(
        ProjectConstraint,
        kind="technical",
        description="The ordering tablets run a legacy app we cannot change quickly.",
        likelihood="high",
        impact="medium",
        mitigation="Print the recommendations on the menu insert first.",
        owner="IT",
        status="accepted",
    )
    section(
        "performance",
        baseline_to_beat="“Most popular dish” scarecrow and the rule-based descriptions.",
        threshold=0.6,
        threshold_rationale="Only recommend when the model is fairly sure.",
        speed_vs_accuracy="Under 200 ms on the tablet; accuracy matters more than speed.",
        interpretability_needed=True,
        interpretability_for="Waiters (“because you liked…”)",
        error_preference="fewer_fp",
        false_negative_cost="A dish not suggested: small loss.",
        false_positive_cost="A disliked dish: the guest may not return.",
    )

    add(
        Baseline,
        name="Most popular dish",
        kind="scarecrow",
        strategy="most_popular",
        result="NDCG@5 0.22",
    )
    add(
        Baseline,
        name="Waiter pairing rules",
        kind="rules",
        description="If you like X, try Y — as the floor manager wrote them.",
        rules={
            "rules": [
                {
                    "when": [{"feature": "likes_spicy", "op": "==", "value": True}],
                    "recommend": ["kimchi_jjigae", "tteokbokki"],
                },
                {
                    "when": [{"feature": "diet", "op": "in", "value": ["vegetarian", "vegan"]}],
                    "recommend": ["bibimbap"],
                },
                {
                    "when": [
                        {"feature": "likes_spicy", "op": "==", "value": False},
                        {"feature": "diet", "op": "==", "value": "none"},
                    ],
                    "recommend": ["bulgogi"],
                },
            ],
            "default": 0,
        },
        result="NDCG@5 0.29",
    )
    add(Baseline, name="Waiters' recommendations", kind="human_process")
    add(
        Reference,
        title="Deep Neural Networks for YouTube Recommendations",
        url="https://research.google/pubs/deep-neural-networks-for-youtube-recommendations/",
        notes="Candidate generation + ranking; start with the ranking half.",
    )
    section(
        "prototype",
        url="https://menu-proto.example.com",
        tool="streamlit",
        description="Pick three dishes you liked; see five suggestions with a reason.",
    )
    add(
        Feedback,
        who="Jae (waiter)",
        text="The reasons help me explain dishes to guests.",
        sentiment="positive",
    )
    add(
        Feedback,
        who="Head chef",
        text="It never suggests the seasonal dishes.",
        sentiment="negative",
    )

    ndcg = Metric.objects.get(cycle__project=project, name__startswith="NDCG")
    section(
        "evaluation_plan",
        text="Offline: NDCG@5 against both baselines on the last two months. Online: A/B test "
        "for four weeks, tablets with suggestions vs without, on the second-visit rate.",
        metrics=[revisit, ndcg, satisfaction],
    )
    section(
        "deployment_plan",
        watch="Weekly second-visit rate, share of suggested dishes ordered, ratings.",
        where_wrong="Seasonal dishes (no history) and large groups ordering to share.",
    )
    add(WatchedMetric, metric=revisit, alert_when="below", threshold=22)
    add(WatchedMetric, metric=satisfaction, alert_when="below", threshold=3.8)
    section(
        "further_analysis",
        findings="Lunch guests ignore suggestions: they order the set menu in a hurry.",
        next_questions="Should lunch get its own, faster flow?",
    )


def _problem_story(
    project: Project, add, section, *, phenomenon, hypotheses, problem, causes
) -> None:
    """Steps 1 and 2 of a demo project: the phenomenon with its hypotheses, the problem
    statement (the root of the tree) and causes with evidence, each with a solution."""
    section("phenomenon", **phenomenon)
    for statement, status, evidence in hypotheses:
        add(Hypothesis, statement=statement, status=status, evidence=evidence)
    section("problem", **problem)
    root = ProblemNode.objects.get(cycle__project=project, cycle__number=project.cycle, parent=None)
    for title, kind, evidence, (solution, solution_kind, owner) in causes:
        cause = add(ProblemNode, title=title, parent=root, evidence_kind=kind, evidence=evidence)
        add(
            Solution,
            cause=cause,
            title=solution,
            kind=solution_kind,
            owner=owner,
            status="chosen",
        )


def _news_feed(project: Project, user: User) -> None:
    def add(model, **values):
        return services.item_create(project=project, user=user, model=model, values=values)

    def section(name, **values):
        services.section_update(project=project, user=user, section=name, values=values)

    _problem_story(
        project,
        add,
        section,
        phenomenon={
            "what": "Time spent in the feed is falling while reports of posts keep rising.",
            "since": "Two quarters (since January)",
            "evidence": "Daily time in feed 41 → 34 min; reports per 1k views 0.3 → 0.9.",
            "difficulties": "Engagement and safety pull in opposite directions: the posts "
            "people click most are also the ones reported most.",
            "worth_solving": "Keep people reading without spreading extreme views or "
            "misinformation.",
        },
        hypotheses=[
            (
                "Click-optimised ranking promotes sensational posts.",
                "supported",
                "Top-ranked posts are reported 3× as often as the median post.",
            ),
            (
                "Spam and NSFW filters lag behind new content.",
                "supported",
                "Half of the reported posts were under 2 hours old.",
            ),
            ("Users are leaving for another app.", "open", ""),
        ],
        problem={
            "statement": "The feed ranks by clicks alone, so readers see more low-quality, "
            "unsafe posts and spend less time with it.",
            "for_whom": "Regular readers of the feed — not advertisers or posters.",
            "success_means": "Daily time in feed back above 40 min with under 0.5 reports "
            "per 1k views.",
            "what_to_know": "How to trade engagement against quality and safety in one ranking.",
            "ship_now": "Stricter manual moderation of the top-ranked posts.",
            "build_in_parallel": "Separate filters and a ranking that mixes quality and "
            "engagement.",
        },
        causes=[
            (
                "Ranking optimises clicks only",
                "data_check",
                "Offline: the ranker's score correlates 0.8 with clicks, 0.1 with editor ratings.",
                ("Rank by a weighted mix of quality and engagement", "ml", "Feed team"),
            ),
            (
                "Unsafe posts reach the feed before moderation",
                "data_check",
                "Median time to moderation 3.5 h; half of reported posts are under 2 h old.",
                ("Filter NSFW and misinformation before ranking", "ml", "Trust & safety"),
            ),
        ],
    )
    services.section_update(
        project=project,
        user=user,
        section="goal",
        values={
            "statement": "Maximise engagement with the feed while minimising the spread of "
            "extreme views and misinformation.",
            "multi_objective_strategy": "separate_models",
            "multi_objective_rationale": "Separate models let α and β change without retraining, "
            "and spam/misinformation filters must be updated far more often than quality ranking.",
        },
    )
    nsfw = add(
        Objective,
        title="Filter NSFW content",
        kind="filter",
        label_scenario="labelled",
        label_source="Moderator decisions",
        update_cadence="weekly",
        owner="Trust & safety",
    )
    misinfo = add(
        Objective,
        title="Filter misinformation",
        kind="filter",
        label_scenario="unlabelled",
        label_source="Fact-check partners label a sample",
        update_cadence="daily",
        owner="Trust & safety",
    )
    quality = add(
        Objective,
        title="Rank posts by quality",
        kind="rank",
        loss_function="quality_loss = predicted − actual quality",
        label_scenario="proxy",
        label_source="Editor ratings on a sample",
        update_cadence="quarterly",
        owner="Feed team",
        weight=0.6,
    )
    engage = add(
        Objective,
        title="Rank posts by engagement",
        kind="rank",
        loss_function="engagement_loss = predicted − actual clicks",
        label_scenario="labelled",
        label_source="Click logs",
        update_cadence="monthly",
        owner="Feed team",
        weight=0.4,
    )
    time_spent = add(Metric, name="Daily time in feed", kind="business", unit="min")
    reports = add(
        Metric, name="Reports per 1k views", kind="guardrail", direction="lower", target=0.5
    )
    add(Metric, name="NSFW recall", kind="model", objective=nsfw, parent=time_spent, target=0.98)
    add(Metric, name="Misinformation precision", kind="model", objective=misinfo)
    add(Metric, name="Quality NDCG", kind="model", objective=quality, parent=time_spent)
    add(Metric, name="Click AUC", kind="model", objective=engage, parent=time_spent)
    add(WatchedMetric, metric=reports, alert_when="above", threshold=0.8)


def _fraud(project: Project, user: User) -> None:
    def add(model, **values):
        return services.item_create(project=project, user=user, model=model, values=values)

    def section(name, **values):
        services.section_update(project=project, user=user, section=name, values=values)

    _problem_story(
        project,
        add,
        section,
        phenomenon={
            "what": "Chargebacks doubled this quarter.",
            "since": "This quarter (since April)",
            "evidence": "Chargebacks 0.4% → 0.8% of card payments.",
            "difficulties": "Fraud is confirmed only when a chargeback arrives, weeks later; "
            "reviewers see 2,000 payments a day and can check about 1%.",
            "worth_solving": "Catch fraudulent payments before they are paid out, without "
            "blocking good customers.",
        },
        hypotheses=[
            (
                "A new card-testing ring targets small online payments.",
                "supported",
                "Chargebacks on payments under €20 rose sixfold.",
            ),
            (
                "The fixed rules are easy to get around.",
                "supported",
                "70% of charged-back payments passed every rule.",
            ),
        ],
        problem={
            "statement": "Fraudulent payments get past the fixed rules and are paid out "
            "before anyone reviews them.",
            "for_whom": "The risk team, and the card holders whose accounts are abused.",
            "success_means": "Fraud losses halve with the review team's size unchanged.",
            "what_to_know": "Which payments are likely fraud, in time to review them.",
            "ship_now": "Tighter rules on small online payments from new devices.",
            "build_in_parallel": "A model that ranks payments for the review queue.",
        },
        causes=[
            (
                "Rules miss new fraud patterns",
                "data_check",
                "70% of charged-back payments passed every rule.",
                ("Score every payment with a model, review the top 1%", "ml", "Risk team"),
            ),
            (
                "Reviews happen after payout",
                "interviews",
                "Reviewers said they see flagged payments the next morning.",
                ("Hold flagged payments until reviewed", "process_change", "Operations"),
            ),
        ],
    )
    services.section_update(
        project=project,
        user=user,
        section="goal",
        values={"statement": "Stop fraudulent transactions before they are paid out."},
    )
    objective = add(
        Objective,
        title="Flag likely fraudulent transactions",
        kind="classify",
        loss_function="weighted log-loss",
        label_scenario="proxy",
        label_source="Chargebacks as proxy labels for fraud (arrive weeks later; some fraud is "
        "never charged back).",
        update_cadence="weekly",
        owner="Risk team",
    )
    losses = add(Metric, name="Fraud losses", kind="business", direction="lower", unit="€")
    add(Metric, name="Recall at 1% review rate", kind="model", objective=objective, parent=losses)
    services.feasibility_update(
        project=project,
        user=user,
        criteria={
            "pattern": "yes",
            "objective": "yes",
            "complexity": "yes",
            "data": "yes",
            "repetition": "yes",
        },
        red_flags={"catastrophic_error": True},
        rationales={"catastrophic_error": "Blocking a legitimate large payment loses a customer."},
    )
    add(
        ProjectConstraint,
        kind="ethics",
        description="Blocking legitimate payments hurts good customers.",
        likelihood="medium",
        impact="high",
        mitigation="The model only sends transactions to human review; it never blocks.",
        owner="Risk team",
        status="mitigated",
        red_flag="catastrophic_error",
    )


RESTAURANT = "restaurant-revenue"
FRAUD = "fraud-detection"


def load_project_stories(orgs: DemoOrganizations) -> None:
    """The restaurant, the news feed and the fraud projects (the restaurant's review story
    is its own loader, after the A/B test has written its measured impact back)."""
    demo = orgs.demo
    restaurant = _ensure_project(
        org=demo,
        slug=RESTAURANT,
        name="Restaurant revenue decline",
        summary="Revenue fell three months in a row and total guests are down; first-time "
        "guests dropped most.",
        owner_email="member@example.com",
    )
    if _is_blank(restaurant):
        _restaurant(restaurant, User.objects.get(email="member@example.com"))
    news = _ensure_project(
        org=demo,
        slug="news-feed-ranking",
        name="Healthier news feed ranking",
        summary="Rank the feed for engagement without spreading NSFW content, extreme views or "
        "misinformation.",
        owner_email="admin@example.com",
    )
    if _is_blank(news):
        _news_feed(news, User.objects.get(email="admin@example.com"))
    fraud = _ensure_project(
        org=demo,
        slug=FRAUD,
        name="Card fraud detection",
        summary="Chargebacks doubled; flag fraud before payout using chargebacks as proxy labels.",
        owner_email="owner@example.com",
    )
    if _is_blank(fraud):
        _fraud(fraud, User.objects.get(email="owner@example.com"))


def load_other_company(orgs: DemoOrganizations) -> None:
    _ensure_project(
        org=orgs.other,
        slug="churn-forecast",
        name="Subscriber churn forecast",
        summary="Another organization's project: never visible to the demo organization.",
        owner_email="other@example.com",
    )


def restaurant_links(project: Project) -> tuple[Objective | None, Metric | None]:
    """The restaurant's recommender objective (the current cycle's ranking objective) and
    its revisit-rate business metric, if the story has them (for the runs and A/B test
    that other apps add to it)."""
    cycle = {"cycle__project": project, "cycle__number": project.cycle}
    objective = Objective.objects.filter(kind=ObjectiveKind.RANK, **cycle).order_by("id").first()
    revisit = (
        Metric.objects.filter(kind=MetricKind.BUSINESS, **cycle)
        .filter(name__icontains="visit")
        .order_by("id")
        .first()
    )
    return objective, revisit
