// User-supplied intel: IP addresses, CIDRs and domains to alert on. Lookups cost one set probe
// per distinct prefix length (addresses) or per label (domains), whatever the list's size.
import { parseCidr } from "../base/address.ts";
import { ConfigError } from "./config.ts";

/** An address (or network) as a bit string, for prefix matching. */
function bits(bytes: Uint8Array, n: number): string {
  let s = "";
  for (let i = 0; i < n; i++) s += (bytes[i >> 3] >> (7 - (i & 7))) & 1;
  return s;
}

export class IntelLists {
  /** "version/prefix length" -> the networks of that length (as bits) and how the list wrote them. */
  readonly #nets = new Map<string, Map<string, string>>();
  readonly #domains = new Set<string>();

  get empty(): boolean {
    return this.#nets.size === 0 && this.#domains.size === 0;
  }

  addNetwork(text: string, source: string): void {
    const c = parseCidr(text.trim());
    if (!c) throw new ConfigError(`${source}: '${text}' is not an IP address or CIDR`);
    const k = `${c.ipVersion}/${c.prefix}`;
    let nets = this.#nets.get(k);
    if (!nets) this.#nets.set(k, nets = new Map());
    nets.set(bits(c.bytes, c.prefix), text.trim());
  }

  addDomain(text: string, source: string): void {
    const d = text.trim().toLowerCase().replace(/\.$/, "");
    if (!/^[a-z0-9_*.-]+$/.test(d) || d.startsWith(".")) {
      throw new ConfigError(`${source}: '${text}' is not a domain name`);
    }
    this.#domains.add(d.replace(/^\*\./, ""));
  }

  /** The listed entry (address or network, as the list wrote it) that holds `address`, or null. */
  matchAddress(address: string): string | null {
    if (this.#nets.size === 0) return null;
    const c = parseCidr(address);
    if (!c) return null;
    for (const [k, nets] of this.#nets) {
      const [v, p] = k.split("/").map(Number);
      if (v !== c.ipVersion) continue;
      const hit = nets.get(bits(c.bytes, p));
      if (hit !== undefined) return hit;
    }
    return null;
  }

  /** The listed domain that `name` is, or is a subdomain of, or null. */
  matchDomain(name: string): string | null {
    if (this.#domains.size === 0) return null;
    const labels = name.toLowerCase().replace(/\.$/, "").split(".");
    for (let i = 0; i < labels.length; i++) {
      const d = labels.slice(i).join(".");
      if (this.#domains.has(d)) return d;
    }
    return null;
  }
}

/** Lines of an intel file: blanks and '#' comments dropped. */
async function listFile(path: string): Promise<string[]> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    throw new ConfigError(`cannot read intel list ${path}: ${e instanceof Error ? e.message : e}`);
  }
  return text.split("\n").map((l) => l.replace(/#.*/, "").trim()).filter(Boolean);
}

export async function loadIntel(
  cfg: { ips: string[]; domains: string[]; ip_files: string[]; domain_files: string[] },
): Promise<IntelLists> {
  const intel = new IntelLists();
  for (const ip of cfg.ips) intel.addNetwork(ip, "intel.ips");
  for (const d of cfg.domains) intel.addDomain(d, "intel.domains");
  for (const f of cfg.ip_files) {
    for (const [i, line] of (await listFile(f)).entries()) intel.addNetwork(line, `${f} (entry ${i + 1})`);
  }
  for (const f of cfg.domain_files) {
    for (const [i, line] of (await listFile(f)).entries()) intel.addDomain(line, `${f} (entry ${i + 1})`);
  }
  return intel;
}
