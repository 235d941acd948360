// Application-layer activity for the report: each protocol's section takes the decoder's APP
// events of its kinds and reports its own totals (bounded counters only).
import type { AppEvent } from "../decoder/app_event.ts";
import type { FlowRecord } from "../decoder/records.ts";
import type { Style } from "../base/format.ts";
import { type DnsReport, DnsSection } from "./dns/section.ts";
import { type FtpReport, FtpSection } from "./ftp/section.ts";
import { type HttpReport, HttpSection } from "./http/section.ts";
import { type OtherReport, OtherSection } from "./other/section.ts";
import { QuicHellos, type QuicReport, QuicSection } from "./quic/section.ts";
import type { Section } from "./protocol.ts";
import { FlowNames } from "./protocol.ts";
import { type SshReport, SshSection } from "./ssh/section.ts";
import { type TlsReport, TlsSection } from "./tls/section.ts";

export interface AppReport {
  dns: DnsReport | null;
  http: HttpReport | null;
  tls: TlsReport | null;
  quic: QuicReport | null;
  ssh: SshReport | null;
  ftp: FtpReport | null;
  other: OtherReport | null;
}

export class AppSummary {
  /** Names flows learned from their own payload (SNI, Host), until their records go out. */
  readonly flowNames = new FlowNames();
  /** Flows recognised as encrypted DNS (tls/encrypted_dns.ts); on when `flowNames` is. */
  readonly flowLabels = new FlowNames();
  readonly dns = new DnsSection();
  readonly #quicHellos = new QuicHellos();
  readonly #sections: Section<unknown>[] = [
    this.dns,
    new HttpSection(this.flowNames),
    new TlsSection(this.flowNames, this.#quicHellos, this.flowLabels),
    new QuicSection(this.#quicHellos),
    new SshSection(),
    new FtpSection(),
    new OtherSection(),
  ];
  readonly #byKind = new Map<number, Section<unknown>>();

  constructor() {
    for (const s of this.#sections) for (const k of s.kinds) this.#byKind.set(k, s);
  }

  add(e: AppEvent): void {
    this.#byKind.get(e.kind)?.add(e);
  }

  /** A name for an address: the DNS question that resolved it. */
  nameOf(address: string): string | undefined {
    return this.dns.nameOf(address);
  }

  /**
   * The name a flow is known by: what its own payload said (TLS/QUIC SNI, HTTP Host), else the
   * DNS name that resolved its responder. Call once per flow record (turn on `flowNames` first).
   */
  flowName(f: FlowRecord): string | null {
    return this.flowNames.take(f.id) ?? this.nameOf(f.dst) ?? null;
  }

  /** "doh", "dot" or "doq" for a flow recognised as encrypted DNS (call once per flow record). */
  flowLabel(f: FlowRecord): string | null {
    return this.flowLabels.take(f.id) ?? null;
  }

  report(top: number): AppReport {
    return Object.fromEntries(this.#sections.map((s) => [s.key, s.report(top)])) as unknown as AppReport;
  }

  /** The human report's application sections, in order. */
  text(r: AppReport, st: Style): string[] {
    const out: string[] = [];
    for (const s of this.#sections) {
      const section = (r as unknown as Record<string, unknown>)[s.key];
      if (section) out.push("", ...s.text(section, st));
    }
    return out;
  }
}
