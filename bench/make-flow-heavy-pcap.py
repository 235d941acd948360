#!/usr/bin/env python3
"""A flow-heavy stress capture: N two-packet UDP exchanges (query and answer), each its own flow,
from 65,536 client addresses to 256 servers, 10 us apart. It checks what the 1 GiB capture does
not: the cost of flows and of the report tables when nearly every packet opens a new flow.

Usage: make-flow-heavy-pcap.py OUT.pcap [FLOWS=1000000]   (writes only the file it is given)"""
import struct
import sys

out, flows = sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 1_000_000


def checksum(header: bytes) -> int:
    s = sum(struct.unpack("!10H", header))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def frame(src: bytes, dst: bytes, sport: int, dport: int, payload: bytes) -> bytes:
    udp = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0, 64, 17, 0, src, dst)
    ip = ip[:10] + struct.pack("!H", checksum(ip)) + ip[12:]
    return b"\x02\x00\x00\x00\x00\x02\x02\x00\x00\x00\x00\x01\x08\x00" + ip + udp


with open(out, "wb") as f:
    f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
    t = 1_700_000_000 * 1_000_000
    for i in range(flows):
        client = bytes([10, (i >> 16) & 255, (i >> 8) & 255, i & 255])
        server = bytes([192, 0, 2, i % 256])
        sport = 1024 + (i * 7919) % 64000
        for pkt in (frame(client, server, sport, 53, b"q" * 40), frame(server, client, 53, sport, b"a" * 80)):
            t += 10
            f.write(struct.pack("<IIII", t // 1_000_000, t % 1_000_000, len(pkt), len(pkt)) + pkt)
