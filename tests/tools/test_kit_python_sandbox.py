"""The Python sandbox kit: real child interpreters, real limits."""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path

import pytest

from taskwarden.tools.kits import PythonSandbox

FAST = PythonSandbox(cpu_seconds=1, memory_mb=128, wall_seconds=30, max_output_bytes=1000)  # wall: a busy CI machine


def test_runs_code_and_returns_exit_status_stdout_and_stderr():
    result = FAST.run("import sys\nprint(sum(range(10)))\nprint('careful', file=sys.stderr)")
    assert (result.exit_status, result.stdout, result.stderr, result.limits_exceeded) == (0, "45\n", "careful\n", [])


def test_the_tool_answers_json_with_the_traceback_of_an_uncaught_error():
    spec = FAST.tools()[0]
    answer = json.loads(spec.tool.invoke({"code": "def f():\n    raise ValueError('boom')\nf()"}))
    assert answer["exit_status"] == 1 and answer["stdout"] == ""
    assert 'File "main.py", line 2, in f' in answer["stderr"]
    assert answer["stderr"].endswith("ValueError: boom\n") and "sandbox_child" not in answer["stderr"]
    assert "limits_exceeded" not in answer


def test_sys_exit_status_is_passed_through():
    assert FAST.run("import sys; sys.exit(3)").exit_status == 3


def test_an_infinite_loop_hits_the_cpu_limit():
    result = FAST.run("while True:\n    pass")
    assert result.exit_status < 0
    assert result.limits_exceeded == ["CPU time limit of 1 s exceeded"]


def test_a_huge_allocation_hits_the_memory_limit():
    result = FAST.run("data = bytearray(4 * 1024 ** 3)\nprint('allocated')")
    assert result.stdout == "" and result.stderr.rstrip().endswith("MemoryError")
    assert result.limits_exceeded == ["memory limit of 128 MB exceeded"]


def test_sleeping_past_the_wall_clock_limit_is_killed():
    result = PythonSandbox(wall_seconds=0.5).run("import time\nprint('start', flush=True)\ntime.sleep(30)")
    assert result.stdout == "start\n"
    assert result.limits_exceeded == ["wall-clock time limit of 0.5 s exceeded"]


def test_huge_output_is_truncated_keeping_its_start_and_end():
    result = FAST.run("print('begin')\nprint('x' * 1_000_000)\nprint('end')")
    assert len(result.stdout) < 1100
    assert result.stdout.startswith("begin\n") and result.stdout.endswith("end\n")
    assert "bytes omitted" in result.stdout
    assert result.limits_exceeded == ["output limit of 1000 bytes exceeded: stdout truncated"]


def test_no_network_inside_the_sandbox():
    result = FAST.run("import socket\nsocket.create_connection(('127.0.0.1', 9), timeout=1)")
    assert result.exit_status == 1
    assert "PermissionError: network access is disabled in this sandbox" in result.stderr


def test_the_low_level_socket_module_is_blocked_too():
    result = FAST.run("import _socket\n_socket.socket()")
    assert "PermissionError: network access is disabled in this sandbox" in result.stderr


@pytest.mark.skipif(not Path("/proc/self/ns/net").exists(), reason="Linux network namespaces")
def test_the_child_gets_its_own_network_namespace_where_the_kernel_allows():
    ours, code = os.readlink("/proc/self/ns/net"), "import os\nprint(os.readlink('/proc/self/ns/net'))"
    assert PythonSandbox(network_namespace=False).run(code).stdout == f"{ours}\n"
    theirs = FAST.run(code).stdout.strip()
    if theirs == ours:
        pytest.skip("this kernel or container refuses new network namespaces; the audit hook alone blocks sockets")
    assert theirs.startswith("net:[")


@pytest.mark.integration
def test_a_listening_loopback_server_is_never_reached():
    with socket.create_server(("127.0.0.1", 0)) as server:
        port = server.getsockname()[1]
        result = FAST.run(f"import socket\nsocket.create_connection(('127.0.0.1', {port}), timeout=1)\nprint('connected')")
        server.setblocking(False)
        with pytest.raises(BlockingIOError):  # the kernel would have queued a completed connection
            server.accept()
    assert "connected" not in result.stdout and "PermissionError" in result.stderr


