// One alert per incident: the signals one attack trips in several detectors are folded into the
// alert that names it best. A scanner's SYNs are a scan, not also a flood or a beacon; the host it
// scans (answering each probe) and a flood's source and victim are parties of that incident, not
// packet-rate alerts of their own; a service under a flood gets one flood alert (SYN or connection
// flood, whichever is raised first), and connections to it are not a beacon. The engine asks here
// before raising; an alert already raised stays (its line may already be printed).
import type { AlertInput } from "./alert.ts";
import { BoundedTable } from "../base/bounded_table.ts";

export class Incidents {
  /** Hosts that scanned. */
  readonly #scanners: BoundedTable<true>;
  /** Host -> the alert ("type|key") whose incident it is a party of. */
  readonly #parties: BoundedTable<string>;
  /** "dst:port" of a flooded service -> its flood alert ("type|key"). */
  readonly #floods: BoundedTable<string>;

  constructor(maxEntries: number) {
    this.#scanners = new BoundedTable("incidents.scanners", maxEntries);
    this.#parties = new BoundedTable("incidents.parties", maxEntries);
    this.#floods = new BoundedTable("incidents.floods", maxEntries);
  }

  get tables(): BoundedTable<unknown>[] {
    return [this.#scanners, this.#parties, this.#floods];
  }

  /** Whether `a` names an incident of its own (or updates its own alert). */
  admit(a: AlertInput): boolean {
    const own = `${a.type}|${a.key}`;
    const { src, dst } = a;
    switch (a.incident) {
      case "scan":
        if (src) this.#scanners.set(src, true);
        this.#join(own, src, dst);
        return true;
      case "flood": {
        if (src && this.#scanners.get(src)) return false;
        const service = `${dst}:${a.dstPort}`;
        const owner = this.#floods.get(service);
        if (owner !== undefined && owner !== own) return false;
        this.#floods.set(service, own);
        this.#join(own, src, dst);
        return true;
      }
      case "host_rate": {
        const owner = src ? this.#parties.get(src) : undefined;
        if (owner !== undefined && owner !== own) return false;
        this.#join(own, src);
        return true;
      }
      case "periodic":
        return !(src && this.#scanners.get(src)) && this.#floods.get(`${dst}:${a.dstPort}`) === undefined;
      default:
        return true;
    }
  }

  /** Hosts become parties of the first incident that names them. */
  #join(own: string, ...hosts: (string | null | undefined)[]): void {
    for (const h of hosts) if (h && this.#parties.get(h) === undefined) this.#parties.set(h, own);
  }
}
