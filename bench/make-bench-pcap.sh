#!/bin/bash
# Builds the ~1 GiB benchmark capture: real mixed traffic (HTTP, TLS 1.2/1.3, DNS over UDP and TCP,
# iperf3 TCP/UDP bulk, ICMP/ICMPv6 echo, IPv4 and IPv6) captured on the loopback of a private network
# namespace, then replicated with rewritten addresses and shifted times up to the target size.
# Output goes to /tmp only: $BENCH_DIR/seed.pcap and $BENCH_DIR/bench.pcap (BENCH_DIR=/tmp/bench).
# Needs root and (Debian): tcpdump curl openssl dnsmasq-base dnsutils iperf3 ethtool wireshark-common
# iproute2 python3.
# Usage: bench/make-bench-pcap.sh [TARGET_MB=1024]
set -eu
TARGET_MB=${1:-1024}
BENCH_DIR=${BENCH_DIR:-/tmp/bench}
NS=wiresight-bench
case "$BENCH_DIR" in /tmp/?*) ;; *) echo "BENCH_DIR must be under /tmp" >&2; exit 2 ;; esac

# Outside the namespace: create it, run this script inside it, remove it, then replicate.
if [ -z "${IN_BENCH_NS:-}" ]; then
  for tool in tcpdump curl openssl dnsmasq dig iperf3 ethtool capinfos ip python3; do
    command -v $tool >/dev/null || { echo "missing $tool (see the package list at the top)" >&2; exit 1; }
  done
  ip netns del $NS 2>/dev/null || true
  ip netns add $NS
  trap 'ip netns del $NS 2>/dev/null || true' EXIT
  # MTU 1500 and no segmentation offloads, so the capture holds wire-sized packets, not 64 KiB ones.
  ip netns exec $NS ip link set lo up mtu 1500
  ip netns exec $NS ethtool -K lo tso off gso off gro off >/dev/null
  IN_BENCH_NS=1 ip netns exec $NS bash "$0" "$TARGET_MB"
  capinfos -c -d "$BENCH_DIR/seed.pcap"
  python3 "$(dirname "$0")/replicate_pcap.py" "$BENCH_DIR/seed.pcap" "$BENCH_DIR/bench.pcap" "$TARGET_MB"
  capinfos -c -d -u "$BENCH_DIR/bench.pcap"
  exit 0
fi

mkdir -p "$BENCH_DIR"
cd "$BENCH_DIR"
rm -rf www seed.pcap bench.pcap
mkdir www
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT

# Content: many small pages (one connection each) and a few large downloads.
for i in $(seq 1 200); do head -c $((200 + i * 37)) /dev/urandom | base64 >www/p$i.html; done
for i in 1 2 3; do head -c $((3 * 1024 * 1024 * i)) /dev/urandom >www/big$i.bin; done

# Servers, all on loopback inside the namespace.
(cd www && exec python3 -m http.server 18080 --bind 127.0.0.1 >/dev/null 2>&1) & PIDS+=($!)
(cd www && exec python3 -m http.server 18081 --bind ::1 >/dev/null 2>&1) & PIDS+=($!)
openssl req -x509 -newkey rsa:2048 -nodes -keyout key.pem -out cert.pem -days 2 -subj /CN=bench.test \
  >/dev/null 2>&1
openssl s_server -accept 18443 -cert cert.pem -key key.pem -www -quiet >/dev/null 2>&1 & PIDS+=($!)
printf '127.0.0.1 www.example.com\n127.0.0.1 api.example.org\n::1 v6.example.org\n' >hosts
dnsmasq -k -p 15353 --listen-address=127.0.0.1 --bind-interfaces --no-resolv --no-hosts \
  --addn-hosts="$BENCH_DIR/hosts" --address=/bench.test/127.0.0.2 --txt-record=txt.bench.test,"hello bench" \
  --pid-file="$BENCH_DIR/dnsmasq.pid" >/dev/null 2>&1 & PIDS+=($!)
iperf3 -s -p 15201 >/dev/null 2>&1 & PIDS+=($!)
sleep 1.5

