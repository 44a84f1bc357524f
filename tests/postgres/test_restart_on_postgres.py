"""A restart of `podium serve` on PostgreSQL (tests/platform/test_podium_restart.py): running spaces are
re-adopted and every space comes back in its stage with its logs."""

from __future__ import annotations

from tests.platform import test_podium_restart as podium_restart

# In the order they run there (pytest collects a module's tests in the order they are bound here).
test_spaces_come_back_in_their_stage_with_their_logs_after_podium_serve_restarts = (
    podium_restart.test_spaces_come_back_in_their_stage_with_their_logs_after_podium_serve_restarts
)
