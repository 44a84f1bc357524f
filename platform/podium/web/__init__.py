"""Podium's web pages: server-rendered Jinja2 with a little JavaScript, nothing from a CDN.

The platform's FastAPI app includes `router`. Pages read through the same database, repositories and
supervisor as the API; changes go through the API itself (the session cookie plus a CSRF token)
or, where no route fits, through the API's own functions.
"""

from fastapi import APIRouter

from podium.web import create, pages, signin

router = APIRouter()
router.include_router(pages.router)
router.include_router(signin.router)
router.include_router(create.router)

__all__ = ["router"]
