"""One recipe per sdk: how a space of that sdk is built and started, in one small object.

A recipe says which environment the space needs (`kind`), the backends that run it, the port and app
file it has unless its README says otherwise, how its command line and variables look for one start,
the path that answers once it is ready, whether it takes the URL prefix it is served under itself
(Gradio's GRADIO_ROOT_PATH, Streamlit's baseUrlPath) or needs the proxy to strip it, and how its page is
embedded. The plan, the backends, the supervisor, `podium run` and the pages ask the recipe instead of
comparing sdk names or kinds. A new sdk is a new recipe.

A static space runs no code: the files backend (`podium_runner.files`) serves its checkout from the
caller's own process, as Hugging Face serves static spaces: RUNNING as soon as its commit lands, never
asleep, never paused (`always_on`). A sandboxed file server per site would hold a uid, a network
namespace, a /data volume, a cgroup and an interpreter for as long as the site is up, all to send files
Podium already has checked out.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar, Literal

Kind = Literal["python", "static", "docker"]
"""What a space is built into: a Python environment (uv), nothing (files served as they are), its own image."""

# The backends that run each kind, by `Backend.name`.
_BACKENDS: dict[Kind, frozenset[str]] = {
    "python": frozenset({"process", "docker", "ray"}),
    "docker": frozenset({"docker"}),
    "static": frozenset({"files"}),
}


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
    embed_query: ClassVar[str] = ""  # what its page's URL adds when embedded in another page
    # Why packages.txt does not apply to it, where it does not.
    packages_txt_refused: ClassVar[str] = ""

    @property
    def backends(self) -> frozenset[str]:
        """The backends (`Backend.name`) that build and run it."""
        return _BACKENDS[self.kind]

    def refused_by(self, backend: str) -> str | None:
        """Why the backend named `backend` cannot run a space of this sdk ("a docker space ..."), or None."""
        if backend in self.backends:
            return None
        needed = " or ".join(sorted(self.backends))
        return f"a {self.sdk} space (sdk: {self.sdk}), which needs the {needed} backend; run Podium with that backend"

    @property
    def always_on(self) -> bool:
        """It has no process to pause or put to sleep: it serves from its commit on (static spaces)."""
        return self.kind == "static"

    @property
    def builds(self) -> bool:
        """It has an environment or an image to build (which waits for a build slot)."""
        return self.kind != "static"

    @property
    def python_environment(self) -> bool:
        """Its requirements are installed into a Python environment (a uv one; on docker, a dependency image)."""
        return self.kind == "python"

    @property
    def own_dockerfile(self) -> bool:
        """Its image is built from the space's own Dockerfile (its app file)."""
        return self.kind == "docker"

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
    # Embedded, Streamlit hides its own menu and padding and sizes itself for the parent.
    embed_query = "embed=true"

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
    packages_txt_refused = "docker spaces install system packages in their own Dockerfile, not from packages.txt"

    def command(self, app_file: str, host: str, port: int, root: str) -> Command:
        return Command(())


class Static(Recipe):
    """Its checkout, served as files by the files backend at the root (the proxy strips the prefix)."""

    sdk, kind, port, app_file = "static", "static", 0, "index.html"
    accepts_root_path = False

    def command(self, app_file: str, host: str, port: int, root: str) -> Command:
        return Command(())  # no process: the files backend serves it


RECIPES: dict[str, Recipe] = {recipe.sdk: recipe for recipe in (Gradio(), Streamlit(), Static(), Docker())}


def recipe_for(sdk: str) -> Recipe:
    try:
        return RECIPES[sdk]
    except KeyError:
        raise ValueError(f"no recipe for sdk {sdk!r}; Podium runs {', '.join(RECIPES)}") from None
