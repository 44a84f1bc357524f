"""tests/platform/test_supervisor_stories.py on PostgreSQL: every stage change of the supervisor's
stories (failed builds, sleep and wake, restarts that re-adopt instances, crashes during a switch)
written to and read back from PostgreSQL, against the fake backends (each story takes well under a
second)."""

from __future__ import annotations

import pytest

from tests.platform.test_supervisor_stories import (
    anyio_backend,
    story,
    test_a_crash_during_a_switch_leaves_the_new_revision_serving,
    test_a_crashing_revision_leaves_the_old_one_serving,
    test_a_failed_build_leaves_the_old_revision_serving,
    test_a_restart_during_a_switch_deploys_the_latest_revision_again,
    test_a_restart_re_adopts_running_instances_and_stops_orphans,
    test_a_space_asleep_behind_a_failure_wakes_behind_it,
    test_an_idle_space_sleeps_and_the_next_visit_wakes_it,
)

pytestmark = pytest.mark.anyio
__all__ = [
    "anyio_backend",
    "story",
    "test_a_crash_during_a_switch_leaves_the_new_revision_serving",
    "test_a_crashing_revision_leaves_the_old_one_serving",
    "test_a_failed_build_leaves_the_old_revision_serving",
    "test_a_restart_during_a_switch_deploys_the_latest_revision_again",
    "test_a_restart_re_adopts_running_instances_and_stops_orphans",
    "test_a_space_asleep_behind_a_failure_wakes_behind_it",
    "test_an_idle_space_sleeps_and_the_next_visit_wakes_it",
]


def test_the_stories_run_on_postgresql(database_url: str) -> None:
    from podium.settings import Settings

    assert Settings().db_url == database_url and database_url.startswith("postgresql+psycopg://")
