// The report's DNS section: names asked, types, response codes, and the address -> name map that
// names flows and talkers.
import * as abi from "../../decoder/abi.ts";
import type { AppEvent } from "../../decoder/app_event.ts";
import { BoundedTable } from "../../base/bounded_table.ts";
import { Counter, COUNTER_CAPACITY } from "../../base/counter.ts";
import { count, counted, type Style, table } from "../../base/format.ts";
import type { Section } from "../protocol.ts";
import { dnsMessage } from "./message.ts";

export interface DnsReport {
  messages: number;
  queries: number;
  responses: number;
  over_tcp: number;
  nxdomain: number;
  malformed: number;
  top_queries: { name: string; count: number }[];
  query_types: Record<string, number>;
  rcodes: Record<string, number>;
  /** Names that resolved to addresses (A/AAAA answers), most asked first. */
  resolved: { name: string; addresses: string[] }[];
}

/** DNS activity for the report, and the address -> name map that names flows and talkers. */
export class DnsSection implements Section<DnsReport> {
  readonly key = "dns";
  readonly kinds = [abi.AK_DNS];
  #messages = 0;
  #queries = 0;
  #responses = 0;
  #tcp = 0;
  #nxdomain = 0;
  #malformed = 0;
  readonly #names = new Counter();
  readonly #types = new Counter(1000);
  readonly #rcodes = new Counter(100);
  readonly #resolved = new BoundedTable<Set<string>>("dns_resolved", COUNTER_CAPACITY);
  /** address -> the name it was last resolved from, and when. */
  readonly #addressNames = new BoundedTable<{ name: string; sec: number }>("dns_address_names", 65536);

  add(e: AppEvent): void {
    const m = dnsMessage(e);
    this.#messages++;
    if (m.transport === "tcp") this.#tcp++;
    if (m.error) this.#malformed++;
    if (!m.response) {
      this.#queries++;
      for (const q of m.questions) {
        this.#names.add(q.name);
        this.#types.add(q.type);
      }
      return;
    }
    this.#responses++;
    this.#rcodes.add(m.rcode);
    if (m.rcode === "NXDOMAIN") this.#nxdomain++;
    const asked = m.questions[0]?.name;
    for (const r of m.records) {
      if (r.section !== "answer" || (r.type !== "A" && r.type !== "AAAA") || !asked) continue;
      for (const address of r.data) {
        const set = this.#resolved.peek(asked) ?? new Set<string>();
        if (set.size < 64) set.add(address);
        this.#resolved.set(asked, set);
        this.#addressNames.set(address, { name: asked, sec: e.tsSec });
      }
    }
  }

  /** The name `address` was last resolved from (reading it does not keep it longer). */
  nameOf(address: string): string | undefined {
    return this.#addressNames.peek(address)?.name;
  }

  report(top: number): DnsReport | null {
    if (this.#messages === 0) return null;
    const names = this.#queries > 0 ? this.#names.top(top) : [];
    return {
      messages: this.#messages,
      queries: this.#queries,
      responses: this.#responses,
      over_tcp: this.#tcp,
      nxdomain: this.#nxdomain,
      malformed: this.#malformed,
      top_queries: names.map(([name, count]) => ({ name, count })),
      query_types: Object.fromEntries(this.#types.top(1000)),
      rcodes: Object.fromEntries(this.#rcodes.top(100)),
      resolved: names.filter(([n]) => this.#resolved.peek(n)).map(([name]) => ({
        name,
        addresses: [...this.#resolved.peek(name)!].sort(),
      })),
    };
  }

  text(d: DnsReport, st: Style): string[] {
    const out = [st.heading("DNS")];
    out.push(
      `  ${counted(d.messages, "message")}: ${counted(d.queries, "query", "queries")}, ` +
        `${counted(d.responses, "response")}, ` +
        `${count(d.nxdomain)} NXDOMAIN, ${count(d.over_tcp)} over TCP${
          d.malformed ? `, ${count(d.malformed)} malformed` : ""
        }`,
    );
    if (d.top_queries.length) {
      const resolved = new Map(d.resolved.map((x) => [x.name, x.addresses]));
      out.push(table(
        ["Name", "Queries", "Resolved to"],
        d.top_queries.map((
          q,
        ) => [q.name, count(q.count), (resolved.get(q.name) ?? []).slice(0, 3).join(" ")]),
      ));
    }
    const list = (o: Record<string, number>) =>
      Object.entries(o).map(([k, n]) => `${k} ${count(n)}`).join(", ");
    if (Object.keys(d.query_types).length) out.push(`  Query types: ${list(d.query_types)}`);
    if (Object.keys(d.rcodes).length) out.push(`  Response codes: ${list(d.rcodes)}`);
    return out;
  }
}
