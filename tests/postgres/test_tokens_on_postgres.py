"""Tokens (tests/platform/test_tokens.py) with PostgreSQL as Podium's database: made, listed and revoked
on the pages, each role as huggingface_hub names it, last use recorded, bad requests refused."""

from __future__ import annotations

from tests.platform import test_tokens as tokens

# In the order they run there (pytest collects a module's tests in the order they are bound here).
test_huggingface_hub_sees_each_kind_of_token_as_the_hub_names_it = (
    tokens.test_huggingface_hub_sees_each_kind_of_token_as_the_hub_names_it
)
test_a_token_records_when_it_was_last_used = tokens.test_a_token_records_when_it_was_last_used
test_the_tokens_page_makes_shows_once_and_revokes_without_javascript = (
    tokens.test_the_tokens_page_makes_shows_once_and_revokes_without_javascript
)
test_a_malformed_token_request_is_a_clear_4xx = tokens.test_a_malformed_token_request_is_a_clear_4xx
