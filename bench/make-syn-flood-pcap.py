#!/usr/bin/env python3
"""A random-source SYN flood (issue 14): N bare SYNs to one server port from random (spoofed)
IPv4 sources and ports, 10 us apart, as a spoofing flooder (hping3 --flood --rand-source) sends
them. Every packet opens a flow and a new source, so it measures what the flow table and the
detectors' tables cost when nothing repeats. Seeded: the same N gives the same file.

Usage: make-syn-flood-pcap.py OUT.pcap [SYNS=2000000]   (writes only the file it is given)"""
import random
import struct
import sys

out, syns = sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 2_000_000
rng = random.Random(14)
ETHERNET = b"\x02\x00\x00\x00\x00\x02\x02\x00\x00\x00\x00\x01\x08\x00"
VICTIM = bytes([192, 0, 2, 80])


def checksum(data: bytes) -> int:
    s = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def syn(src: bytes, sport: int, seq: int) -> bytes:
    tcp = struct.pack("!HHIIBBHHH", sport, 80, seq, 0, 5 << 4, 0x02, 64240, 0, 0)
    pseudo = src + VICTIM + struct.pack("!BBH", 0, 6, len(tcp))
    tcp = tcp[:16] + struct.pack("!H", checksum(pseudo + tcp)) + tcp[18:]
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), seq & 0xFFFF, 0, 64, 6, 0, src, VICTIM)
    ip = ip[:10] + struct.pack("!H", checksum(ip)) + ip[12:]
    return ETHERNET + ip + tcp


with open(out, "wb") as f:
    f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
    t = 1_700_000_000 * 1_000_000
    chunk = []
    for i in range(syns):
        src = struct.pack("!I", rng.getrandbits(32) | 0x01000000)  # never 0.x.x.x
        pkt = syn(src, 1024 + rng.getrandbits(16) % 64512, rng.getrandbits(32))
        t += 10
        chunk.append(struct.pack("<IIII", t // 1_000_000, t % 1_000_000, len(pkt), len(pkt)) + pkt)
        if len(chunk) == 65536:
            f.write(b"".join(chunk))
            chunk.clear()
    f.write(b"".join(chunk))
