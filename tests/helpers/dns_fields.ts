// DNS records against tshark's dns.* fields: each record's name, type and TTL and its typed data
// (addresses, names, MX, TXT, SOA, SRV, NAPTR, CAA, SVCB/HTTPS, DS, DNSKEY, RRSIG, the EDNS OPT
// record with client subnet and cookies), per frame in wire order, across the three sections.
import { deepStrictEqual as assertEquals } from "node:assert/strict";
import * as abi from "../../src/decoder/abi.ts";
import { type DnsDetails, dnsMessage, type DnsRecord } from "../../src/app/dns/message.ts";
import { DNS_TYPES } from "../../src/app/names.ts";
import { appEvents, tsharkFields } from "./app.ts";

const TYPE_NUMBERS = new Map(Object.entries(DNS_TYPES).map(([n, name]) => [name, n]));
const typeNumber = (t: string) => TYPE_NUMBERS.get(t) ?? t.replace(/^TYPE/, "");

type Value = string | number;
const detail = (r: DnsRecord, key: string): Value | undefined => {
  let at: DnsDetails | Value | undefined = r.details;
  for (const part of key.split(".")) at = typeof at === "object" ? at[part] : undefined;
  return typeof at === "object" ? undefined : at;
};
const of = (type: string, key: string) => (r: DnsRecord) =>
  r.type === type && detail(r, key) !== undefined ? [detail(r, key)!] : [];
const dataOf = (...types: string[]) => (r: DnsRecord) => types.includes(r.type) ? r.data : [];
/** tshark writes absolute times as "Nov  4, 2019 05:27:50.000000000 UTC". */
const epochOf = (text: string) => String(Date.parse(text.replace(/\.\d+ UTC$/, " UTC")) / 1000);

const srvOwner = (r: DnsRecord) => r.type === "SRV" ? r.name.match(/^(_[^.]+)\.(_[^.]+)\.(.+)$/) : null;

/** tshark's field -> the same values from one record (none when the record has no such field). */
const FIELDS: [string, (r: DnsRecord) => Value[]][] = [
  // tshark 4.0 splits an SRV owner "_service._proto.name" into dns.srv.* instead of dns.resp.name.
  ["dns.resp.name", (r) => srvOwner(r) ? [] : [r.name]],
  ["dns.srv.service", (r) => srvOwner(r)?.slice(1, 2) ?? []],
  ["dns.srv.proto", (r) => srvOwner(r)?.slice(2, 3) ?? []],
  ["dns.srv.name", (r) => srvOwner(r)?.slice(3, 4) ?? []],
  // tshark lists an NSEC's bitmap types in dns.resp.type too, after the record's own type.
  [
    "dns.resp.type",
    (r) => [typeNumber(r.type), ...String(of("NSEC", "nsec.types")(r)[0] ?? "").split(" ").filter((t) => t)],
  ],
  ["dns.nsec.next_domain_name", of("NSEC", "nsec.next")],
  // tshark shows no TTL for OPT: that field holds the extended rcode, version and flags.
  ["dns.resp.ttl", (r) => r.type === "OPT" ? [] : [r.ttl]],
  ["dns.a", dataOf("A")],
  ["dns.aaaa", dataOf("AAAA")],
  ["dns.cname", dataOf("CNAME")],
  ["dns.ns", dataOf("NS")],
  ["dns.ptr.domain_name", dataOf("PTR")],
  ["dns.txt", dataOf("TXT")],
  ["dns.mx.preference", of("MX", "mx.preference")],
  ["dns.mx.mail_exchange", of("MX", "mx.exchange")],
  ["dns.soa.mname", of("SOA", "soa.mname")],
  ["dns.soa.rname", of("SOA", "soa.rname")],
  ["dns.soa.serial_number", of("SOA", "soa.serial")],
  ["dns.soa.refresh_interval", of("SOA", "soa.refresh")],
  ["dns.soa.retry_interval", of("SOA", "soa.retry")],
  ["dns.soa.expire_limit", of("SOA", "soa.expire")],
  ["dns.soa.minimum_ttl", of("SOA", "soa.minimum")],
  ["dns.srv.priority", of("SRV", "srv.priority")],
  ["dns.srv.weight", of("SRV", "srv.weight")],
  ["dns.srv.port", of("SRV", "srv.port")],
  ["dns.srv.target", of("SRV", "srv.name")],
  ["dns.naptr.order", of("NAPTR", "naptr.order")],
  ["dns.naptr.preference", of("NAPTR", "naptr.preference")],
  ["dns.naptr.flags", of("NAPTR", "naptr.flags")],
  ["dns.naptr.service", of("NAPTR", "naptr.service")],
  ["dns.naptr.regex", of("NAPTR", "naptr.regexp")],
  ["dns.naptr.replacement", of("NAPTR", "naptr.replacement")],
  ["dns.caa.flags", of("CAA", "caa.flags")],
  ["dns.caa.tag", of("CAA", "caa.tag")],
  ["dns.caa.value", of("CAA", "caa.value")],
  ["dns.svcb.svcpriority", (r) => [...of("SVCB", "svcb.priority")(r), ...of("HTTPS", "svcb.priority")(r)]],
  ["dns.svcb.targetname", (r) => [...of("SVCB", "svcb.target")(r), ...of("HTTPS", "svcb.target")(r)]],
  ["dns.svcb.svcparam.alpn", (r) => String(detail(r, "svcb.alpn") ?? "").split(",").filter((a) => a)],
  ["dns.svcb.svcparam.port", (r) => detail(r, "svcb.port") === undefined ? [] : [detail(r, "svcb.port")!]],
  [
    "dns.svcb.svcparam.ipv4hint.ip",
    (r) => String(detail(r, "svcb.ipv4hint") ?? "").split(",").filter((a) => a),
  ],
  [
    "dns.svcb.svcparam.ipv6hint.ip",
    (r) => String(detail(r, "svcb.ipv6hint") ?? "").split(",").filter((a) => a),
  ],
  ["dns.ds.key_id", of("DS", "ds.key_tag")],
  ["dns.ds.algorithm", of("DS", "ds.algorithm")],
  ["dns.ds.digest_type", of("DS", "ds.digest_type")],
  ["dns.ds.digest", of("DS", "ds.digest")],
  ["dns.dnskey.flags", of("DNSKEY", "dnskey.flags")],
  ["dns.dnskey.protocol", of("DNSKEY", "dnskey.protocol")],
  ["dns.dnskey.algorithm", of("DNSKEY", "dnskey.algorithm")],
  ["dns.dnskey.key_id", of("DNSKEY", "dnskey.key_tag")],
  ["dns.rrsig.type_covered", of("RRSIG", "rrsig.type_covered")],
  ["dns.rrsig.algorithm", of("RRSIG", "rrsig.algorithm")],
  ["dns.rrsig.labels", of("RRSIG", "rrsig.labels")],
  ["dns.rrsig.original_ttl", of("RRSIG", "rrsig.original_ttl")],
  ["dns.rrsig.signature_expiration", of("RRSIG", "rrsig.expiration")],
  ["dns.rrsig.signature_inception", of("RRSIG", "rrsig.inception")],
  ["dns.rrsig.key_tag", of("RRSIG", "rrsig.key_tag")],
  ["dns.rrsig.signers_name", of("RRSIG", "rrsig.signer")],
  ["dns.rr.udp_payload_size", of("OPT", "edns.udp_size")],
  ["dns.resp.ext_rcode", of("OPT", "edns.ext_rcode")],
  ["dns.resp.edns0_version", of("OPT", "edns.version")],
  ["dns.resp.z.do", of("OPT", "edns.do")],
  ["dns.opt.client.family", of("OPT", "edns.client_subnet.family")],
  ["dns.opt.client.netmask", of("OPT", "edns.client_subnet.source_prefix")],
  ["dns.opt.client.scope", of("OPT", "edns.client_subnet.scope_prefix")],
  ["dns.opt.cookie.client", of("OPT", "edns.cookie.client")],
  ["dns.opt.cookie.server", of("OPT", "edns.cookie.server")],
];
const TIME_FIELDS = new Set(["dns.rrsig.signature_expiration", "dns.rrsig.signature_inception"]);

