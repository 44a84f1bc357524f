"""Starting one app: its command line (sandbox, network plumbing, cgroups), its process and what is kept of it."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import time
from dataclasses import replace
from pathlib import Path

from podium_runner.backend import Environment, LogSink, StartError
from podium_runner.plan import BuildPlan, RunContext
from podium_runner.process import procs, seccomp
from podium_runner.process.app_environment import Handover
from podium_runner.process.cgroups import CgroupSet, Limits
from podium_runner.process.ended import release, remove_run
from podium_runner.process.instance_state import SANDBOX_FOLDER, ProcessDetails
from podium_runner.process.logfile import last_lines
from podium_runner.process.network import INSIDE_HOST, AppNetwork
from podium_runner.process.platform_door import inside, open_door
from podium_runner.process.sandbox import APP_DIR, ROOT_ENVIRONMENT, Sandbox, system_tool
from podium_runner.process.user_namespace import entered
from podium_runner.process.warm_starter import WarmHandoff

# Host variables an app may need that say nothing about the host's user (certificates, locale, where
# the GPU driver's libraries are).
_PASSED_THROUGH = (
    "LANG",
    "LC_ALL",
    "TZ",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "REQUESTS_CA_BUNDLE",
    "LD_LIBRARY_PATH",
)


def _link_copy(source: Path, target: Path) -> Path:
    """`source` as a tree of hardlinks (a copy across filesystems) in folders of mode 0755: the space's
    own folders may be private to its owner (0700), which the app's uid could not enter."""

    def link(src: str, dst: str) -> None:
        try:
            os.link(src, dst)
        except OSError:
            shutil.copy2(src, dst)

    shutil.copytree(source, target, copy_function=link, ignore=shutil.ignore_patterns(".git"), symlinks=True)
    for folder in [target, *(p for p in target.rglob("*") if p.is_dir() and not p.is_symlink())]:
        folder.chmod(0o755)
    return target


async def launch_app(
    plan: BuildPlan,
    env: Environment,
    ctx: RunContext,
    log: LogSink,
    run_dir: Path,
    *,
    data_dir: Path | None,
    uid: int | None,
    network_isolated: bool,
    kernel_filtered: bool,
    outlive_caller: bool,
    limits: Limits | None,
    warm: WarmHandoff | None = None,
) -> tuple[subprocess.Popen[bytes], ProcessDetails]:
    """Start the app of `plan`, its log in `run_dir` (which exists, named after the instance). `data_dir`, the
    folder bound at its /data, and `uid`, the app's, are given when it runs sandboxed, None when it runs as
    a plain child process; the other flags are the backend's. With `warm` (sandboxed, in a network of its
    own), the sandbox runs the warm start's holder, in the user namespace of the starter that forks the
    app into it (warm_starter.py)."""
    sandboxed = data_dir is not None
    launch = plan.launch(replace(ctx, host=INSIDE_HOST, platform=inside(ctx.platform)) if network_isolated else ctx)
    env_dir = Path(env.location)
    log_path = run_dir / "app.log"
    argv = [str(env_dir / "bin" / "python"), *launch.argv[1:]] if launch.argv[0] == "python" else list(launch.argv)
    variables = {key: os.environ[key] for key in _PASSED_THROUGH if key in os.environ}
    network = AppNetwork(run_dir, ctx.host, ctx.port) if network_isolated else None
    handover = None
    kernel_filter = None
    if data_dir is not None:
        assert uid is not None
        scratch = run_dir / SANDBOX_FOLDER
        kernel_filter = seccomp.program_fd() if kernel_filtered else None
        sandbox = Sandbox(
            env_dir,
            await asyncio.to_thread(_link_copy, plan.space_root, scratch / "app"),
            data_dir,
            scratch,
            uid,
            ctx.model_cache,
            die_with_parent=not outlive_caller,
            gpu_ids=ctx.gpu_ids,
            seccomp_fd=kernel_filter,
            network_args=tuple(network.bwrap_args()) if network else (),
            as_pid_1=warm is not None,
        )
        sandbox.prepare()
        # The space's variables reach the app alone, after privileges dropped (app_environment.py);
        # the root-run processes before it get a fixed environment.
        handover = Handover(variables | sandbox.environment() | launch.env | sandbox.gpu_environment())
        inner = warm.holder_argv() if warm is not None else handover.argv(str(env_dir / "bin" / "python"), argv)
        argv, cwd = sandbox.wrap(inner), "/"
        if warm is not None:
            argv = entered(argv, warm.starter.userns_fd)
        variables = ROOT_ENVIRONMENT
    else:
        cwd = str(plan.space_root)
        variables |= {
            "PATH": f"{env_dir}/bin:{os.environ.get('PATH', '/usr/bin:/bin')}",
            "HOME": os.environ.get("HOME", "/tmp"),
        } | launch.env
        setpriv = system_tool("setpriv")  # not through the PATH above, which starts with the space's bin/
        if not outlive_caller and setpriv:
            argv = [setpriv, "--pdeathsig", "KILL", "--", *argv]
    cgroups = None
    if limits is not None:
        try:
            cgroups = CgroupSet.create(run_dir.name, limits)  # the instance's id
            argv = cgroups.join_argv(argv)
        except OSError as exc:
            log(f"WARNING: no resource limits for {ctx.space_id}: could not create its cgroups ({exc})")
    inherited = (
        *(network.child_fds if network else ()),
        *((handover.fd,) if handover and warm is None else ()),
        *((kernel_filter,) if kernel_filter is not None else ()),
        *(warm.child_fds if warm is not None else ()),
    )
    try:
        with log_path.open("ab") as out:  # appending: the app writes on at the end when the file rotates
            child = subprocess.Popen(
                argv,
                cwd=cwd,
                env=variables,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                pass_fds=inherited,
            )
    finally:
        if handover is not None and warm is None:
            handover.close()  # a warm start hands it to the starter once the sandbox is plumbed
        if kernel_filter is not None:
            os.close(kernel_filter)
        if warm is not None:
            warm.sandbox_started()
    details = ProcessDetails(
        pid=child.pid,
        start_ticks=procs.start_ticks(child.pid),
        port=ctx.port,
        host=ctx.host,
        log_path=log_path,
        env_key=env.key,
        sandboxed=sandboxed,
        cgroups=cgroups,
        started_at=time.time(),
    )
    if network is not None:
        try:
            await network.plumb(child.pid)
            if ctx.platform is not None and ctx.platform.socket:
                await open_door(network.namespace_pid, ctx.platform.socket, run_dir / "platform-door.log")
            if warm is not None and handover is not None and network.namespace_pid is not None:
                await warm.hand_over(network.namespace_pid, launch.argv, APP_DIR, log_path, handover.fd, cgroups)
        except (StartError, OSError, asyncio.CancelledError) as exc:
            # The app may run already. Cancelled too (a pause or a shutdown during the start): nobody would track it.
            procs.signal_all(procs.tree(child.pid), signal.SIGKILL)
            child.wait()
            said = "\n".join(last_lines(log_path, 20))  # bwrap's own message, if it stopped first
            release(details)
            remove_run(details)
            if isinstance(exc, asyncio.CancelledError):
                raise
            failure = type(exc) if isinstance(exc, StartError) else StartError
            raise failure(f"{ctx.space_id}: {exc}" + (f"\nThe sandbox said:\n{said}" if said else "")) from None
        finally:
            if warm is not None and handover is not None:
                handover.close()
        details = replace(details, network=network.saved())
    return child, details
