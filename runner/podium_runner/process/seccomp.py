"""The seccomp filter every sandboxed app runs under: the kernel calls a web app never makes fail.

The sandbox already drops the app's uid and every capability, so most of these calls would fail on
permission anyway. What the filter removes is the kernel code an unprivileged process can still
reach, where kernel exploits live: new user namespaces (inside one, the app holds every capability
and can mount filesystems and make network devices), eBPF, perf events, io_uring, userfaultfd, the
keyrings; and the calls that inspect other processes (ptrace, process_vm_*). It is a denylist in the
spirit of Docker's default profile, not an allowlist, so that any Python package keeps working: a
denied call fails with EPERM, which programs handle as they would in a container.

bwrap loads the compiled program (`--seccomp FD`) just before it executes setpriv, so it binds the app
and everything it starts. Only the native architecture's calls pass: the 32-bit ones (`int 0x80` on
x86_64, where the numbers differ and the rules above would not match) get ENOSYS.
"""

from __future__ import annotations

import errno
import functools
import os
import tempfile

# libseccomp names, x86_64 spelling; the calls each architecture lacks are skipped by libseccomp.
_DENIED = (
    # Mounts and namespaces (unshare and clone are checked by flag below).
    "setns", "mount", "umount2", "pivot_root", "chroot",
    "fsopen", "fsconfig", "fsmount", "fspick", "move_mount", "open_tree", "mount_setattr",
    # Other processes' memory and state.
    "ptrace", "process_vm_readv", "process_vm_writev", "kcmp", "pidfd_getfd",
    # Kernel programmability: the usual route of kernel exploits.
    "bpf", "perf_event_open", "userfaultfd", "io_uring_setup", "io_uring_enter", "io_uring_register",
    "keyctl", "add_key", "request_key",
    # The host's administration.
    "init_module", "finit_module", "delete_module", "kexec_load", "kexec_file_load", "reboot",
    "swapon", "swapoff", "acct", "quotactl", "quotactl_fd", "iopl", "ioperm", "syslog", "vhangup",
    "settimeofday", "clock_settime", "clock_adjtime",
    # File handles (they open files by inode, around the sandbox's folders), and rare legacy calls.
    "name_to_handle_at", "open_by_handle_at", "lookup_dcookie", "uselib", "fanotify_init",
    "move_pages", "migrate_pages",
)  # fmt: skip
# CLONE_NEWNS, NEWCGROUP, NEWUTS, NEWIPC, NEWUSER, NEWPID, NEWNET. CLONE_NEWTIME (0x80) is unshare's
# alone: in clone's flags that bit belongs to the exit signal.
_CLONE_NAMESPACES = (0x00020000, 0x02000000, 0x04000000, 0x08000000, 0x10000000, 0x20000000, 0x40000000)
_CLONE_NEWTIME = 0x00000080
# personality(2): Docker's profile allows only PER_LINUX, PER_LINUX32, UNAME26 and their mix, and the
# query 0xffffffff. The flags that matter (bits 18-27: READ_IMPLIES_EXEC makes every mapping
# executable, MMAP_PAGE_ZERO maps page 0, ADDR_NO_RANDOMIZE turns ASLR off...) are refused.
_PERSONALITY_FLAG_BITS = range(18, 28)
_PERSONALITY_QUERY = 0xFFFFFFFF


# What a warm starter (zygote.py) needs beyond an app: entering an app's namespaces and root.
_STARTER_ALLOWED = frozenset({"setns", "chroot"})
# A warm starter holds CAP_SETUID and CAP_SETGID (to become each app's uid), but never uid or gid 0: as
# root it would own what root owns. The arguments of each call that name an id.
_ID_ARGUMENTS = {
    "setuid": (0,), "setgid": (0,), "setfsuid": (0,), "setfsgid": (0,),
    "setreuid": (0, 1), "setregid": (0, 1), "setresuid": (0, 1, 2), "setresgid": (0, 1, 2),
}  # fmt: skip


def _compile(starter: bool = False) -> bytes:
    import pyseccomp as seccomp  # loads libseccomp: only when the first sandboxed app starts

    unknown = [name for name in _DENIED if seccomp.resolve_syscall(seccomp.Arch.NATIVE, name) == -1]
    if unknown:
        raise RuntimeError(f"libseccomp is too old: it does not know {', '.join(unknown)} (use 2.5.4 or later)")
    denied = seccomp.ERRNO(errno.EPERM)
    rules = seccomp.SyscallFilter(seccomp.ALLOW)
    rules.set_attr(seccomp.Attr.ACT_BADARCH, seccomp.ERRNO(errno.ENOSYS))
    rules.set_attr(seccomp.Attr.CTL_OPTIMIZE, 2)  # a binary tree of call numbers, not a list
    for name in _DENIED:
        if not (starter and name in _STARTER_ALLOWED):
            rules.add_rule(denied, name)
    if starter:
        for name, arguments in _ID_ARGUMENTS.items():
            for index in arguments:  # the kernel reads the low 32 bits of an id
                rules.add_rule(denied, name, seccomp.Arg(index, seccomp.MASKED_EQ, 0xFFFFFFFF, 0))
    for flag in _CLONE_NAMESPACES:
        rules.add_rule(denied, "clone", seccomp.Arg(0, seccomp.MASKED_EQ, flag, flag))
    for flag in (*_CLONE_NAMESPACES, _CLONE_NEWTIME):
        rules.add_rule(denied, "unshare", seccomp.Arg(0, seccomp.MASKED_EQ, flag, flag))
    # clone3 passes its flags in memory, where a filter cannot look: ENOSYS makes glibc use clone.
    rules.add_rule(seccomp.ERRNO(errno.ENOSYS), "clone3")
    # libseccomp allows one comparison per argument in a rule, so "a flag, but not the query" is
    # spelled with bit 31 (set in the query, meaningless otherwise): a flag with bit 31 clear, or
    # bit 31 with any other bit clear. The kernel reads only the low 32 bits; higher ones are refused.
    top = 1 << 31
    for bit in _PERSONALITY_FLAG_BITS:
        rules.add_rule(denied, "personality", seccomp.Arg(0, seccomp.MASKED_EQ, (1 << bit) | top, 1 << bit))
    for bit in range(31):
        rules.add_rule(denied, "personality", seccomp.Arg(0, seccomp.MASKED_EQ, (1 << bit) | top, top))
    rules.add_rule(denied, "personality", seccomp.Arg(0, seccomp.GT, _PERSONALITY_QUERY))
    with tempfile.TemporaryFile() as out:
        rules.export_bpf(out)
        out.seek(0)
        return out.read()


@functools.cache
def program(starter: bool = False) -> bytes:
    """The compiled filter (classic BPF, as bwrap's --seccomp reads it), built once per process; with
    `starter`, a warm starter's (warm_starter.py): setns and chroot allowed, uid and gid 0 refused."""
    return _compile(starter)


def unavailable_reason() -> str | None:
    """Why apps cannot get the filter here, or None when they can."""
    try:
        program()
    except (RuntimeError, OSError) as exc:  # pyseccomp raises RuntimeError when libseccomp is missing
        return f"no seccomp filter ({exc}; Debian: apt-get install libseccomp2)"
    return None


def program_fd(starter: bool = False) -> int:
    """A pipe holding the filter, for `bwrap --seccomp FD`: bwrap reads it to the end. The caller passes
    it to bwrap (`pass_fds`) and closes it once bwrap started."""
    read_end, write_end = os.pipe()
    try:
        os.write(write_end, program(starter))  # a few KB: fits in the pipe's buffer
    finally:
        os.close(write_end)
    return read_end
