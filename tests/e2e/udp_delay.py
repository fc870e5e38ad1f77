#!/usr/bin/env python3
"""A UDP forwarder that delays every datagram, both ways: a switch made far away for the
nearest-switch test (this machine's kernel has no netem). One client at a time.
Usage: udp_delay.py LISTEN_PORT TARGET_HOST TARGET_PORT DELAY_MS"""
import asyncio, sys

async def main():
    port, host, target, delay = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), int(sys.argv[4]) / 1000
    loop = asyncio.get_running_loop()
    client = [None]

    class Back(asyncio.DatagramProtocol):
        def datagram_received(self, data, addr):
            if client[0]:
                loop.call_later(delay, front.sendto, data, client[0])

    class Front(asyncio.DatagramProtocol):
        def datagram_received(self, data, addr):
            client[0] = addr
            loop.call_later(delay, back.sendto, data)

    back, _ = await loop.create_datagram_endpoint(Back, remote_addr=(host, target))
    front, _ = await loop.create_datagram_endpoint(Front, local_addr=("0.0.0.0", port))
    await asyncio.Event().wait()

asyncio.run(main())
