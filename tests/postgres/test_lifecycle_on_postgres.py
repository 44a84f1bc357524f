"""A Gradio space's life through Hugging Face's clients (tests/platform/test_gradio_space_lifecycle.py)
with PostgreSQL as Podium's database: upload, call, variables and secrets across a restart, pause, sleep
and wake, delete. One space, the steps in order, as there."""

from __future__ import annotations

from tests.platform import test_gradio_space_lifecycle as lifecycle

# In the order they run there (pytest collects a module's tests in the order they are bound here).
echo = lifecycle.echo
test_an_uploaded_space_runs_and_describes_itself = lifecycle.test_an_uploaded_space_runs_and_describes_itself
test_gradio_client_calls_a_function_and_a_generator_through_the_proxy = (
    lifecycle.test_gradio_client_calls_a_function_and_a_generator_through_the_proxy
)
test_variables_and_secrets_reach_the_app_after_a_restart_and_secrets_never_come_back = (
    lifecycle.test_variables_and_secrets_reach_the_app_after_a_restart_and_secrets_never_come_back
)
test_a_paused_space_stays_down_until_its_owner_restarts_it = (
    lifecycle.test_a_paused_space_stays_down_until_its_owner_restarts_it
)
test_a_space_sleeps_without_traffic_and_the_next_request_wakes_it = (
    lifecycle.test_a_space_sleeps_without_traffic_and_the_next_request_wakes_it
)
test_a_deleted_space_is_gone_everywhere = lifecycle.test_a_deleted_space_is_gone_everywhere
