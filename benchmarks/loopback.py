"""The throughput benchmark's harness: loopback site servers that timestamp requests, and a
subprocess runner that samples memory and reads CPU time.

Two servers serve the same directory (``{base}`` filled in, feeds and pages with their types):

* ``TimedSiteServer``: newsflow's demo ``SiteServer`` (a ``ThreadingHTTPServer``, ETags);
* ``FastServer``: a small asyncio server with keep-alive and nothing else, which costs the
  machine less CPU per page; on 2 cores that CPU is taken from whatever is measured. It can
  listen on many loopback addresses at once (``hosts``): Linux routes all of 127.0.0.0/8 to
  the loopback interface, so each address is a host of its own to a client, and ``{base}`` is
  filled in with the address and port a request came in on.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import resource
import subprocess
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from flows.demo.server import BASE_PLACEHOLDER, RecordedRequest, SiteServer

POLL_SECONDS = 0.05


class RequestMarks:
    """When the first request, the first page request and the last page request arrived."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.first: float | None = None
        self.first_page: float | None = None
        self.last_page: float | None = None
        self.pages = 0

    def reset(self) -> None:
        with self._lock:
            self.first = self.first_page = self.last_page = None
            self.pages = 0

    def record(self, path: str) -> None:
        now = time.time()
        with self._lock:
            self.first = self.first or now
            if path.split("?")[0].endswith(".html"):
                self.pages += 1
                self.first_page = self.first_page or now
                self.last_page = now


class TimedSiteServer(SiteServer):
    """The demo SiteServer, with request timestamps instead of an ever-growing request list."""

    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self.marks = RequestMarks()

    def _record(self, request: RecordedRequest) -> None:
        self.marks.record(request.path)


def loopback_address(n: int) -> str:
    """The n-th of many hosts: 127.0.1.1 onwards, 250 to a /24, 62,500 to a /16; never
    127.0.0.x, where the Prefect server and the databases listen."""
    if not 0 <= n < 250 * 250 * 254:
        raise ValueError(f"no loopback address number {n}")
    return f"127.{n // 62_500}.{1 + n // 250 % 250}.{1 + n % 250}"


class FastServer:
    """Serve a directory from an asyncio loop in a thread: GET only, keep-alive, no caching.

    With ``hosts``, one listening socket per address (each on a port of its own; never
    0.0.0.0, so nothing is reachable from outside the machine); ``base_urls`` maps each host
    to its ``http://host:port``.
    """

    def __init__(
        self,
        root: Path,
        hosts: Iterable[str] = ("127.0.0.1",),
        html_type: str = "text/html; charset=utf-8",
    ) -> None:
        self.root = root.resolve()
        self.html_type = html_type
        self.hosts = list(hosts)
        self.marks = RequestMarks()
        self.base_url = ""
        self.base_urls: dict[str, str] = {}
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True, name="fast-server")

    def __enter__(self) -> FastServer:
        self._thread.start()
        if not self._ready.wait(60 + len(self.hosts) / 100) or len(self.base_urls) != len(
            self.hosts
        ):
            raise RuntimeError("the fast server did not start on every address")
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    def _serve(self) -> None:
        asyncio.set_event_loop(self._loop)
        servers = []
        for host in self.hosts:
            try:
                server = self._loop.run_until_complete(
                    asyncio.start_server(self._handle, host, 0, backlog=1024)
                )
            except OSError:
                break  # __enter__ reports the addresses missing
            servers.append(server)
            self.base_urls[host] = f"http://{host}:{server.sockets[0].getsockname()[1]}"
        self.base_url = self.base_urls.get(self.hosts[0], "")
        self._ready.set()
        self._loop.run_forever()
        for server in servers:
            server.close()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        host, port = writer.get_extra_info("sockname")[:2]
        base_url = f"http://{host}:{port}"
        with contextlib.suppress(ConnectionError, IndexError):
            while line := await reader.readline():
                target = line.decode("latin-1").split(" ")[1]
                close = False
                while (header := await reader.readline()) not in (b"\r\n", b"\n", b""):
                    name, _, value = header.decode("latin-1").partition(":")
                    close |= name.strip().lower() == "connection" and "close" in value.lower()
                self.marks.record(target)
                writer.write(self._response(target.split("?")[0], base_url))
                await writer.drain()
                if close:
                    break
        writer.close()

    def _response(self, path: str, base_url: str) -> bytes:
        file = (self.root / path.lstrip("/")).resolve()
        if not file.is_relative_to(self.root) or not file.is_file():
            return b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"
        body = file.read_bytes().replace(BASE_PLACEHOLDER.encode(), base_url.encode())
        kind = "application/rss+xml" if file.suffix == ".xml" else self.html_type
        head = f"HTTP/1.1 200 OK\r\nContent-Type: {kind}\r\nContent-Length: {len(body)}\r\n\r\n"
        return head.encode() + body


