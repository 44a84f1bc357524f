"""Every page route, for the platform's app to include."""

from fastapi import APIRouter

from podium.web import cluster, create, pages, settings_forms, signin, tokens

router = APIRouter()
for module in (pages, signin, create, settings_forms, tokens, cluster):
    router.include_router(module.router)
