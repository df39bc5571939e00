"""A TCP front for a broker that has no Maximum Packet Size (amqtt, the embedded broker): each MQTT
packet a client sends is measured by its fixed header, and a connection whose packet would be
larger than `max_bytes` is closed before the packet's body is read, by the front or the broker.

amqtt reads a whole packet into memory before it looks at it: one client publishing a retained
150 MB message would keep 150 MB in the broker, and deliver it to the device. The front streams
what it forwards (a packet is never held whole), so it costs a few buffers per connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

log = logging.getLogger(__name__)

CHUNK = 64 * 1024


class PacketTooLarge(Exception):
    pass


async def read_fixed_header(reader: asyncio.StreamReader) -> tuple[bytes, int]:
    """The fixed header's bytes as read, and the packet's remaining length (MQTT 3.1.1 2.2.3:
    a variable byte integer of at most four bytes)."""
    header = await reader.readexactly(1)
    length, shift = 0, 0
    for _ in range(4):
        byte = await reader.readexactly(1)
        header += byte
        length |= (byte[0] & 0x7F) << shift
        if not byte[0] & 0x80:
            return header, length
        shift += 7
    raise PacketTooLarge("malformed remaining length")


class PacketLimit:
    def __init__(
        self, host: str, port: int, broker_host: str, broker_port: int, max_bytes: int
    ) -> None:
        self.host, self.port = host, port
        self.broker = (broker_host, broker_port)
        self.max_bytes = max_bytes
        self.refused = 0  # connections closed for a packet over the limit
        self._server: asyncio.Server | None = None

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, self.host, self.port)

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def _serve(self, client: asyncio.StreamReader, to_client: asyncio.StreamWriter) -> None:
        try:
            from_broker, to_broker = await asyncio.open_connection(*self.broker)
        except OSError:
            to_client.close()
            return
        upstream = asyncio.ensure_future(self._packets(client, to_broker))
        downstream = asyncio.ensure_future(self._copy(from_broker, to_client))
        try:
            await asyncio.wait((upstream, downstream), return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (upstream, downstream):
                task.cancel()
            for writer in (to_broker, to_client):
                writer.close()
                with contextlib.suppress(Exception):
                    await writer.wait_closed()

    async def _packets(self, client: asyncio.StreamReader, to_broker: asyncio.StreamWriter) -> None:
        """Client to broker, packet by packet: the header is checked before the body is read."""
        with contextlib.suppress(asyncio.IncompleteReadError, ConnectionError):
            while True:
                try:
                    header, length = await read_fixed_header(client)
                except PacketTooLarge:
                    self.refused += 1
                    return
                if len(header) + length > self.max_bytes:
                    self.refused += 1
                    log.warning(
                        "embedded broker: a client sent a %d-byte packet (limit %d): closed",
                        len(header) + length,
                        self.max_bytes,
                    )
                    return
                to_broker.write(header)
                left = length
                while left:
                    chunk = await client.read(min(CHUNK, left))
                    if not chunk:
                        return
                    to_broker.write(chunk)
                    left -= len(chunk)
                    await to_broker.drain()
                await to_broker.drain()

    async def _copy(self, source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError):
            while chunk := await source.read(CHUNK):
                sink.write(chunk)
                await sink.drain()
