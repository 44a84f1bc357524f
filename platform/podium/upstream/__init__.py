"""A pull-through cache of an upstream Hub for the models and datasets Podium does not hold (issue 12 item 4):
`store` (where cached repositories live), `cache` (fetching from the upstream once), `middleware` (answering
the Hub's read routes for them), `routes` (an admin's pull and evict)."""
