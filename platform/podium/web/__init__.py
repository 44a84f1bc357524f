"""Podium's web pages: server-rendered Jinja2 with a little JavaScript, nothing from a CDN.

The platform's FastAPI app includes `podium.web.routes.router`. Pages read through the same database,
repositories and supervisor as the API, and make changes with the API's own functions: each form is
a plain HTML form that works without JavaScript, which podium.js may send to the API instead.
This package imports nothing itself, so the API can import its session checks (`access`) and the
pages the API's functions without an import cycle.
"""
