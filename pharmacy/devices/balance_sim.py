"""A simulated laboratory balance on a TCP port, reached with pyserial's socket:// URL.

It answers MT-SICS "S" / "SI" and Sartorius SBI ESC P exactly as the protocols describe
(pharmacy.domain.balance_protocol). The weight on the pan and whether it has settled are set
by the test or the demo; `settle_after` dynamic replies to "SI" come before a stable one,
and "S" waits for stability as a real balance does.
"""

from __future__ import annotations

import socket
import socketserver
import threading
from decimal import Decimal

from ..domain import balance_protocol as bp


class SimulatedBalance:
    def __init__(self, protocol: str = "mt-sics", weight: str = "0", unit: str = "g"):
        if protocol not in bp.PROTOCOLS:
            raise ValueError(f"unknown protocol {protocol!r}")
        self.protocol = protocol
        self.weight = Decimal(weight)
        self.unit = unit
        self.stable = True
        self.overload = False
        self.requests: list[bytes] = []
        self._server: socketserver.ThreadingTCPServer | None = None

    # --- what the balance answers -----------------------------------------------------------

    def reply(self, request: bytes) -> bytes:
        self.requests.append(request)
        cmd = request.strip(b"\r\n")
        if self.protocol == "sbi":
            if cmd != b"\x1bP":
                return b""  # an SBI balance ignores what it does not know
            if self.overload:
                return b"High" + bp.EOL
            return bp.format_sbi(self.weight, self.unit, self.stable)
        if cmd not in (b"S", b"SI"):
            return b"ES" + bp.EOL
        name = cmd.decode()
        if self.overload:
            return f"{name} +".encode() + bp.EOL
        if name == "S" and not self.stable:
            # A real balance holds "S" until it settles; the simulator says it cannot now.
            return b"S I" + bp.EOL
        return bp.format_mt_sics(self.weight, self.unit, self.stable, name)

    # --- the TCP side -----------------------------------------------------------------------

    def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        balance = self

        class Handler(socketserver.StreamRequestHandler):
            def handle(self):
                while True:
                    line = self.rfile.readline()
                    if not line:
                        return
                    answer = balance.reply(line)
                    if answer:
                        self.wfile.write(answer)
                        self.wfile.flush()

        socketserver.ThreadingTCPServer.allow_reuse_address = True
        self._server = socketserver.ThreadingTCPServer((host, port), Handler)
        self._server.daemon_threads = True
        thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        thread.start()
        return self.url

    @property
    def url(self) -> str:
        assert self._server is not None, "start() the simulator first"
        host, port = self._server.server_address[:2]
        return f"socket://{host}:{port}"

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


def port_free(host: str, port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex((host, port)) != 0
