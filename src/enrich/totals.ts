// Traffic per country and per AS over every flow record (not only the top talkers): a flow counts
// once for each distinct country (AS) of its two ends. Bounded: countries are few; ASes are kept
// in a bounded table whose least recent entries fold away.
import { BoundedTable } from "../base/bounded_table.ts";
import type { GeoInfo } from "./geo.ts";

export interface GeoShare {
  flows: number;
  packets: number;
  bytes: number;
}

export interface CountryShare extends GeoShare {
  /** ISO code, or the class of addresses that have none ("private", "loopback", ...). */
  country: string;
}

export interface AsShare extends GeoShare {
  asn: number;
  as_org: string | null;
}

/** ASes kept at once (a capture's public peers rarely reach a few thousand). */
const MAX_AS = 10_000;

export class GeoTotals {
  readonly #countries = new Map<string, GeoShare>();
  readonly #as = new BoundedTable<AsShare, number>("as", MAX_AS);

  add(src: GeoInfo, dst: GeoInfo, packets: number, bytes: number): void {
    const add = (s: GeoShare) => {
      s.flows++;
      s.packets += packets;
      s.bytes += bytes;
    };
    for (const c of src.country === dst.country ? [src.country] : [src.country, dst.country]) {
      if (c === null) continue;
      let s = this.#countries.get(c);
      if (!s) this.#countries.set(c, s = { flows: 0, packets: 0, bytes: 0 });
      add(s);
    }
    for (const g of src.asn === dst.asn ? [src] : [src, dst]) {
      if (g.asn === null) continue;
      add(this.#as.upsert(g.asn, () => ({ asn: g.asn!, as_org: g.as_org, flows: 0, packets: 0, bytes: 0 })));
    }
  }

  /** The TOP countries by bytes. */
  countries(top: number): CountryShare[] {
    return [...this.#countries].map(([country, s]) => ({ country, ...s }))
      .sort((a, b) => b.bytes - a.bytes || a.country.localeCompare(b.country)).slice(0, top);
  }

  /** The TOP ASes by bytes. */
  ases(top: number): AsShare[] {
    return [...this.#as.values()].sort((a, b) => b.bytes - a.bytes || a.asn - b.asn).slice(0, top)
      .map((s) => ({ ...s }));
  }
}
