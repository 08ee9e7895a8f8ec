"""The child side of the Python sandbox: confine this interpreter, then run the user's script.

Run as ``python -I -S -B sandbox_child.py WORKDIR LIMITS_JSON`` (see `python_sandbox.py`); it reads
``main.py`` from WORKDIR, which is also its working directory. In order, it:

1. tries to enter a fresh network namespace (no interface is up, so nothing can be reached even
   from C code); where the kernel or container refuses, the audit hook below is the only barrier;
2. lowers its resource limits (CPU time, address space, file size, no core dumps);
3. installs an audit hook (PEP 578, which cannot be removed) that refuses sockets and name lookups,
   starting processes, signalling other processes, changing files outside WORKDIR, reading files
   outside WORKDIR and the standard library, and loading modules whose C code would reach around
   it (``ctypes``, ``sqlite3``, ``dbm``);
4. runs the script as ``__main__`` and prints its traceback like ``python main.py`` would.

This is best-effort confinement inside one interpreter, not a security boundary: code that
defeats the hook (through a C extension, say) runs with the parent's user and rights.
Only the standard library imports here; the file must stay runnable with ``-I -S``.
"""

from __future__ import annotations

import json
import os
import resource
import sys
import traceback
import types

SCRIPT = "main.py"
"""The user's code, in the working directory."""
EXIT_MEMORY = 86
"""Exit status when the script dies of `MemoryError` (the memory limit), so the parent can say so."""

NETWORK_EVENTS = frozenset({
    "socket.__new__", "socket.bind", "socket.connect", "socket.sendto", "socket.sendmsg",
    "socket.getaddrinfo", "socket.gethostbyname", "socket.gethostbyaddr", "socket.gethostname",
    "socket.getnameinfo", "socket.getservbyname", "socket.getservbyport",
})
PROCESS_EVENTS = frozenset({
    "os.fork", "os.forkpty", "os.system", "os.exec", "os.spawn", "os.posix_spawn", "os.startfile",
    "subprocess.Popen", "pty.spawn",
})
BLOCKED_IMPORTS = frozenset({"ctypes", "_ctypes", "_posixsubprocess", "_sqlite3", "_dbm", "_gdbm", "_posixshmem"})
"""Modules whose C code reaches around the hook: ``ctypes`` (anything), a fresh ``_posixsubprocess``
(an unpatched ``fork_exec``), and those that open files themselves (SQLite's ATTACH, dbm, shm)."""
PATH_EVENTS: dict[str, tuple[tuple[int, int | None], ...]] = {
    # event: (index of a path argument, index of its dir_fd argument or None), for every path it changes
    "os.remove": ((0, 1),), "os.rmdir": ((0, 1),), "os.mkdir": ((0, 2),), "os.chmod": ((0, 2),),
    "os.chown": ((0, 3),), "os.utime": ((0, 3),), "os.truncate": ((0, None),), "os.symlink": ((1, 2),),
    "os.rename": ((0, 2), (1, 3)), "os.link": ((0, 2), (1, 3)),
    "os.setxattr": ((0, None),), "os.removexattr": ((0, None),),
}
READABLE = ("/usr/share/zoneinfo", "/dev/urandom")
"""Readable besides the working directory and the standard library (``sys.path``, without site-packages)."""
WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND
CLONE_NEWUSER, CLONE_NEWNET = 0x10000000, 0x40000000


def enter_network_namespace() -> bool:
    """Move this process into a new network namespace (only a loopback device, down); False if refused."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        uid, gid = os.getuid(), os.getgid()
        if libc.unshare(CLONE_NEWNET) == 0:  # privileged (CAP_SYS_ADMIN)
            return True
        if libc.unshare(CLONE_NEWUSER | CLONE_NEWNET) != 0:  # unprivileged user namespaces disabled
            return False
        for name, text in (("setgroups", "deny"), ("uid_map", f"{uid} {uid} 1"), ("gid_map", f"{gid} {gid} 1")):
            with open(f"/proc/self/{name}", "w") as file:  # keep our own ids, so files stay ours
                file.write(text)
        return True
    except (ImportError, OSError, AttributeError):
        return False
    finally:
        for name in [name for name in sys.modules if name == "_ctypes" or name.split(".")[0] == "ctypes"]:
            del sys.modules[name]  # the script cannot reuse the loaded module; loading it again is refused


def set_limits(cpu_seconds: int, memory_bytes: int, file_bytes: int) -> None:
    """Lower this process's limits (never above the hard limits it inherited)."""
    _lower(resource.RLIMIT_CPU, cpu_seconds, cpu_seconds + 1)  # SIGXCPU, then SIGKILL a second later
    _lower(resource.RLIMIT_AS, memory_bytes, memory_bytes)
    _lower(resource.RLIMIT_FSIZE, file_bytes, file_bytes)  # Python ignores SIGXFSZ: writes fail with EFBIG
    _lower(resource.RLIMIT_CORE, 0, 0)


