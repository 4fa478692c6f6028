"""Pages and API lists make as many database queries with 100 rows as with 1: no query
per row. The pages and the rows are bench/query_counts.py's, which bench/bench_load.py
prints on its database before the load."""

import importlib.util

import pytest

from tests.worker import BASE_DIR

pytestmark = pytest.mark.django_db

_spec = importlib.util.spec_from_file_location(
    "query_counts", BASE_DIR / "bench" / "query_counts.py"
)
query_counts = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(query_counts)


@pytest.mark.parametrize(
    ("name", "url", "add"), query_counts.PAGES, ids=[page[0] for page in query_counts.PAGES]
)
def test_queries_do_not_grow_with_rows(name, url, add):
    with_one, with_hundred = query_counts.measure_page(url, add)
    assert with_hundred == with_one, name
