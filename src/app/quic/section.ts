// The report's QUIC section: the Initials (decrypt.ts reads their ClientHello) and, from the TLS
// events those ClientHellos became, the names, ALPN and JA4 of QUIC connections.
import * as abi from "../../decoder/abi.ts";
import type { AppEvent } from "../../decoder/app_event.ts";
import { count, counted, type Style, table } from "../../base/format.ts";
import { Counter } from "../../base/counter.ts";
import { QUIC_V1, QUIC_V2 } from "./crypto.ts";
import type { Section } from "../protocol.ts";
import { hex } from "../tls/names.ts";

/**
 * What the TLS section saw of ClientHellos that came over QUIC: they are TLS events (TlsSection
 * takes them) but QuicSection reports them, so the summary hands both the same QuicHellos.
 */
export class QuicHellos {
  hellos = 0;
  readonly snis = new Counter();
  readonly alpn = new Counter(1000);
  readonly ja4 = new Counter();

  add(sni: string | null, alpn: string[], ja4: string): void {
    this.hellos++;
    if (sni !== null) this.snis.add(sni);
    for (const a of alpn) this.alpn.add(a);
    this.ja4.add(ja4);
  }
}

export function quicVersionName(v: number): string {
  return v === QUIC_V1 ? "v1" : v === QUIC_V2 ? "v2" : hex(v);
}

export interface QuicReport {
  /** Client Initial packets seen (the first few of each connection). */
  initials: number;
  versions: Record<string, number>;
  /** ClientHellos decrypted from them. */
  client_hellos: number;
  top_sni: { sni: string; count: number }[];
  alpn: Record<string, number>;
  top_ja4: { ja4: string; count: number }[];
}

export class QuicSection implements Section<QuicReport> {
  readonly key = "quic";
  readonly kinds = [abi.AK_QUIC_INITIAL];
  #initials = 0;
  readonly #versions = new Counter(100);

  constructor(private readonly hellos: QuicHellos) {}

  add(e: AppEvent): void {
    this.#initials++;
    this.#versions.add(quicVersionName(e.num(abi.F_QUIC_VERSION) ?? 0));
  }

  report(top: number): QuicReport | null {
    const h = this.hellos;
    if (this.#initials === 0 && h.hellos === 0) return null;
    return {
      initials: this.#initials,
      versions: Object.fromEntries(this.#versions.top(100)),
      client_hellos: h.hellos,
      top_sni: h.snis.top(top).map(([sni, count]) => ({ sni, count })),
      alpn: Object.fromEntries(h.alpn.top(top)),
      top_ja4: h.ja4.top(top).map(([ja4, count]) => ({ ja4, count })),
    };
  }

  text(r: QuicReport, st: Style): string[] {
    const list = (o: Record<string, number>) =>
      Object.entries(o).map(([k, n]) => `${k} ${count(n)}`).join(", ");
    const out = [
      st.heading("QUIC"),
      `  ${counted(r.initials, "client Initial")} (${list(r.versions)}), ${
        counted(r.client_hellos, "ClientHello")
      } decrypted`,
    ];
    if (r.top_sni.length) {
      out.push(table(["Server name", "Hellos"], r.top_sni.map((s) => [s.sni, count(s.count)])));
    }
    if (Object.keys(r.alpn).length) out.push(`  ALPN: ${list(r.alpn)}`);
    if (r.top_ja4.length) out.push(table(["JA4", "Hellos"], r.top_ja4.map((j) => [j.ja4, count(j.count)])));
    return out;
  }
}
