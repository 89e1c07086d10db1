"""Child processes under test: start pinned (taskset), wait for the port, read CPU time, RSS,
peak RSS and open descriptors of the whole process tree from /proc, stop by pid."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

TICK = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def wait_port(port: int, timeout: float, proc: subprocess.Popen[bytes] | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode} before listening")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing listening on port {port} after {timeout:.0f}s")


def _children(pid: int) -> list[int]:
    out: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        try:
            out += [int(x) for x in task.read_text().split()]
        except OSError:
            continue
    return out


def tree(pid: int) -> list[int]:
    pids, todo = [], [pid]
    while todo:
        p = todo.pop()
        pids.append(p)
        todo += _children(p)
    return pids


def cpu_seconds(pid: int) -> float:
    """utime+stime of `pid` and its live descendants."""
    total = 0
    for p in tree(pid):
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / TICK


def runqueue_wait_seconds(pid: int) -> float:
    """Time the tree's threads spent runnable but waiting for a CPU (/proc/*/schedstat): the
    cost of sharing the core with unrelated load."""
    total = 0
    for p in tree(pid):
        for task in Path(f"/proc/{p}/task").glob("*/schedstat"):
            try:
                total += int(task.read_text().split()[1])
            except (OSError, IndexError, ValueError):
                continue
    return total / 1e9


def _status_kb(pid: int, key: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except OSError:
        return 0
    return 0


def peak_rss_mb(pid: int) -> float:
    """Largest VmHWM of one process in the tree (per worker, the parent of workers excluded
    when it is only a supervisor holding little memory)."""
    return max(_status_kb(p, "VmHWM") for p in tree(pid)) / 1024


def rss_mb(pid: int) -> float:
    return max(_status_kb(p, "VmRSS") for p in tree(pid)) / 1024


def open_fds(pid: int) -> int:
    total = 0
    for p in tree(pid):
        try:
            total += len(os.listdir(f"/proc/{p}/fd"))
        except OSError:
            continue
    return total


@dataclass
class Child:
    name: str
    proc: subprocess.Popen[bytes]
    port: int
    token: str
    log: Path

    @property
    def pid(self) -> int:
        return self.proc.pid

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


def spawn(name: str, argv: list[str], cpus: str, env: dict[str, str], port: int, token: str,
          log: Path, ready_timeout: float = 60.0) -> Child:
    handle = log.open("wb")
    proc = subprocess.Popen(["taskset", "-c", cpus, *argv], env=env, stdout=handle,
                            stderr=subprocess.STDOUT, start_new_session=True)
    child = Child(name, proc, port, token, log)
    try:
        wait_port(port, ready_timeout, proc)
    except RuntimeError:
        child.stop()
        raise RuntimeError(f"{name} did not start; see {log}") from None
    return child