/**
 * A tshark cell as comparable text: absolute times as epoch seconds, hex-formatted numbers
 * (dns.resp.ext_rcode) as decimal, and the "<MISSING>" placeholder of an absent field dropped.
 */
function tsharkCell(field: string, values: string[]): string {
  return values.filter((v) => v !== "<MISSING>")
    .map((v) => TIME_FIELDS.has(field) ? epochOf(v) : /^0x[0-9a-f]+$/.test(v) ? String(parseInt(v, 16)) : v)
    .join("|");
}

/**
 * Compares every DNS record wiresight reads in `path` with tshark's fields for the same frame;
 * returns how many frames only tshark decodes DNS in (the caller knows why), or null when
 * wiresight saw no DNS and `askTshark` is false.
 */
export async function compareDnsRecords(path: string, askTshark = true): Promise<number[] | null> {
  const fields = FIELDS.map(([f]) => f);
  const ours = await appEvents(path, [abi.AK_DNS], (e) => ({ frame: e.frame, m: dnsMessage(e) }));
  if (!ours.length && !askTshark) return null;
  const theirs = await tsharkFields(path, "dns || mdns", fields);
  const tsharkRows = new Map(theirs.map((t) => [t.frame, t.values.map((v, i) => tsharkCell(fields[i], v))]));
  // Malformed messages are compared too, up to where wiresight stopped (tshark stops there too).
  const byFrame = new Map<number, DnsRecord[]>();
  for (const { frame, m } of ours) {
    // tshark does not decode a DoH GET's dns= parameter; app_http2_test.ts compares those queries.
    if (m.transport === "doh" && !tsharkRows.has(frame)) continue;
    byFrame.set(frame, [...(byFrame.get(frame) ?? []), ...m.records]);
    assertEquals(m.capped, [], `frame ${frame}: no section is over the cap here`);
  }
  for (const [frame, records] of byFrame) {
    // A record-less message tshark does not call DNS (NBNS on port 137) has nothing to compare.
    if (!records.length && !tsharkRows.has(frame)) continue;
    const row = FIELDS.map(([, get]) => records.flatMap(get).join("|"));
    assertEquals(row, tsharkRows.get(frame), `frame ${frame}`);
  }
  return [...tsharkRows.keys()].filter((f) => !byFrame.has(f));
}
