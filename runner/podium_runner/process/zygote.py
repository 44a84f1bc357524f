"""The warm starter of one environment (a zygote, zygote.md): a program run with the environment's own Python
that imports the sdk and the environment's heavy libraries once, then forks each app of that environment
into the sandbox its cold start would have had.

It runs in a bubblewrap sandbox of its own (warm_starter.py): no network, its own mount tree holding only
/usr, the interpreter and the environment (read-only), no /proc, the backend's seccomp filter less `setns`
and `chroot` and refusing uid and gid 0, started as uid 0 of its owner's user namespace (user_namespace.py:
the owner's build uid outside it) with only the capabilities a start needs (CAP_SYS_ADMIN and CAP_SYS_CHROOT
to enter an app's namespaces, CAP_SETUID, CAP_SETGID and CAP_SETPCAP to become the app's uid), which count in
that namespace alone. Its first instructions, before any file of the environment is read (`python -I -S`),
keep only those capabilities; then it imports. It never reads a space's variables or secrets: they arrive
as a memfd only the app opens.

One start, over the SOCK_SEQPACKET socket it inherits (its number in the settings), one at a time: a JSON
spec and, by SCM_RIGHTS, the app's log, its variables (memfd), the holder's pipe, the cgroup.procs files of
its groups and the namespaces and root of its holder: a bubblewrap sandbox the backend made exactly as for a cold start,
whose first process (pid 1 of its pid namespace, as the space's uid) waits for the app (warm_starter.py).

    zygote ──fork──> C1: joins the app's cgroups, setns into the holder's net, uts, ipc, cgroup, pid and mount
                     namespaces, chroots into its root, forks C2 (inside the pid namespace), reaps it, exits
    C2: new session, drops every capability and becomes the space's uid, no-new-privs, the app's seccomp
        filter, forks C3, tells the holder C3's pid, exits: C3 is re-parented to the holder, not the zygote
    C3 (the app): the log as stdout and stderr, its variables from the memfd, nothing else open; the
        environment-reading constants of the imported modules computed again; runs the app's file or module

So an app never is the zygote's child once started, and a crash of the zygote takes no app down.
The zygote answers {"pid": C3's pid in its namespace} or {"error": ...}; C1 writes its own errors to the
app's log. Standard library only: it runs before the environment's site-packages are on the path.

The docker backend's seats (docker/seats.py) run the same imports and the same last step in a container made
for one app: there the program (`seat`) forks nothing and becomes the app itself, in the container's sandbox.
"""

import ast
import ctypes
import gc
import importlib.util
import json
import os
import re
import socket
import sys

_libc = ctypes.CDLL(None, use_errno=True)
_PR_CAPBSET_DROP, _PR_SET_KEEPCAPS, _PR_SET_NO_NEW_PRIVS, _PR_CAP_AMBIENT = 24, 8, 38, 47
_PR_CAP_AMBIENT_CLEAR_ALL = 4
_PR_SET_SECCOMP, _SECCOMP_MODE_FILTER = 22, 2
_PR_SET_DUMPABLE = 4
# CAP_SETGID, CAP_SETUID, CAP_SETPCAP, CAP_SYS_CHROOT, CAP_SYS_ADMIN
_KEPT_CAPABILITIES = (6, 7, 8, 18, 21)
_NAMESPACES = (  # (file, CLONE_NEW* flag), the mount namespace last: it hides the others' files
    ("net", 0x40000000),
    ("uts", 0x04000000),
    ("ipc", 0x08000000),
    ("cgroup", 0x02000000),
    ("pid", 0x20000000),
    ("mnt", 0x00020000),
)
_FD_ORDER = ("log", "variables", "holder", *(name for name, _ in _NAMESPACES), "root")


def _check(result: int, what: str) -> None:
    if result != 0:
        error = ctypes.get_errno()
        raise OSError(error, f"{what}: {os.strerror(error)}")


