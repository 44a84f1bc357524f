"""Moving models and datasets on PostgreSQL (tests/models/test_manage_models.py): the record renamed, the
old name a redirect row that follows the repository, a private one's told only to its readers, the name
taken back by a new model."""

from __future__ import annotations

from tests.hub import conftest as hub_fixtures
from tests.hub import git_fixtures
from tests.models import conftest as models_fixtures
from tests.models import test_manage_models as manage

# In the order they run there (pytest collects a module's tests in the order they are bound here).
hub_api = hub_fixtures.hub_api
git = git_fixtures.git
tokens = models_fixtures.tokens
test_a_moved_model_keeps_its_history_and_files_and_its_old_name_redirects = (
    manage.test_a_moved_model_keeps_its_history_and_files_and_its_old_name_redirects
)
test_a_private_model_old_name_tells_its_new_one_only_to_its_readers = (
    manage.test_a_private_model_old_name_tells_its_new_one_only_to_its_readers
)
