"""Gradio's Spaces reload server must not listen on the host.

With `SYSTEM=spaces` (which Podium sets, as Hugging Face does) Gradio starts the `spaces` package's
hot-reload server, which every Gradio space gets (podium_runner.sdk_extras). It listens on 0.0.0.0:7887,
hard-coded, and replaces the app's code for anyone who sends some: no authentication. Inside an app's own
network namespace nobody else reaches it. An app that shares the host's network (no slirp4netns, or the
sandbox off) would put it on every interface of the host, so while such apps run the process backend
listens on 127.0.0.1:7887 itself and never accepts: Linux then refuses the wildcard bind, the reload
server stops with one line in the app's log, and the app runs on.
"""

from __future__ import annotations

import logging
import socket

RELOAD_PORT = 7887

log = logging.getLogger("podium_runner")


def hold_reload_port() -> socket.socket | None:
    """Listen on 127.0.0.1:7887 so that no app's reload server can listen on the host; None when something
    else holds the port already (another Podium's hold, or a reload server started before: said in the log)."""
    holder = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        holder.bind(("127.0.0.1", RELOAD_PORT))
        holder.listen(1)
    except OSError as exc:
        holder.close()
        log.warning(
            "port %d is taken (%s): if it is a Gradio Spaces reload server (spaces package), it accepts code "
            "from anyone who reaches it; stop it",
            RELOAD_PORT,
            exc.strerror,
        )
        return None
    return holder