def _set_capabilities(capabilities: tuple[int, ...]) -> None:
    """Effective, permitted and inheritable sets to exactly `capabilities` (capset, version 3)."""

    class Header(ctypes.Structure):
        _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]

    class Data(ctypes.Structure):
        _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32), ("inheritable", ctypes.c_uint32)]

    mask = sum(1 << cap for cap in capabilities)
    data = (Data * 2)(Data(mask & 0xFFFFFFFF, mask & 0xFFFFFFFF, 0), Data(mask >> 32, mask >> 32, 0))
    _check(_libc.capset(ctypes.byref(Header(0x20080522, 0)), data), "capset")


def become_starter() -> None:
    """Uid 0 of the owner's user namespace (the build uid outside it) with the capabilities bubblewrap left
    -> the same uid with `_KEPT_CAPABILITIES` alone, no supplementary group, no-new-privs."""
    os.setgroups([])
    _set_capabilities(_KEPT_CAPABILITIES)
    _check(_libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "PR_SET_NO_NEW_PRIVS")


# `from a.b import (c, d as e)` at the start of a line: where a module may copy a name another one computed.
_IMPORT_FROM = re.compile(r"^from[ \t]+([.\w]+)[ \t]+import[ \t]+(\([^)]*\)|[^\n#]+)", re.MULTILINE)


def _environment_readers(prefixes: tuple[str, ...]) -> list[tuple[dict, object]]:
    """The module-level statements of the imported modules under `prefixes` that read the environment
    (`PORT = int(os.getenv(...))`), or a name such a statement set (`cache = os.path.join(HF_HOME, "hub")`,
    `from ..constants import HF_HUB_CACHE`), compiled, with the module's namespace, in import order: the
    app runs them again once its own variables are set, or it would see the zygote's (gradio's server port,
    huggingface_hub's HF_HOME, cache folder and offline switch, gradio's OAuth client). A module may copy a
    name from one imported after it, so the search goes on until it finds nothing new, and the app runs
    the statements twice. Only modules that read the environment or import such a name are parsed."""
    sources = []
    for module in list(sys.modules.values()):
        path = getattr(module, "__file__", None) or ""
        if path.endswith(".py") and path.startswith(prefixes):
            try:
                with open(path, encoding="utf-8") as source_file:
                    sources.append((module, path, source_file.read()))
            except OSError:
                continue
    imports = [_imported_names(module, source) for module, _path, source in sources]
    derived: dict[str, set[str]] = {}  # module name -> its names computed from the environment
    statements: dict[int, list[_Statement]] = {}  # import order -> the module's assignments and imports
    chosen: dict[tuple[int, int], tuple[dict, object]] = {}  # (import order, statement) -> what to run
    searching = True
    while searching:
        searching = False
        for order, (module, path, source) in enumerate(sources):
            if order not in statements:
                reads = "environ" in source or "getenv" in source
                if not reads and not any(name in derived.get(origin, ()) for origin, name in imports[order]):
                    continue
                statements[order] = _statements(module, source)
            names = derived.setdefault(module.__name__, set())
            for index, statement in enumerate(statements[order]):
                if (order, index) in chosen:
                    continue
                if statement.reads or _derives(statement, names, derived, vars(module)):
                    names.update(statement.binds)
                    code = compile(ast.Module(body=[statement.node], type_ignores=[]), path, "exec")
                    chosen[order, index] = (vars(module), code)
                    searching = True
    return [chosen[key] for key in sorted(chosen)]


