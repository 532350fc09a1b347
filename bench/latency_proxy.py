"""A TCP proxy that puts a network between a client and a local server: each direction delayed.

Every chunk is forwarded ``rtt / 2`` after it arrived, in each direction,
without slowing the flow (chunks are stamped on arrival and leave when due,
not one after another). A new connection first pays the TCP handshake: its
first bytes leave one round trip late, as they would after SYN, SYN-ACK and
ACK. So a client that opens a connection per request pays two round trips
per request, a client that keeps its connection alive one: the difference
keep-alive makes on a real network.

    python bench/latency_proxy.py --upstream 127.0.0.1:8025 --rtt-ms 25   # prints "listening PORT"

Loopback only, and it stops with its parent (standard input closed).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, delay: float) -> None:
    loop = asyncio.get_running_loop()
    due: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()

    async def forward() -> None:
        while True:
            when, data = await due.get()
            if (wait := when - loop.time()) > 0:
                await asyncio.sleep(wait)
            if not data:
                if writer.can_write_eof():
                    writer.write_eof()
                return
            writer.write(data)
            await writer.drain()

    forwarding = asyncio.create_task(forward())
    with contextlib.suppress(ConnectionError):
        while data := await reader.read(65536):
            due.put_nowait((loop.time() + delay, data))
    due.put_nowait((loop.time() + delay, b""))
    with contextlib.suppress(ConnectionError):
        await forwarding


async def _serve(upstream: tuple[str, int], rtt: float) -> None:
    async def handle(client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        await asyncio.sleep(rtt)  # the handshake: nothing can be sent before it completes
        server_reader, server_writer = await asyncio.open_connection(*upstream)
        try:
            await asyncio.gather(
                _pipe(client_reader, server_writer, rtt / 2), _pipe(server_reader, client_writer, rtt / 2)
            )
        finally:
            for writer in (server_writer, client_writer):
                writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0, backlog=512)
    print(f"listening {server.sockets[0].getsockname()[1]}", flush=True)
    # Until the parent goes: its end of our standard input closes.
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
    server.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--upstream", required=True, help="host:port of the server behind the proxy")
    parser.add_argument("--rtt-ms", type=float, required=True, help="round trip time to add, in milliseconds")
    args = parser.parse_args()
    host, _colon, port = args.upstream.rpartition(":")
    asyncio.run(_serve((host, int(port)), args.rtt_ms / 1000))


if __name__ == "__main__":
    main()
