// Community ID v1 against the spec's own baseline (../shared/corpus/community-id: tuples hashed by
// the reference implementation, and the captures they come from).
import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { communityId } from "../src/flows/community_id.ts";
import { corpusRoot } from "./helpers/corpus.ts";
import { wiresight } from "./helpers/cli.ts";

const DIR = `${corpusRoot()}/community-id`;

interface BaselineTuple {
  proto: number;
  saddr: string;
  daddr: string;
  sport: number | null;
  dport: number | null;
  communityid: string;
}

function baseline(file: string): BaselineTuple[] {
  return JSON.parse(Deno.readTextFileSync(`${DIR}/${file}`));
}

for (
  const [file, seed, base64] of [
    ["baseline_deflt.json", 0, true],
    ["baseline_seed1.json", 1, true],
    ["baseline_nob64.json", 0, false],
  ] as const
) {
  Deno.test(`every tuple of ${file} hashes to its Community ID (seed ${seed})`, () => {
    const tuples = baseline(file);
    // TCP, UDP, SCTP, ICMP, ICMPv6 (request/reply and one-way) and a portless protocol (RSVP).
    assertEquals(new Set(tuples.map((t) => t.proto)), new Set([1, 6, 17, 46, 58, 132]));
    const wrong = tuples.filter((t) =>
      communityId(
        { ipProto: t.proto, src: t.saddr, dst: t.daddr, srcPort: t.sport ?? 0, dstPort: t.dport ?? 0 },
        seed,
        base64,
      ) !== t.communityid
    );
    assertEquals(wrong, []);
  });
}

Deno.test("read's flow records carry the Community IDs of the baseline captures, for seed 0 and 1", async () => {
  const captures = ["tcp", "udp", "sctp", "icmp", "icmp6", "ipv6", "rsvp"].map((c) => `${DIR}/${c}.pcap`);
  for (const [file, seed] of [["baseline_deflt.json", 0], ["baseline_seed1.json", 1]] as const) {
    const ids = new Set<string>();
    for (const capture of captures) {
      const out = await Deno.makeTempFile({ suffix: ".ndjson" });
      const r = await wiresight([
        "read",
        capture,
        "--export",
        out,
        "--export-type",
        "flows",
        "--community-id-seed",
        String(seed),
        "-q",
      ]);
      assertEquals(r.code, 0, r.stderr);
      for (const line of Deno.readTextFileSync(out).trim().split("\n")) {
        ids.add(JSON.parse(line).community_id);
      }
      Deno.removeSync(out);
    }
    // Each baseline tuple is one direction of a flow in these captures: both directions of a flow
    // (ICMP request and reply included) are one flow record with the same ID.
    assertEquals(ids, new Set(baseline(file).map((t) => t.communityid)));
  }
});

Deno.test("--community-id-seed takes 0 to 65535 only", async () => {
  const r = await wiresight(["read", `${DIR}/tcp.pcap`, "--community-id-seed", "65536", "-q"]);
  assertEquals(r.code, 2);
});