class _Statement:
    """A module-level assignment or `from ... import`: what it binds, and what it computes from."""

    def __init__(self, node: ast.stmt, module) -> None:
        self.node = node
        self.copies: list[tuple[str, str]] = []  # (origin module, name) it imports
        self.reads = False  # calls os.getenv or reads os.environ itself
        self.uses: set[str] = set()  # the module's names its value reads
        self.binds: list[str] = []
        if isinstance(node, ast.ImportFrom):
            self.binds = [alias.asname or alias.name for alias in node.names]
            try:
                origin = importlib.util.resolve_name("." * node.level + (node.module or ""), module.__package__)
            except (ImportError, ValueError):
                return
            self.copies = [(origin, alias.name) for alias in node.names]
            return
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        parts = [part for target in targets for part in (target.elts if isinstance(target, ast.Tuple) else [target])]
        # `a.b[c] = ...` changes an object rather than naming a value: it binds nothing.
        if all(isinstance(part, ast.Name) for part in parts):
            self.binds = [part.id for part in parts]
        for part in ast.walk(node.value):
            if isinstance(part, ast.Name):
                self.uses.add(part.id)
                self.reads = self.reads or part.id in ("environ", "getenv")
            elif isinstance(part, ast.Attribute) and part.attr in ("environ", "getenv"):
                self.reads = True


def _derives(statement: _Statement, names: set[str], derived: dict[str, set[str]], namespace: dict) -> bool:
    """Whether the statement computes from a name computed from the environment, and is run again for it.
    What it computes must be a plain value (a path, a flag): an object (gradio's templates) may have been
    changed since it was made. A copy (`from ... import`) only takes what its origin holds now."""
    if statement.copies:
        return any(name in derived.get(origin, ()) for origin, name in statement.copies)
    return bool(statement.uses & names) and all(_plain(namespace.get(name)) for name in statement.binds)


_PLAIN = (str, bytes, int, float, bool, type(None))


def _plain(value: object) -> bool:
    """A value no later statement can have changed in place: a string, number, flag, path, or a tuple of them."""
    kind = type(value)  # not isinstance: that asks a deprecated object for its __class__, which warns
    if kind in (tuple, frozenset):
        return all(_plain(item) for item in value)
    return kind in _PLAIN or kind.__name__ == "PosixPath"


def _statements(module, source: str) -> list[_Statement]:
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    return [
        _Statement(node, module)
        for node in tree.body
        if isinstance(node, ast.ImportFrom) or (isinstance(node, (ast.Assign, ast.AnnAssign)) and node.value)
    ]


def _imported_names(module, source: str) -> list[tuple[str, str]]:
    """(origin module, name) of each `from ... import name` at the start of a line of `source`: a cheap
    look at which modules may copy a computed name, before parsing any."""
    found = []
    for origin, listed in _IMPORT_FROM.findall(source):
        try:
            origin = importlib.util.resolve_name(origin, module.__package__)
        except (ImportError, ValueError):
            continue
        for item in listed.strip("()").split(","):
            if name := item.split(" as ")[0].strip():
                found.append((origin, name))
    return found


def preload(modules: list[str]) -> list[str]:
    """Import what can be imported of `modules`; the names that could not be, with why."""
    skipped = []
    for name in modules:
        try:
            __import__(name)
        except BaseException as exc:  # noqa: BLE001 - a library failing at import is skipped, whatever it raises
            skipped.append(f"{name} ({type(exc).__name__}: {str(exc)[:120]})")
    return skipped


def _receive(sock: socket.socket) -> tuple[dict, dict[str, int], list[int]] | None:
    message, descriptors, _flags, _address = socket.recv_fds(sock, 1 << 20, 64)
    if not message:
        return None
    spec = json.loads(message)
    named = {name: descriptors[index] for index, name in enumerate(_FD_ORDER)}
    return spec, named, descriptors[len(_FD_ORDER) :]  # the rest: cgroup.procs files


