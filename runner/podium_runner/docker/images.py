"""From a plan to a runnable image, tagged by content hash and built only when missing."""

from __future__ import annotations

import hashlib
import json
import subprocess
from dataclasses import dataclass
from pathlib import Path

import docker.errors

from podium_runner.backend import BuildError, LogSink
from podium_runner.docker import bases, dockerfile
from podium_runner.docker.build_cache import CacheIds
from podium_runner.docker.engine import Engine
from podium_runner.docker.host import HostPackageSettings
from podium_runner.plan import BuildPlan

DEPS_REPO = "podium-deps"
SPACE_REPO = "podium-space"
# Bump when the generated Dockerfiles change meaning, so old images are not reused.
RECIPE_FORMAT = 1


def _hash(*parts: object) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:20]


@dataclass(frozen=True)
class BuiltImage:
    tag: str
    reused: bool
    deps_tag: str | None = None
    deps_reused: bool = False


class ImageBuilder:
    def __init__(
        self,
        engine: Engine,
        *,
        base_image: str,
        ml_base_image: str | None,
        host: HostPackageSettings,
        uv_bin: Path,
        cache_ids: CacheIds,
        buildkit: bool | None = None,
    ):
        self.engine = engine
        self.cache_ids = cache_ids
        self.base_image = base_image
        self.ml_base_image = ml_base_image
        self.host = host
        self.uv_bin = uv_bin
        # The uv copied into each image is part of what a dependency image is made with.
        version = subprocess.run([str(uv_bin), "--version"], capture_output=True, text=True)
        self.uv_version = version.stdout.strip()
        self._buildkit = buildkit

    @property
    def buildkit(self) -> bool:
        if self._buildkit is None:
            self._buildkit = self.engine.supports_buildkit()
        return self._buildkit

    def _image_id(self, name: str) -> str | None:
        try:
            return self.engine.client.images.get(name).id
        except docker.errors.ImageNotFound:
            return None

    def pick_base(self, plan: BuildPlan) -> tuple[str, bool]:
        """The base image for a python plan, and whether it is the ml base."""
        assert plan.deps is not None
        if self.ml_base_image:
            try:
                labels = self.engine.client.images.get(self.ml_base_image).labels or {}
            except docker.errors.ImageNotFound:
                labels = {}
            torch, python = labels.get(bases.ML_TORCH_LABEL), labels.get(bases.ML_PYTHON_LABEL)
            if torch and python and bases.wants_ml_base(plan.deps, torch, python):
                return self.ml_base_image, True
        return bases.base_for(self.base_image, plan.deps), False

    def build(self, plan: BuildPlan, log: LogSink, *, rebuild: bool = False, space_id: str | None = None) -> BuiltImage:
        """The app image for `plan`, building the dependency image first when it is missing. Its uv cache
        is that of `space_id`'s owner (build_cache.py), so dependency images are per owner too."""
        what = plan.space_root.name
        if plan.recipe.own_dockerfile:
            owner_cache = self.cache_ids.for_space(space_id)  # per owner, as dependency images are
            tag = f"{SPACE_REPO}:{_hash(RECIPE_FORMAT, 'docker', plan.code_hash, plan.app_file, owner_cache)}"
            if not rebuild and self.engine.image_exists(tag):
                log(f"image {tag} exists; reusing it")
                return BuiltImage(tag, reused=True)
            log(f"building the space's own {plan.app_file} as {tag}")
            self.engine.build(
                dockerfile.space_dockerfile_context(plan, owner_cache),
                tag,
                log,
                buildkit=self.buildkit,
                what=what,
                dockerfile=plan.app_file,
            )
            return BuiltImage(tag, reused=False)
        if plan.deps is None:
            raise BuildError(f"{what}: the docker backend builds no image for {plan.sdk} spaces")
        deps_tag, deps_reused = self._dependency_image(plan, log, rebuild, self.cache_ids.for_space(space_id))
        app_recipe = dockerfile.app_dockerfile(plan, deps_tag)
        tag = f"{SPACE_REPO}:{_hash(RECIPE_FORMAT, app_recipe, plan.code_hash)}"
        if not rebuild and self.engine.image_exists(tag):
            log(f"image {tag} exists; reusing it")
            return BuiltImage(tag, reused=True, deps_tag=deps_tag, deps_reused=True)
        log(f"adding the app's code on top of {deps_tag} as {tag}")
        context = dockerfile.app_context(plan, app_recipe)
        self.engine.build(context, tag, log, buildkit=self.buildkit, what=what)
        return BuiltImage(tag, reused=False, deps_tag=deps_tag, deps_reused=deps_reused)

    def _dependency_image(self, plan: BuildPlan, log: LogSink, rebuild: bool, cache_id: str) -> tuple[str, bool]:
        assert plan.deps is not None
        base, ml = self.pick_base(plan)
        recipe = dockerfile.dependency_dockerfile(
            plan, base, self.host, buildkit=self.buildkit, cache_id=cache_id, ml_base=ml
        )
        # The base's id joins the hash, so a re-bootstrapped base makes new dependency images; the
        # owner's cache id too, with BuildKit or without: what one owner's build code made is never
        # another owner's image (process/owners.py says why).
        key = _hash(
            RECIPE_FORMAT,
            recipe,
            self._image_id(base) or base,
            plan.deps.local_files,
            self.host.fingerprint,
            self.uv_version,
            cache_id,
        )
        tag = f"{DEPS_REPO}:{key}"
        if not rebuild and self.engine.image_exists(tag):
            log(f"dependency image {tag} exists; reusing it (only the app's code is added)")
            return tag, True
        for setting in self.host.left_out:
            log(f"note: the host's pip setting {setting} is on the host's disk; Docker builds go without it")
        log(f"building the dependency image {tag} from {base}" + (" (the ml base)" if ml else ""))
        context = dockerfile.dependency_context(plan, recipe, self.host, self.uv_bin)
        self.engine.build(context, tag, log, buildkit=self.buildkit, what=plan.space_root.name)
        return tag, False
