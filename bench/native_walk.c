// Native baseline for the benchmark: read a pcap in 2 MiB chunks, walk its records, parse the
// Ethernet (+VLAN) / IPv4 / IPv6 5-tuple and count bidirectional flows in an open-addressing hash
// table. It is the floor wiresight is measured against, so it does only that.
// Build: gcc -O2 -o native_walk native_walk.c     Run: native_walk FILE.pcap
// Prints one JSON line: {"packets":N,"bytes":N,"captured_bytes":N,"flows":N}
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CHUNK (2u << 20) // the size of wiresight's reads
#define LINKTYPE_ETHERNET 1
#define LINKTYPE_RAW 101
#define LINKTYPE_IPV4 228
#define LINKTYPE_IPV6 229

// Canonical bidirectional key: the lower (address, port) end first, so both directions meet.
typedef struct {
  uint8_t a[16], b[16];
  uint16_t aport, bport, vlan;
  uint8_t proto, used;
} Flow;

static Flow *table;
static size_t cap = 1 << 16, count;

static uint64_t hash_key(const Flow *k) {
  // FNV-1a over the key bytes before `used` (padding is zeroed by the caller).
  const uint8_t *p = (const uint8_t *)k;
  uint64_t h = 1469598103934665603ull;
  for (size_t i = 0; i < offsetof(Flow, used); i++) h = (h ^ p[i]) * 1099511628211ull;
  return h ^ (h >> 29);
}

static void insert(const Flow *k);

static void grow(void) {
  Flow *old = table;
  size_t old_cap = cap;
  cap *= 2;
  table = calloc(cap, sizeof(Flow));
  if (!table) { perror("calloc"); exit(1); }
  count = 0;
  for (size_t i = 0; i < old_cap; i++) if (old[i].used) insert(&old[i]);
  free(old);
}

static void insert(const Flow *k) {
  if (2 * (count + 1) > cap) grow(); // keep the load factor at most 1/2
  size_t mask = cap - 1, i = hash_key(k) & mask;
  while (table[i].used) {
    if (memcmp(&table[i], k, offsetof(Flow, used)) == 0) return;
    i = (i + 1) & mask;
  }
  table[i] = *k;
  table[i].used = 1;
  count++;
}

static void add_flow(const uint8_t *src, const uint8_t *dst, int alen, uint16_t sport, uint16_t dport,
                     uint8_t proto, uint16_t vlan) {
  Flow k;
  memset(&k, 0, sizeof k);
  int c = memcmp(src, dst, alen);
  int swap = c > 0 || (c == 0 && sport > dport);
  memcpy(k.a, swap ? dst : src, alen);
  memcpy(k.b, swap ? src : dst, alen);
  k.aport = swap ? dport : sport;
  k.bport = swap ? sport : dport;
  k.proto = proto;
  k.vlan = vlan;
  insert(&k);
}

static uint16_t be16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }

// Ports of a TCP/UDP/SCTP header at p (len bytes left); 0/0 for other protocols or short headers.
static void ports(const uint8_t *p, size_t len, uint8_t proto, uint16_t *sport, uint16_t *dport) {
  *sport = *dport = 0;
  if ((proto == 6 || proto == 17 || proto == 132) && len >= 4) {
    *sport = be16(p);
    *dport = be16(p + 2);
  }
}

static void ip_packet(const uint8_t *p, size_t len, uint16_t vlan) {
  uint16_t sport, dport;
  if (len >= 20 && p[0] >> 4 == 4) {
    size_t ihl = (size_t)(p[0] & 15) * 4;
    if (ihl < 20 || ihl > len) return;
    int later_fragment = (be16(p + 6) & 0x1fff) != 0;
    ports(p + ihl, later_fragment ? 0 : len - ihl, p[9], &sport, &dport);
    add_flow(p + 12, p + 16, 4, sport, dport, p[9], vlan);
  } else if (len >= 40 && p[0] >> 4 == 6) {
    uint8_t next = p[6];
    size_t off = 40;
    // Skip hop-by-hop, routing, destination options and fragment headers (bounded chain).
    for (int n = 0; n < 8 && off + 8 <= len; n++) {
      if (next == 0 || next == 43 || next == 60) {
        next = p[off];
        off += ((size_t)p[off + 1] + 1) * 8;
      } else if (next == 44) {
        int later_fragment = (be16(p + off + 2) & 0xfff8) != 0;
        next = p[off];
        off += 8;
        if (later_fragment) off = len;
      } else break;
    }
    ports(p + off, off <= len ? len - off : 0, next, &sport, &dport);
    add_flow(p + 8, p + 24, 16, sport, dport, next, vlan);
  }
}

