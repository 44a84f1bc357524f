"""What Hugging Face installs into every space of an sdk besides the sdk itself, and why: one table.

Hugging Face's Gradio image installs `gradio[oauth]==<sdk_version>` and `spaces` after the space's own
requirements. Thousands of spaces rely on that without listing them, so Podium installs them too, in
the same step as the sdk (`DependencySet.sdk_step`). A package the space's requirements name itself
is left to the space's own pin: installing a second version over it could only break its resolution.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Extra:
    requirement: str
    why: str


SDK_EXTRAS: dict[str, tuple[Extra, ...]] = {
    "gradio": (
        Extra(
            "gradio[oauth]",
            "gr.LoginButton and gr.OAuthProfile need Gradio's oauth extra (authlib, itsdangerous); without it "
            "an app using them stops at start-up with Gradio's 'missing library ... gradio[oauth]'",
        ),
        Extra(
            "spaces==0.51.3",
            "ZeroGPU spaces do `import spaces` and decorate with @spaces.GPU, a no-op off ZeroGPU hardware; and "
            "with SYSTEM=spaces Gradio starts its Spaces hot-reload watcher, which needs this package (else one "
            "traceback at every start). Its reload server listens on 7887 inside the space's own network "
            "(sandbox namespace, or the docker network with inter-container traffic off), where no other "
            "space and no outside client reaches it; apps on the host's network find the port held "
            "(podium_runner/process/reload_port.py)",
        ),
    ),
}


def sdk_extras(sdk: str) -> tuple[Extra, ...]:
    """What Hugging Face installs with `sdk` besides the sdk itself (nothing for most sdks)."""
    return SDK_EXTRAS.get(sdk, ())