tcpdump -i lo -s 0 -U -w seed.pcap >/dev/null 2>&1 & TD=$!
PIDS+=($TD)
sleep 1
# Clients use several source addresses (127.0.0.10-49), so the capture has many hosts. The groups
# run at the same time, so flows interleave as on a real link.
src() { echo 127.0.0.$((10 + $1 % 40)); }
http() {
  # One page per connection, keep-alive batches, big downloads, some over IPv6.
  for i in $(seq 1 300); do
    curl -s --interface "$(src "$i")" -o /dev/null "http://127.0.0.1:18080/p$((1 + i % 200)).html"
  done
  for i in $(seq 1 20); do
    curl -s --interface "$(src "$i")" -o /dev/null -o /dev/null -o /dev/null -o /dev/null \
      "http://127.0.0.1:18080/p{$i,$((i + 1)),$((i + 2)),$((i + 3))}.html"
  done
  for i in $(seq 1 60); do curl -s -g -o /dev/null "http://[::1]:18081/p$i.html"; done
  for i in 1 2 3; do curl -s -o /dev/null "http://127.0.0.1:18080/big$i.bin"; done
  curl -s -g -o /dev/null "http://[::1]:18081/big1.bin"
}
tls() {
  # TLS 1.3 and 1.2 with varied SNI.
  for i in $(seq 1 150); do
    v=--tlsv1.3; [ $((i % 2)) = 0 ] && v="--tlsv1.2 --tls-max 1.2"
    h=host$i.svc$((i % 7)).bench.test
    # shellcheck disable=SC2086
    curl -sk $v --interface "$(src "$i")" --resolve "$h:18443:127.0.0.1" -o /dev/null "https://$h:18443/" || true
  done
}
dns() {
  # A, AAAA, TXT, NXDOMAIN over UDP; every tenth over TCP.
  for i in $(seq 1 400); do
    tcp=; [ $((i % 10)) = 0 ] && tcp=+tcp
    case $((i % 5)) in
      0) q="www.example.com A" ;; 1) q="n$i.bench.test A" ;; 2) q="v6.example.org AAAA" ;;
      3) q="txt.bench.test TXT" ;; 4) q="nx$i.unknown.zz A" ;;
    esac
    # shellcheck disable=SC2086
    dig +short +tries=1 +time=1 $tcp -b "$(src "$i")" -p 15353 @127.0.0.1 $q >/dev/null || true
  done
}
icmp() {
  # ICMP and ICMPv6 echo (no ping binary needed).
  python3 - <<'PY'
import socket, struct, time
def csum(b):
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    s = (s >> 16) + (s & 0xffff)
    return ~(s + (s >> 16)) & 0xffff
s4 = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
s6 = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)  # kernel fills the checksum
for seq in range(100):
    body = struct.pack("!HH", 0x4242, seq) + bytes(56)
    s4.sendto(struct.pack("!BBH", 8, 0, csum(b"\x08\x00\x00\x00" + body)) + body, ("127.0.0.1", 0))
    s6.sendto(struct.pack("!BBH", 128, 0, 0) + body, ("::1", 0))
    time.sleep(0.02)
PY
}
bulk() {
  # Bounded by bytes or time and bandwidth, so the seed stays at some tens of MB.
  iperf3 -c 127.0.0.1 -p 15201 -n 8M -l 16K >/dev/null 2>&1
  iperf3 -c ::1 -p 15201 -n 2M -l 8K >/dev/null 2>&1
  iperf3 -c 127.0.0.1 -p 15201 -u -b 20M -t 1 -l 1200 >/dev/null 2>&1
  iperf3 -c 127.0.0.1 -p 15201 -u -b 10M -t 1 -l 200 >/dev/null 2>&1
}
CLIENTS=()
for group in http tls dns icmp bulk; do $group & CLIENTS+=($!); done
wait "${CLIENTS[@]}" || echo "warning: a traffic group failed; the capture is smaller" >&2
sleep 1
kill $TD
wait $TD 2>/dev/null || true