def test_starting_processes_is_refused():
    result = FAST.run("import subprocess\nsubprocess.run(['echo', 'escaped'])")
    assert "escaped" not in result.stdout
    assert "PermissionError: starting processes is disabled in this sandbox" in result.stderr


@pytest.mark.parametrize(("module", "blocked"), [("ctypes", "ctypes"), ("sqlite3", "_sqlite3")])
def test_modules_that_reach_around_the_guard_cannot_be_loaded(module, blocked):
    assert f"ImportError: module '{blocked}' is not available in this sandbox" in FAST.run(f"import {module}").stderr


def test_the_hosts_files_cannot_be_read_or_listed(tmp_path):
    (tmp_path / "secret.txt").write_text("s3cret")
    result = FAST.run(f"print(open({str(tmp_path / 'secret.txt')!r}).read())")
    assert "s3cret" not in result.stdout and "PermissionError: cannot read" in result.stderr
    assert "PermissionError: cannot list" in FAST.run(f"import os\nprint(os.listdir({str(tmp_path)!r}))").stderr


def test_the_standard_library_still_imports_and_works():
    code = ("import json, datetime, decimal, statistics, tempfile\n"
            "with tempfile.TemporaryDirectory() as scratch:\n"
            "    print(statistics.mean([1, 2, 3]), datetime.datetime(2024, 1, 1, tzinfo=datetime.UTC).year)")
    assert FAST.run(code).stdout == "2 2024\n"


def test_the_working_directory_is_fresh_and_removed_afterwards():
    result = FAST.run("import os\nopen('notes.txt', 'w').write('hi')\nprint(os.getcwd())\nprint(sorted(os.listdir('.')))")
    workdir, listing = result.stdout.splitlines()
    assert listing == "['main.py', 'notes.txt']"
    assert not Path(workdir).exists()


def test_files_written_by_the_script_do_not_appear_in_the_callers_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = FAST.run("open('out.txt', 'w').write('data')\nprint(open('out.txt').read())")
    assert result.stdout == "data\n"
    assert list(tmp_path.iterdir()) == []


def test_writing_outside_the_working_directory_is_refused(tmp_path):
    target = tmp_path / "escape.txt"
    result = FAST.run(f"open({str(target)!r}, 'w').write('x')")
    assert "PermissionError: cannot write" in result.stderr
    assert not target.exists()


def test_a_symlink_out_of_the_working_directory_does_not_lead_out(tmp_path):
    result = FAST.run(f"import os\nos.symlink({str(tmp_path)!r}, 'out')\nopen('out/escape.txt', 'w')")
    assert "PermissionError: cannot write" in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_the_parent_environment_is_not_inherited(monkeypatch):
    monkeypatch.setenv("TASKWARDEN_TEST_SECRET", "s3cret")
    result = FAST.run("import os\nprint(sorted(os.environ))")
    assert "s3cret" not in result.stdout and "TASKWARDEN_TEST_SECRET" not in result.stdout
    assert result.stdout == "['HOME', 'LANG', 'TMPDIR']\n"


def test_limits_must_be_positive():
    with pytest.raises(ValueError, match="cpu_seconds must be positive"):
        PythonSandbox(cpu_seconds=0)


def test_the_tool_declares_write_risk_and_its_limits():
    (spec,) = PythonSandbox(cpu_seconds=2, memory_mb=256).tools()
    assert (spec.name, spec.risk, spec.scopes) == ("run_python", "write", ("python:execute",))
    assert "2 s of CPU time" in spec.tool.description and "256 MB of memory" in spec.tool.description


def test_the_engine_deadline_leaves_room_for_the_sandbox_own_limit():
    """The sandbox's clear "wall-clock limit exceeded" must come before the engine's uncertain timeout."""
    (spec,) = PythonSandbox(wall_seconds=45).tools()
    assert spec.timeout_s > 45
