#!/usr/bin/env python3
"""Stand-in for the Gateway of `deploy.sh --tls` (NGINX Gateway Fabric's NGINX pods), for test_e2e_kind.py and
the browser test: ends TLS with the given certificate and forwards each request to one frontend process (as NGINX
forwards to a pod's endpoint, not through the Service), from its own address, with `X-Forwarded-Proto: https` in
place of whatever the client sent (NGINX Gateway Fabric's `proxy_set_header X-Forwarded-Proto $scheme`).

Usage: tls_proxy.py CERT KEY UPSTREAM_PORT SOURCE_ADDRESS PORT_FILE. It listens on a free port of 127.0.0.1 and
writes that port to PORT_FILE. One request per connection is rewritten (curl in e2e-kind.sh makes one each).
"""
import asyncio
import ssl
import sys
from pathlib import Path

from kube_stack import pipe


def main(cert, key, upstream, source, port_file):
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)

    async def handle(reader, writer):
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
            writer.close()  # a client that left before sending a request (a browser's spare connection)
            return
        request_line, *fields = head[:-4].split(b"\r\n")
        fields = [f for f in fields if not f.lower().startswith(b"x-forwarded-proto:")]
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", int(upstream), local_addr=(source, 0))
        up_writer.write(b"\r\n".join([request_line, *fields, b"X-Forwarded-Proto: https"]) + b"\r\n\r\n")
        await up_writer.drain()
        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer), return_exceptions=True)

    async def serve():
        server = await asyncio.start_server(handle, "127.0.0.1", 0, ssl=context)
        Path(port_file).write_text(str(server.sockets[0].getsockname()[1]))
        await server.serve_forever()

    asyncio.run(serve())


if __name__ == "__main__":
    main(*sys.argv[1:])
