"""Layers point down — evaluation → mlprojects → accounts — also where import-linter
can't see: templates (`{% load %}`, `{% url %}`, `{% include %}`/`{% extends %}`), URL
names in Python strings (`reverse("abtests:detail")`) and reverse relations
(`project.abtests`). The import contracts themselves (pyproject.toml) run here too, so
the suite fails on a violation."""

import re
import subprocess
import sys
from functools import cache
from pathlib import Path

import pytest
from django.apps import apps
from django.template.backends.django import get_installed_libraries
from django.urls import URLResolver, get_resolver

ROOT = Path(__file__).resolve().parent.parent
TEMPLATES = ROOT / "templates"
RANK = {"accounts": 0, "mlprojects": 1, "evaluation": 2}
# Pages of the site as a whole (_base.html, error pages, includes/) belong to mlprojects.
SITE_TEMPLATE_APP = "mlprojects"
# The site's own pages (the landing redirect `home`, the health check) are for every app.
SITE_VIEWS = "mlprojects.site."
# The composition root may name every app.
COMPOSITION_ROOT = ("mlprojects/settings/", "mlprojects/urls.py", "mlprojects/celery.py")

LOAD = re.compile(r"{%\s*load\s+([^%]+?)\s*%}")
URL = re.compile(r"""{%\s*url\s+['"]([\w-]+(?::[\w-]+)?)['"]""")
TEMPLATE_REF = re.compile(r"""{%\s*(?:include|extends)\s+['"]([^'"]+)['"]""")
PY_URL_NAME = re.compile(r"""['"]([a-z_]+):[\w-]+['"]""")


def _view_app(callback) -> str | None:
    module = getattr(getattr(callback, "view_class", callback), "__module__", "")
    if module.startswith(SITE_VIEWS):
        return None
    top = module.split(".")[0]
    return top if top in RANK else None


@cache
def _url_owners() -> tuple[dict[str, str], dict[str, str]]:
    """{namespace: app} and {URL name outside a namespace: app}, from the views the root
    URLconf routes to (django's own views, such as the password reset, are ignored)."""
    namespaces: dict[str, str] = {}
    names: dict[str, str] = {}

    def walk(resolver: URLResolver, namespace: str | None) -> None:
        for pattern in resolver.url_patterns:
            if isinstance(pattern, URLResolver):
                walk(pattern, pattern.namespace or namespace)
                continue
            app = _view_app(pattern.callback)
            if app is None:
                continue
            if namespace:
                assert namespaces.setdefault(namespace, app) == app, namespace
            elif pattern.name:
                names[pattern.name] = app

    walk(get_resolver(), None)
    return namespaces, names


def _library_owners() -> dict[str, str]:
    return {
        name: module.split(".")[0]
        for name, module in get_installed_libraries().items()
        if module.split(".")[0] in RANK
    }


def _template_app(path: Path) -> str:
    first = path.relative_to(TEMPLATES).parts[0]
    return first if first in RANK else SITE_TEMPLATE_APP


def _lower_templates() -> list[Path]:
    return sorted(
        path
        for path in TEMPLATES.rglob("*")
        if path.is_file() and RANK[_template_app(path)] < RANK["evaluation"]
    )


def template_violations(path: Path, text: str) -> list[str]:
    """What `text` (the template at `path`) names of an app above its own."""
    app = _template_app(path)
    namespaces, names = _url_owners()
    libraries = _library_owners()
    found = []

    def check(kind: str, what: str, owner: str | None) -> None:
        if owner is not None and RANK[owner] > RANK[app]:
            found.append(f"{path.relative_to(ROOT)}: {kind} {what} of {owner} (in {app})")

    for match in LOAD.finditer(text):
        for library in match.group(1).split():
            check("{% load %}", library, libraries.get(library))
    for match in URL.finditer(text):
        name = match.group(1)
        namespace, _, _ = name.rpartition(":")
        check("{% url %}", name, namespaces.get(namespace) if namespace else names.get(name))
    for match in TEMPLATE_REF.finditer(text):
        first = match.group(1).split("/")[0]
        check("{% include/extends %}", match.group(1), first if first in RANK else None)
    return found


def test_the_template_check_sees_loads_urls_and_includes_of_a_higher_app():
    path = TEMPLATES / "mlprojects" / "lifecycle" / "example.html"
    text = (
        "{% load partials abtests %}"
        "<a href=\"{% url 'runs:list' org.slug project.slug %}\"></a>"
        '{% include "evaluation/abtests/_project_section.html" %}'
        "<a href=\"{% url 'mlprojects:dashboard' org.slug %}\"></a>"
    )
    found = template_violations(path, text)
    assert len(found) == 3
    assert "{% load %} abtests of evaluation" in found[0]
    assert "{% url %} runs:list of evaluation" in found[1]
    assert "evaluation/abtests/_project_section.html of evaluation" in found[2]
    accounts = TEMPLATES / "accounts" / "example.html"
    assert template_violations(accounts, "{% url 'mlprojects:dashboard' org.slug %}")


@pytest.mark.parametrize("path", _lower_templates(), ids=lambda p: str(p.relative_to(TEMPLATES)))
def test_templates_name_nothing_of_a_higher_app(path: Path):
    assert template_violations(path, path.read_text()) == []


def test_lower_apps_python_names_no_url_of_a_higher_app():
    namespaces, _ = _url_owners()
    found = []
    for app in ("accounts", "mlprojects"):
        for path in sorted((ROOT / app).rglob("*.py")):
            relative = str(path.relative_to(ROOT))
            if relative.startswith(COMPOSITION_ROOT) or "/migrations/" in relative:
                continue
            for match in PY_URL_NAME.finditer(path.read_text()):
                owner = namespaces.get(match.group(1))
                if owner is not None and RANK[owner] > RANK[app]:
                    found.append(f"{relative}: {match.group(0)} of {owner}")
    assert found == []


def _reverse_relations_from_above() -> dict[str, set[str]]:
    """{app: the names by which its models reach a higher app's models} — reverse
    accessors and query names such as `project.abtests` or `abtests__pk`."""
    found: dict[str, set[str]] = {app: set() for app in RANK}
    for model in apps.get_models():
        app = model._meta.app_label
        for field in model._meta.get_fields():
            if not (field.is_relation and field.concrete and field.related_model is not None):
                continue
            target = field.related_model._meta.app_label
            if app in RANK and target in RANK and RANK[target] < RANK[app]:
                if not (field.remote_field.related_name or "").endswith("+"):
                    found[target] |= {
                        field.remote_field.get_accessor_name(),
                        field.related_query_name(),
                    }
    return found


def _lower_app_sources(app: str) -> list[Path]:
    paths = [p for p in sorted((ROOT / app).rglob("*.py")) if "/migrations/" not in str(p)]
    paths = [p for p in paths if not str(p.relative_to(ROOT)).startswith(COMPOSITION_ROOT)]
    return paths + [p for p in _lower_templates() if _template_app(p) == app]


def test_lower_apps_follow_no_reverse_relation_of_a_higher_app():
    relations = _reverse_relations_from_above()
    found = []
    for app in ("accounts", "mlprojects"):
        if not relations[app]:
            continue
        names = "|".join(sorted(relations[app]))
        use = re.compile(rf"""\.({names})\b|\b({names})__|['"]({names})['"]""")
        for path in _lower_app_sources(app):
            for number, line in enumerate(path.read_text().splitlines(), start=1):
                if use.search(line):
                    found.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert found == []


def test_the_import_contracts_hold():
    lint_imports = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run(
        [str(lint_imports), "--no-cache", "--no-logo"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
