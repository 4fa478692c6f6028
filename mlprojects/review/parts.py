"""Parts of a proposal that a higher layer adds (the prototype's feedback of `evaluation`),
kept apart from the lifecycle's own steps.

An app registers a part from its `AppConfig.ready()`: `collect(project=…, cycle=…)` returns
plain JSON data. At submission each part is frozen into the snapshot under
`snapshot["parts"][key] = {"step", "title", "data"}`, self-describing, so an old proposal
reads back the same even if the registry changes. Parts are not part of `steps`, so they
never make an approved proposal stale."""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from mlprojects.lifecycle.models import Project, ProjectCycle


@dataclass(frozen=True)
class ProposalPart:
    key: str
    step: str
    title: str
    collect: Callable[..., dict[str, Any]]


_parts: dict[str, ProposalPart] = {}


def register_proposal_part(
    *, key: str, step: str, title: str, collect: Callable[..., dict[str, Any]]
) -> None:
    _parts[key] = ProposalPart(key=key, step=step, title=title, collect=collect)


def collect_proposal_parts(*, project: Project, cycle: ProjectCycle) -> dict[str, dict]:
    """Every registered part's data, as stored in a proposal snapshot."""
    return {
        part.key: {
            "step": part.step,
            "title": part.title,
            "data": part.collect(project=project, cycle=cycle),
        }
        for part in _parts.values()
    }


def snapshot_parts(snapshot: dict, step: str) -> list[tuple[str, dict]]:
    """(title, data) of the parts a snapshot holds for `step`, in stored order."""
    return [
        (part["title"], part["data"])
        for part in snapshot.get("parts", {}).values()
        if part.get("step") == step and part.get("data")
    ]
