"""Grows a seed capture to a target size for the benchmark (used by make-bench-pcap.sh).

Usage: replicate_pcap.py SEED.pcap OUT.pcap TARGET_MB

Copy k (0, 1, ...) of the seed's records is appended with loopback addresses rewritten, so each copy
is a distinct set of hosts and flows: 127.a.b.c -> 10.k_hi.k_lo.c and ::1 -> fd00::k:1. Its times are
shifted by k seed-lengths, so the result reads as one continuous capture. IPv4 header checksums are
recomputed; TCP/UDP checksums are left as captured (loopback captures carry unfinished ones anyway).
"""

import math
import struct
import sys

ETH = 14
ETH_IPV4, ETH_IPV6 = 0x0800, 0x86DD


def ipv4_checksum(hdr: bytes) -> int:
    s = sum(struct.unpack("!%dH" % (len(hdr) // 2), hdr))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def main() -> None:
    src, dst, target_mb = sys.argv[1], sys.argv[2], int(sys.argv[3])
    data = open(src, "rb").read()
    magic, = struct.unpack_from("<I", data, 0)
    if magic not in (0xA1B2C3D4, 0xA1B23C4D):
        sys.exit(f"{src}: expected a little-endian pcap (got magic {magic:#x})")
    linktype, = struct.unpack_from("<I", data, 20)
    if linktype != 1:
        sys.exit(f"{src}: expected Ethernet (link type 1), got {linktype}")
    tick = 1e9 if magic == 0xA1B23C4D else 1e6

    # One pass over the seed: where each record's timestamp and rewritable addresses are.
    ts_offsets, v4_headers, v6_addrs = [], [], []
    first = last = None
    off = 24
    while off + 16 <= len(data):
        sec, frac, incl, _ = struct.unpack_from("<IIII", data, off)
        t = sec + frac / tick
        first = t if first is None else first
        last = t
        ts_offsets.append(off)
        p = off + 16
        if incl >= ETH + 20:
            ethertype, = struct.unpack_from("!H", data, p + 12)
            ip = p + ETH
            if ethertype == ETH_IPV4 and data[ip] >> 4 == 4:
                ihl = (data[ip] & 15) * 4
                if 20 <= ihl <= incl - ETH and (data[ip + 12] == 127 or data[ip + 16] == 127):
                    v4_headers.append((ip, ihl))
            elif ethertype == ETH_IPV6 and incl >= ETH + 40:
                for a in (ip + 8, ip + 24):
                    if data[a:a + 16] == bytes(15) + b"\x01":
                        v6_addrs.append(a)
        off = p + incl
    if not ts_offsets:
        sys.exit(f"{src}: no records")

    period = math.ceil(last - first) + 1  # seconds between copies: they follow one another
    copies = max(1, math.ceil(target_mb * 1024 * 1024 / (len(data) - 24)))
    with open(dst, "wb") as out:
        out.write(data[:24])
        body = bytearray(data)
        for k in range(copies):
            body[:] = data
            for o in ts_offsets:
                sec, = struct.unpack_from("<I", data, o)
                struct.pack_into("<I", body, o, sec + k * period)
            net = bytes((10, (k >> 8) & 255, k & 255))
            for ip, ihl in v4_headers:
                for a in (ip + 12, ip + 16):
                    if body[a] == 127:
                        body[a:a + 3] = net
                body[ip + 10:ip + 12] = b"\0\0"
                struct.pack_into("!H", body, ip + 10, ipv4_checksum(bytes(body[ip:ip + ihl])))
            for a in v6_addrs:
                body[a] = 0xFD
                struct.pack_into("!H", body, a + 12, k & 0xFFFF)
            out.write(memoryview(body)[24:off])
    print(f"{copies} copies of {len(ts_offsets)} records, {period} s apart")


if __name__ == "__main__":
    main()
