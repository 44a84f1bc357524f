"""One recipe per sdk: how a space of that sdk is built and started, in one small object.

A recipe says which environment the space needs (`kind`), the port and app file it has unless its
README says otherwise, how its command line and variables look for one start, the path that answers
once it is ready, and whether it takes the URL prefix it is served under itself (Gradio's
GRADIO_ROOT_PATH, Streamlit's baseUrlPath) or needs the proxy to strip it. The plan, the backends, the
supervisor and `podium run` ask the recipe instead of comparing sdk names. A new sdk is a new recipe.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar, Literal

Kind = Literal["python", "static", "docker"]
"""What a space is built into: a Python environment (uv), nothing (files served as they are), its own image."""


@dataclass(frozen=True)
class Command:
    """The sdk's part of one start: what to run in the app folder, its variables, its health URL path."""

    argv: tuple[str, ...]
    env: dict[str, str] = field(default_factory=dict)
    health_path: str = "/"


class Recipe:
    sdk: ClassVar[str]
    kind: ClassVar[Kind]
    port: ClassVar[int]  # the port the app listens on when the README names no app_port
    app_file: ClassVar[str]  # the file the space runs when the README names no app_file
    accepts_root_path: ClassVar[bool] = True
    cross_site_cookies: ClassVar[frozenset[str]] = frozenset()  # cookies the app sets for its own host only

    def command(self, app_file: str, host: str, port: int, root: str) -> Command:
        """How the app starts listening on `host`:`port` and serving under `root` ("" or "/a/b")."""
        raise NotImplementedError


class Gradio(Recipe):
    sdk, kind, port, app_file = "gradio", "python", 7860, "app.py"

    def command(self, app_file: str, host: str, port: int, root: str) -> Command:
        env = {"GRADIO_SERVER_NAME": host, "GRADIO_SERVER_PORT": str(port)}
        if root:
            env["GRADIO_ROOT_PATH"] = root
        return Command(("python", app_file), env, f"{root}/")


class Streamlit(Recipe):
    sdk, kind, port, app_file = "streamlit", "python", 8501, "app.py"
    # Streamlit's XSRF protection and CORS check stay on (its defaults): its upload endpoint wants the
    # `_streamlit_xsrf` cookie echoed in a header, which another site's page cannot read. The proxy
    # presents the app's own Origin on WebSockets, after its own check.
    cross_site_cookies = frozenset({"_streamlit_xsrf"})

    def command(self, app_file: str, host: str, port: int, root: str) -> Command:
        # fmt: off
        argv: tuple[str, ...] = (
            "python", "-m", "streamlit", "run", app_file,
            "--server.port", str(port), "--server.address", host,
            "--server.headless", "true",
            "--server.fileWatcherType", "none", "--browser.gatherUsageStats", "false",
        )
        # fmt: on
        if root:
            argv += ("--server.baseUrlPath", root.strip("/"))
        return Command(argv, {}, f"{root}/_stcore/health")


class Docker(Recipe):
    """The image's own CMD listens on the space's app_port; the proxy strips the prefix."""

    sdk, kind, port, app_file = "docker", "docker", 7860, "Dockerfile"
    accepts_root_path = False

    def command(self, app_file: str, host: str, port: int, root: str) -> Command:
        return Command(())


class Static(Recipe):
    """Files the platform serves itself: no process, no port."""

    sdk, kind, port, app_file = "static", "static", 0, "index.html"

    def command(self, app_file: str, host: str, port: int, root: str) -> Command:
        raise ValueError("static spaces are served as files; they have no process to launch")


RECIPES: dict[str, Recipe] = {recipe.sdk: recipe for recipe in (Gradio(), Streamlit(), Static(), Docker())}


def recipe_for(sdk: str) -> Recipe:
    try:
        return RECIPES[sdk]
    except KeyError:
        raise ValueError(f"no recipe for sdk {sdk!r}; Podium runs {', '.join(RECIPES)}") from None
