// Application-layer activity for the report: each protocol's section takes the decoder's APP
// events for its kinds and reports its own totals (bounded counters only).
import * as abi from "../decoder/abi.ts";
import type { AppEvent } from "../decoder/app_event.ts";
import { type DnsReport, DnsSection } from "./dns.ts";

export interface AppReport {
  dns: DnsReport | null;
}

export class AppSummary {
  readonly dns = new DnsSection();

  add(e: AppEvent): void {
    switch (e.kind) {
      case abi.AK_DNS:
        this.dns.add(e);
        break;
    }
  }

  /** A name for an address: the DNS question that resolved it. */
  nameOf(address: string): string | undefined {
    return this.dns.addressNames.get(address)?.name;
  }

  report(top: number): AppReport {
    return {
      dns: this.dns.active ? this.dns.report(top) : null,
    };
  }
}