Server = TimedSiteServer | FastServer


def make_server(kind: str, root: Path, *, charset: bool = True) -> Server:
    """``fast`` or ``site``; enter the result to serve. Without ``charset`` pages are served
    as bare ``text/html`` (the fast server only: the demo server decides that per path)."""
    if kind == "fast":
        return FastServer(root, html_type="text/html; charset=utf-8" if charset else "text/html")
    return TimedSiteServer(root)


@dataclass
class Watched:
    """A finished subprocess: when it ran, what it used, and where its output went."""

    started: float  # time.time()
    ended: float
    cpu_s: float  # user + system of the whole tree (see run_watched)
    server_cpu_s: float  # user + system of *this* process meanwhile (the site server)
    peak_tree_rss_mib: float  # largest sampled sum of VmRSS over the process tree
    maxrss_mib: float  # the kernel's peak RSS of the largest single process (wait4)
    max_processes: int
    load_before: float  # 1-minute load average when the run started
    stdout: Path
    stderr: Path


def run_watched(
    argv: Sequence[str], env: dict[str, str], out_dir: Path, label: str, timeout: float
) -> Watched:
    """Run ``argv`` to its end (killed after ``timeout`` s), sampling its memory every 50 ms.

    CPU time: what wait4 reports (the process and every descendant reaped within the tree),
    or, when larger, the sum of each process's own CPU as last sampled. The second counts
    processes that the process never reaps, such as multiprocessing's fork server and the
    workers it forks, which wait4 cannot see; it misses a process's last 50 ms.
    """
    stdout, stderr = out_dir / f"{label}.out", out_dir / f"{label}.err"
    peak_tree = 0
    max_processes = 1
    own_cpu: dict[int, float] = {}
    load = os.getloadavg()[0]
    with stdout.open("wb") as out, stderr.open("wb") as err:
        self_before = _cpu(resource.getrusage(resource.RUSAGE_SELF))
        started = time.time()
        proc = subprocess.Popen(argv, env=env, stdout=out, stderr=err, cwd=out_dir)
        deadline = time.monotonic() + timeout
        while True:
            # wait4, not Popen.poll: it hands over the child's CPU time and peak RSS.
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() > deadline:
                proc.kill()
                proc.wait()
                raise TimeoutError(f"{label} did not finish within {timeout:g} s")
            pids = _tree(proc.pid)
            max_processes = max(max_processes, len(pids))
            peak_tree = max(peak_tree, sum(_vm_rss_kib(p) for p in pids))
            for pid_ in pids:
                own_cpu[pid_] = max(own_cpu.get(pid_, 0.0), _own_cpu_s(pid_))
            time.sleep(POLL_SECONDS)
        ended = time.time()
        server_cpu = _cpu(resource.getrusage(resource.RUSAGE_SELF)) - self_before
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        tail = stderr.read_text(errors="replace")[-3000:]
        raise RuntimeError(f"{label} exited with {proc.returncode}:\n{tail}")
    return Watched(
        started=started,
        ended=ended,
        cpu_s=max(_cpu(usage), sum(own_cpu.values())),
        server_cpu_s=server_cpu,
        peak_tree_rss_mib=peak_tree / 1024,
        maxrss_mib=usage.ru_maxrss / 1024,
        max_processes=max_processes,
        load_before=load,
        stdout=stdout,
        stderr=stderr,
    )


def _cpu(usage: resource.struct_rusage) -> float:
    return usage.ru_utime + usage.ru_stime


def _own_cpu_s(pid: int) -> float:
    """User + system CPU seconds of ``pid`` itself (not its children), from /proc."""
    with contextlib.suppress(OSError, ValueError, IndexError):
        stat = Path(f"/proc/{pid}/stat").read_text()
        utime, stime = stat[stat.rindex(")") + 2 :].split()[11:13]
        return (int(utime) + int(stime)) / _TICK
    return 0.0


_TICK = os.sysconf("SC_CLK_TCK")


def _vm_rss_kib(pid: int) -> int:
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0  # the process ended between listing and reading


def _tree(pid: int) -> list[int]:
    """The process and its descendants, from /proc/PID/task/TID/children."""
    found: list[int] = []
    todo = [pid]
    while todo and len(found) < 10_000:
        current = todo.pop()
        found.append(current)
        with contextlib.suppress(OSError):
            for task in Path(f"/proc/{current}/task").iterdir():
                todo += [int(child) for child in (task / "children").read_text().split()]
    return found
