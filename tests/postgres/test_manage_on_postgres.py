"""Moving spaces on PostgreSQL (tests/hub/test_manage.py): the record renamed, the old name a redirect row,
a private space's redirect told only to its readers, the name taken back by a new space."""

from __future__ import annotations

from tests.hub import conftest as hub_fixtures
from tests.hub import test_manage as manage

# In the order they run there (pytest collects a module's tests in the order they are bound here).
hub_api = hub_fixtures.hub_api
original = manage.original
tokens = manage.tokens
test_a_moved_space_runs_under_its_new_name_with_everything_and_its_old_name_redirects = (
    manage.test_a_moved_space_runs_under_its_new_name_with_everything_and_its_old_name_redirects
)
test_a_private_space_old_name_tells_its_new_one_only_to_its_readers = (
    manage.test_a_private_space_old_name_tells_its_new_one_only_to_its_readers
)