def _lower(limit: int, soft: int, hard: int) -> None:
    _, current_hard = resource.getrlimit(limit)
    if current_hard != resource.RLIM_INFINITY:
        soft, hard = min(soft, current_hard), min(hard, current_hard)
    resource.setrlimit(limit, (soft, hard))


def install_guard(workdir: str) -> None:
    """Refuse network, processes, ``ctypes``, and files outside `workdir` (reads: also the standard
    library) from here on, irrevocably."""
    own_pid = os.getpid()
    writable = (workdir, os.devnull)
    readable = (*writable, *READABLE, *(os.path.realpath(entry) for entry in sys.path if entry))

    def within(roots: tuple[str, ...], path: object, dir_fd: object = None) -> bool:
        if isinstance(path, int):
            return True  # a descriptor the process already holds (opened under this same guard)
        base = os.getcwd() if dir_fd in (None, -1, -100) else os.readlink(f"/proc/self/fd/{dir_fd}")
        full = os.path.realpath(os.path.join(base, os.fsdecode(path if path is not None else ".")))
        return any(full == root or full.startswith(root + os.sep) for root in roots)  # after symbolic links

    def guard(event: str, args: tuple) -> None:
        if event in NETWORK_EVENTS:
            raise PermissionError("network access is disabled in this sandbox")
        if event in PROCESS_EVENTS:
            raise PermissionError("starting processes is disabled in this sandbox")
        if event == "import" and args[0] in BLOCKED_IMPORTS:
            raise ImportError(f"module {args[0]!r} is not available in this sandbox")
        if event in ("os.kill", "os.killpg") and args[0] not in (0, own_pid):
            raise PermissionError("signalling other processes is disabled in this sandbox")
        if event == "open":
            path, mode, flags = args
            writing = (isinstance(mode, str) and any(c in mode for c in "wax+")) or (
                isinstance(flags, int) and flags & WRITE_FLAGS)
            if writing and not within(writable, path):
                raise PermissionError(f"cannot write {path!r}: only the sandbox's working directory is writable")
            if not isinstance(path, int) and os.path.isdir(path) and not within(writable, path):
                raise PermissionError(f"cannot open the directory {path!r}: only the sandbox's working directory "
                                      "can be opened")  # its descriptor could serve as a dir_fd to write through
            if not within(readable, path):
                raise PermissionError(f"cannot read {path!r}: only the sandbox's working directory and the "
                                      "standard library are readable")
        if event in ("os.listdir", "os.scandir") and not within(readable, args[0]):
            raise PermissionError(f"cannot list {args[0]!r}: only the sandbox's working directory is visible")
        for path_index, fd_index in PATH_EVENTS.get(event, ()):
            if not within(writable, args[path_index], None if fd_index is None else args[fd_index]):
                raise PermissionError(f"cannot change {args[path_index]!r}: "
                                      "only the sandbox's working directory is writable")

    import _posixsubprocess  # subprocess's fork+exec; patched because its C call raises no audit event

    def no_processes(*args: object, **kwargs: object) -> None:
        raise PermissionError("starting processes is disabled in this sandbox")

    _posixsubprocess.fork_exec = no_processes
    sys.addaudithook(guard)


def run_script(path: str) -> None:
    """Run `path` as ``__main__``; exit like the interpreter would (1 and a traceback on an error)."""
    with open(path, encoding="utf-8") as file:
        source = file.read()
    module = types.ModuleType("__main__")
    module.__file__ = SCRIPT
    sys.modules["__main__"] = module
    sys.argv = [SCRIPT]
    try:
        exec(compile(source, SCRIPT, "exec"), module.__dict__)  # noqa: S102 (running it is the point)
    except MemoryError as exc:
        print_traceback(exc)
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(EXIT_MEMORY)
    except SystemExit:
        raise
    except BaseException as exc:  # noqa: BLE001 (reported like the interpreter does, then exit 1)
        print_traceback(exc)
        sys.exit(1)


def print_traceback(exc: BaseException) -> None:
    """Print `exc` as Python would, without this file's frames (the runner, the guard)."""
    shown = traceback.TracebackException(type(exc), exc, exc.__traceback__)
    shown.stack = traceback.StackSummary.from_list([frame for frame in shown.stack if frame.filename != __file__])
    sys.stderr.write("".join(shown.format()))


def main(argv: list[str]) -> None:
    workdir, limits = os.path.realpath(argv[1]), json.loads(argv[2])
    if limits["network_namespace"]:
        enter_network_namespace()
    set_limits(limits["cpu_seconds"], limits["memory_bytes"], limits["file_bytes"])
    os.chdir(workdir)
    install_guard(workdir)
    run_script(os.path.join(workdir, SCRIPT))


if __name__ == "__main__":
    main(sys.argv)