def _enter(spec: dict, fds: dict[str, int], cgroup_procs: list[int], readers: list) -> None:
    """C1, then C2 and C3 (module docstring). Never returns."""
    step = "joining the app's cgroups"
    try:
        for procs in cgroup_procs:
            os.write(procs, b"0")  # "0": the writing process itself
            os.close(procs)
        for name, flag in _NAMESPACES:
            step = f"entering the app's {name} namespace"
            _check(_libc.setns(fds[name], flag), f"setns({name})")
        step = "entering the app's root"
        os.fchdir(fds["root"])
        os.chroot(".")
        step = "becoming the app's uid"
        child = os.fork()
        if child:
            _pid, status = os.waitpid(child, 0)
            os._exit(os.waitstatus_to_exitcode(status))
        _become_app(spec, fds, readers)
    except BaseException as exc:  # noqa: BLE001 - whatever stops it is said in the app's log
        os.write(fds["log"], f"podium: the warm start failed {step}: {exc!r}\n".encode())
        os._exit(70)


def _become_app(spec: dict, fds: dict[str, int], readers: list) -> None:
    """C2: the sandbox's last steps, then C3, the app."""
    os.setsid()
    uid = spec["uid"]
    last_cap = int(open("/proc/sys/kernel/cap_last_cap").read())
    for cap in range(last_cap + 1):
        _check(_libc.prctl(_PR_CAPBSET_DROP, cap, 0, 0, 0), "PR_CAPBSET_DROP")
    _check(_libc.prctl(_PR_SET_KEEPCAPS, 0, 0, 0, 0), "PR_SET_KEEPCAPS")
    os.setgroups([])
    os.setresgid(uid, uid, uid)
    os.setresuid(uid, uid, uid)
    _check(_libc.prctl(_PR_CAP_AMBIENT, _PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0), "PR_CAP_AMBIENT_CLEAR_ALL")
    _set_capabilities(())
    os.chdir(spec["cwd"])  # only now: the app's home (0700, its uid's) holds the app folder
    _check(_libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "PR_SET_NO_NEW_PRIVS")
    # set*id() made it non-dumpable, which makes /proc/self root's: an exec would have reset that.
    _check(_libc.prctl(_PR_SET_DUMPABLE, 1, 0, 0, 0), "PR_SET_DUMPABLE")
    program = bytes.fromhex(spec["seccomp"])

    class SockFprog(ctypes.Structure):
        _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_char_p)]

    _check(
        _libc.prctl(_PR_SET_SECCOMP, _SECCOMP_MODE_FILTER, ctypes.byref(SockFprog(len(program) // 8, program)), 0, 0),
        "seccomp",
    )
    app = os.fork()
    if app:
        os.write(fds["holder"], f"{app}\n".encode())
        os._exit(0)
    _run_app(spec, fds, readers)


def _run_app(spec: dict, fds: dict[str, int], readers: list) -> None:
    """C3: the app, with its own output and variables, and nothing of the zygote's open."""
    devnull = os.open("/dev/null", os.O_RDONLY)
    os.dup2(devnull, 0)
    os.dup2(fds["log"], 1)
    os.dup2(fds["log"], 2)
    variables = fds["variables"]
    os.lseek(variables, 0, os.SEEK_SET)
    data = b""
    while chunk := os.read(variables, 1 << 16):
        data += chunk
    os.closerange(3, 1 << 20)  # close_range(2): one call
    sys.stdout = open(1, "w", buffering=1, closefd=False)  # noqa: SIM115
    sys.stderr = open(2, "w", buffering=1, closefd=False)  # noqa: SIM115
    variables = dict(item.decode("utf-8", "surrogateescape").split("=", 1) for item in data.split(b"\0") if item)
    _run(spec["argv"], spec["cwd"], variables, readers)


def _run(argv: list[str], cwd: str, variables: dict[str, str], readers: list) -> None:
    """The app's file or module, with exactly `variables` as its environment, in this process. Never returns."""
    os.environ.clear()
    os.environ.update(variables)
    for namespace, code in readers * 2:  # twice: a module may copy a name from one imported after it
        try:
            exec(code, namespace)  # noqa: S102 - the module's own statement, compiled from its own file
        except Exception:  # noqa: BLE001, S112 - a constant that cannot be recomputed keeps the zygote's value
            continue
    if "numpy" in sys.modules:  # every child would otherwise draw the same numbers
        sys.modules["numpy"].random.seed()
    _without_gradio_reload_server()
    import runpy

    sys.path[0] = cwd
    try:
        if argv[0] == "-m":
            sys.argv = [argv[1], *argv[2:]]
            runpy.run_module(argv[1], run_name="__main__", alter_sys=True)
        else:
            sys.argv = list(argv)
            runpy.run_path(argv[0], run_name="__main__")
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        if not isinstance(exc.code, int) and exc.code is not None:
            print(exc.code, file=sys.stderr)
        sys.stdout.flush()
        os._exit(code)
    except BaseException:  # noqa: BLE001 - an app's crash is printed as Python would
        import traceback

        traceback.print_exc()
        sys.stderr.flush()
        os._exit(1)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


def _without_gradio_reload_server() -> None:
    """With SYSTEM=spaces Gradio starts the `spaces` package's hot-reload server beside every app (a thread, a
    second uvicorn server on 7887 that swaps the app's code for whoever posts some): the back end of Hugging
    Face's dev mode, which Podium does not have (a push starts a new revision). A warm app starts without it,
    6 MiB of private memory less per idle Gradio app (39 against 33 MiB, measured in a fork of a starter).
    Cold starts run `python app.py` and keep it, confined to the app's network namespace (reload_port.py)."""
    server = sys.modules.get("gradio.http_server")
    if server is not None and callable(getattr(server, "watchfn_spaces", None)):
        server.watchfn_spaces = lambda reloader: None


def serve(sock: socket.socket, readers: list) -> None:
    while True:
        received = _receive(sock)
        if received is None:
            return  # the backend closed its end: it stopped, or it replaces this starter
        spec, fds, cgroup_procs = received
        child = os.fork()
        if child == 0:
            sock.close()
            _enter(spec, fds, cgroup_procs, readers)
        for fd in (*fds.values(), *cgroup_procs):
            os.close(fd)
        _pid, status = os.waitpid(child, 0)
        code = os.waitstatus_to_exitcode(status)
        answer = {"started": True} if code == 0 else {"error": f"the warm start failed (exit code {code})"}
        sock.send(json.dumps(answer).encode())


def seat(settings: dict) -> None:
    """A docker seat (docker/seats.py): this container's first process, which imports, then waits for one app.
    The start comes down the FIFO `settings["fifo"]` as JSON: the app's argv, folder and variables, and the
    device and inode its /data must have (the space's volume, mounted from the host once the seat was taken)."""
    import site

    site.main()
    skipped = preload(settings["modules"])
    readers = _environment_readers(tuple(site.getsitepackages()))
    print(f"podium: a seat of this image, ready; not importable: {', '.join(skipped) or 'none'}", flush=True)
    with open(settings["fifo"], "rb") as fifo:  # blocks until Podium takes the seat: ready means open
        spec = json.loads(fifo.read())
    data = os.stat(spec["data_dir"])
    if [data.st_dev, data.st_ino] != spec["data_identity"]:
        print(f"podium: the space's volume did not reach {spec['data_dir']} (mount propagation); not starting")
        os._exit(70)
    os.chdir(spec["cwd"])
    _run(spec["argv"], spec["cwd"], {**os.environ, **spec["variables"]}, readers)


def main() -> None:
    settings = json.loads(sys.argv[1])
    if "fifo" in settings:
        return seat(settings)
    become_starter()
    import site  # only now: the environment's .pth files run as the starter's uid, never as root

    site.main()
    skipped = preload(settings["modules"])
    readers = _environment_readers(tuple(settings["site_packages"]))
    gc.collect()
    gc.freeze()  # the imported objects' pages stay shared: the collector never writes to them again
    sock = socket.socket(fileno=settings["socket"])
    sock.send(json.dumps({"ready": True, "skipped": skipped}).encode())  # the backend counts its threads
    serve(sock, readers)


if __name__ == "__main__":
    main()
