"""The seed's Uber case study (§2) as a demo business analysis. Idempotent: every part is
looked up by its natural key first, so running `load_demo` again duplicates nothing and
leaves edits made through the app alone."""

from datetime import date

from accounts.models import Organization, User
from mlprojects.analyses import services
from mlprojects.models import BusinessAnalysis, DataSource, Interview, Offering, OutputUse, UseCase

OFFERINGS = [
    ("Rides", "Get a car in minutes, anywhere in the city, with a price known up front."),
    ("Uber Eats", "Food and groceries from nearby restaurants and shops, delivered fast."),
    (
        "Earning",
        "Drivers and couriers earn on their own schedule, with pay-outs as often as daily.",
    ),
    (
        "Cities",
        "Public transit directions and tickets, bikes and scooters for the last mile.",
    ),
    (
        "Business",
        "Uber for Business: employee rides and meals with central billing and policies.",
    ),
]

# name, owning team, description, (trust, consistency, labels, continuity), notes
DATA_SOURCES = [
    (
        "Trip logs",
        "Marketplace",
        "Every requested, accepted, completed and cancelled trip with times, places and fare.",
        (5, 4, 4, 5),
        "The backbone of most models; schema versioned since 2016.",
    ),
    (
        "GPS traces",
        "Maps",
        "Driver and courier positions every few seconds while online.",
        (4, 3, 2, 5),
        "Noisy in dense downtowns and tunnels; no ground-truth road segments.",
    ),
    (
        "App events",
        "Rider & Eats apps",
        "Screens viewed, searches, taps and orders in the rider and Eats apps.",
        (4, 2, 3, 4),
        "Event names changed with each app redesign — join carefully across versions.",
    ),
    (
        "Restaurant menus",
        "Eats merchants",
        "Menus, items, prices and photos entered by restaurants.",
        (3, 2, 2, 4),
        "Entered by hand by each restaurant; categories are free text.",
    ),
    (
        "Ratings & reviews",
        "Community operations",
        "Star ratings and comments riders, eaters, drivers and couriers leave each other.",
        (3, 3, 4, 5),
        "Skewed towards 5 stars; a rating below 4.6 is already a signal.",
    ),
    (
        "Payments",
        "Payments",
        "Charges, refunds, chargebacks and payment methods.",
        (5, 5, 4, 5),
        "Chargebacks arrive weeks later: fraud labels lag by up to 90 days.",
    ),
    (
        "Driver documents",
        "Driver onboarding",
        "Licences, insurance and vehicle papers uploaded by new drivers, with review outcomes.",
        (4, 3, 5, 4),
        "Every document was reviewed by an agent: a large, well-labelled history.",
    ),
]

# name, sources, prediction, use, where/how, impact
USE_CASES = [
    (
        "ETA prediction shown to riders",
        ["Trip logs", "GPS traces"],
        "Minutes until the car arrives, and until the rider reaches the destination.",
        OutputUse.CUSTOMER_OTHER,
        "Shown on the request screen before the rider books, and live during the trip.",
        "Fewer cancellations after booking; trust in the app's promises.",
    ),
    (
        "Eats restaurant recommendations",
        ["App events", "Restaurant menus", "Ratings & reviews"],
        "Which restaurants and dishes an eater is likely to order now.",
        OutputUse.RECOMMENDATION,
        "The home feed of Uber Eats, ranked per eater and time of day.",
        "More first orders from new eaters; more variety for regulars.",
    ),
    (
        "Surge pricing",
        ["Trip logs", "App events"],
        "Demand and supply of rides per area for the next 15 minutes.",
        OutputUse.CUSTOMER_OTHER,
        "A price multiplier shown to riders; a heat map that draws drivers to busy areas.",
        "Shorter waits at peak times; more drivers online when they are needed.",
    ),
    (
        "Fraud detection on payments",
        ["Payments", "Trip logs"],
        "The probability that a payment is fraudulent (stolen card, fake account).",
        OutputUse.AUTOMATION,
        "Blocks or holds risky payments before the trip; agents review the grey zone.",
        "Lower chargeback losses; fewer payments reviewed by hand.",
    ),
    (
        "Document verification for driver onboarding",
        ["Driver documents"],
        "Whether an uploaded licence or insurance document is valid and matches the driver.",
        OutputUse.AUTOMATION,
        "Approves clear cases automatically; sends unclear ones to an agent.",
        "New drivers start days sooner; agents focus on the hard cases.",
    ),
]

# who, team, when, what was learned
INTERVIEWS = [
    (
        "Priya (data engineer)",
        "Maps",
        date(2026, 9, 14),
        "GPS traces are sampled every 4 s when the app is in front, every 30 s in the "
        "background. Map-matching fixes most downtown noise but not in tunnels.",
    ),
    (
        "Marco (risk analyst)",
        "Payments",
        date(2026, 9, 21),
        "Chargebacks arrive up to 90 days after the trip, so the last three months never "
        "have final fraud labels. Agents tag confirmed fraud in the case tool.",
    ),
    (
        "Lena (operations lead)",
        "Driver onboarding",
        date(2026, 10, 2),
        "Agents check about 40 documents an hour; 85% are clear approvals. Rejections "
        "come with a reason code — usable as labels.",
    ),
]


def load_uber_analysis(org: Organization) -> BusinessAnalysis:
    """Create (or complete) the Uber business analysis in `org`."""
    user = User.objects.filter(email="member@example.com").first()
    analysis = BusinessAnalysis.objects.filter(organization=org, slug="uber").first()
    if analysis is None:
        analysis = services.analysis_create(
            org=org,
            user=user,
            name="Uber",
            how_it_earns="A commission on every ride and delivery (plus booking and delivery "
            "fees), restaurant marketing, Uber One memberships, and invoiced Uber for "
            "Business accounts.",
            notes="From the lecture's case study: understand what the company offers and "
            "where its data comes from before picking a problem to solve.",
        )

    for name, value in OFFERINGS:
        if not Offering.objects.filter(analysis=analysis, name=name).exists():
            services.offering_create(analysis=analysis, user=user, name=name, value=value)

    sources = {}
    for name, team, description, ratings, notes in DATA_SOURCES:
        source = DataSource.objects.filter(organization=org, name=name).first()
        if source is None:
            trust, consistency, labels, continuity = ratings
            source = services.data_source_create(
                org=org,
                user=user,
                analysis=analysis,
                name=name,
                owning_team=team,
                description=description,
                trustworthiness=trust,
                consistency=consistency,
                label_quality=labels,
                continuity=continuity,
                notes=notes,
            )
        sources[name] = source

    for name, source_names, prediction, use, detail, impact in USE_CASES:
        if not UseCase.objects.filter(analysis=analysis, name=name).exists():
            services.use_case_create(
                analysis=analysis,
                user=user,
                name=name,
                data_sources=[sources[s] for s in source_names],
                prediction=prediction,
                output_use=use,
                output_detail=detail,
                expected_impact=impact,
            )

    for who, team, held_on, learned in INTERVIEWS:
        if not Interview.objects.filter(
            analysis=analysis, interviewee=who, held_on=held_on
        ).exists():
            services.interview_create(
                analysis=analysis,
                user=user,
                interviewee=who,
                team=team,
                held_on=held_on,
                learned=learned,
            )
    return analysis
