"""The TCP proxy in a process of its own, for tests under load: in the test process its
event loop would compete with the load generator for the GIL and slow every call through it.

    python -m aistrale_testkit.proxy_process <target_host> <target_port> <port>

It reads commands on stdin, one per line (`cut`, `restore`), and answers `ok` on stdout once
done, so the caller knows the cut is in place before it goes on.
"""

from __future__ import annotations

import contextlib
import subprocess
import sys
from collections.abc import Iterator

from aistrale_testkit.tcp_proxy import TcpProxy, free_port


class ProxyProcess:
    def __init__(self, target_host: str, target_port: int) -> None:
        self.port = free_port()
        argv = [sys.executable, "-m", __name__, target_host, str(target_port), str(self.port)]
        self._proc = subprocess.Popen(
            argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1
        )
        self._command("ready")

    def cut(self) -> None:
        self._command("cut")

    def restore(self) -> None:
        self._command("restore")

    def stop(self) -> None:
        if self._proc.poll() is None:
            self._proc.terminate()
            self._proc.wait(10)

    def _command(self, command: str) -> None:
        assert self._proc.stdin is not None and self._proc.stdout is not None
        if command != "ready":
            self._proc.stdin.write(command + "\n")
        answer = self._proc.stdout.readline().strip()
        if answer != "ok":
            raise RuntimeError(f"proxy process did not {command}: {answer!r}")


@contextlib.contextmanager
def proxy_process(target_host: str, target_port: int) -> Iterator[ProxyProcess]:
    proxy = ProxyProcess(target_host, target_port)
    try:
        yield proxy
    finally:
        proxy.stop()


def main(argv: list[str]) -> None:
    host, target_port, port = argv[0], int(argv[1]), int(argv[2])
    proxy = TcpProxy(host, target_port, port=port).start()
    print("ok", flush=True)
    for line in sys.stdin:
        command = line.strip()
        if command == "cut":
            proxy.cut()
        elif command == "restore":
            proxy.restore()
        print("ok" if command in ("cut", "restore") else f"unknown {command}", flush=True)
    proxy.stop()


if __name__ == "__main__":
    main(sys.argv[1:])
