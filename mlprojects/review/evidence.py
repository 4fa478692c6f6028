"""What supports a proposal beyond the nine steps: the results of the project's
evaluations and the decisions of its A/B tests.

Those live in an app that depends on `mlprojects` (`evaluation`), so it registers an
evidence source here from its `AppConfig.ready()`. At submission every source is asked
for the project's evidence, which is frozen into the snapshot beside the steps: what a
stakeholder approves includes the numbers the team argued with, as they were then.

A source answers plain, JSON-ready entries, already readable:
`[{"title": str, "fields": [{"label": str, "value": str, "url"?: str}, ...]}, ...]`;
a field's optional `url` (a path of this site) makes its value a link in the document.
"""

from collections.abc import Callable
from dataclasses import dataclass

from mlprojects.lifecycle.models import Project

Collect = Callable[..., list[dict]]  # (project=) → entries


@dataclass(frozen=True)
class EvidenceSource:
    key: str
    title: str
    collect: Collect


_sources: dict[str, EvidenceSource] = {}


def register_evidence_source(*, key: str, title: str, collect: Collect) -> None:
    """Add a section of evidence to every proposal (registering a key again replaces it)."""
    _sources[key] = EvidenceSource(key=key, title=title, collect=collect)


def evidence_sources() -> list[EvidenceSource]:
    return list(_sources.values())


def collect_evidence(*, project: Project) -> dict[str, dict]:
    """`{key: {"title", "entries"}}` of every registered source, in registration order."""
    return {
        source.key: {"title": source.title, "entries": source.collect(project=project)}
        for source in _sources.values()
    }