static void ethernet(const uint8_t *p, size_t len) {
  if (len < 14) return;
  uint16_t type = be16(p + 12), vlan = 0;
  size_t off = 14;
  for (int n = 0; n < 2 && (type == 0x8100 || type == 0x88a8) && off + 4 <= len; n++) {
    if (n == 0) vlan = be16(p + off) & 0xfff; // the outer tag, as wiresight keys flows
    type = be16(p + off + 2);
    off += 4;
  }
  if (type == 0x0800 || type == 0x86dd) ip_packet(p + off, len - off, vlan);
}

static uint32_t get32(const uint8_t *p, int swapped) {
  uint32_t v;
  memcpy(&v, p, 4);
  return swapped ? __builtin_bswap32(v) : v;
}

int main(int argc, char **argv) {
  if (argc != 2) { fprintf(stderr, "usage: %s FILE.pcap\n", argv[0]); return 2; }
  int fd = open(argv[1], O_RDONLY);
  if (fd < 0) { perror(argv[1]); return 1; }
  uint8_t *buf = malloc(CHUNK);
  table = calloc(cap, sizeof(Flow));
  if (!buf || !table) { perror("malloc"); return 1; }

  size_t have = 0, pos = 0;
  int eof = 0, swapped = -1;
  uint32_t linktype = 0;
  uint64_t packets = 0, bytes = 0, captured = 0;
  for (;;) {
    if (!eof) {
      ssize_t n = read(fd, buf + have, CHUNK - have);
      if (n < 0) { perror("read"); return 1; }
      if (n == 0) eof = 1;
      have += (size_t)n;
    }
    if (swapped < 0) {
      if (have < 24) {
        if (eof) { fprintf(stderr, "%s: not a pcap file\n", argv[1]); return 1; }
        continue;
      }
      uint32_t magic = get32(buf, 0);
      if (magic == 0xa1b2c3d4 || magic == 0xa1b23c4d) swapped = 0;
      else if (magic == 0xd4c3b2a1 || magic == 0x4d3cb2a1) swapped = 1;
      else { fprintf(stderr, "%s: not a pcap file (pcapng is not walked here)\n", argv[1]); return 1; }
      linktype = get32(buf + 20, swapped) & 0xffff;
      pos = 24;
    }
    while (pos + 16 <= have) {
      uint32_t incl = get32(buf + pos + 8, swapped), orig = get32(buf + pos + 12, swapped);
      if (incl > CHUNK - 16) { fprintf(stderr, "corrupt record at chunk offset %zu\n", pos); return 1; }
      if (pos + 16 + incl > have) break;
      const uint8_t *p = buf + pos + 16;
      packets++;
      bytes += orig;
      captured += incl;
      if (linktype == LINKTYPE_ETHERNET) ethernet(p, incl);
      else if (linktype == LINKTYPE_RAW || linktype == LINKTYPE_IPV4 || linktype == LINKTYPE_IPV6) {
        ip_packet(p, incl, 0);
      }
      pos += 16 + incl;
    }
    if (eof) {
      if (pos != have) fprintf(stderr, "warning: %zu trailing bytes (truncated record)\n", have - pos);
      break;
    }
    memmove(buf, buf + pos, have - pos); // carry the incomplete record over
    have -= pos;
    pos = 0;
  }
  close(fd);
  printf("{\"packets\":%llu,\"bytes\":%llu,\"captured_bytes\":%llu,\"flows\":%zu}\n",
         (unsigned long long)packets, (unsigned long long)bytes, (unsigned long long)captured, count);
  return 0;
}
