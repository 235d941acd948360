// The report's SSH section: client and server software with their HASSH fingerprints.
import * as abi from "../../decoder/abi.ts";
import type { AppEvent } from "../../decoder/app_event.ts";
import { count, printable, type Style, table } from "../../base/format.ts";
import { BoundedTable } from "../../base/bounded_table.ts";
import { Counter } from "../../base/counter.ts";
import type { Section } from "../protocol.ts";
import { hassh, sshIdentification } from "./message.ts";

export interface SshPeer {
  software: string;
  /** HASSH for clients, HASSHServer for servers; null when no KEXINIT was seen. */
  hassh: string | null;
  flows: number;
}

export interface SshReport {
  /** Identification lines seen. */
  banners: number;
  clients: SshPeer[];
  servers: SshPeer[];
}

const peerKey = (software: string, hassh: string | null) => JSON.stringify([software, hassh]);

/** Flows whose banner waits for its side's KEXINIT. */
const MAX_PENDING = 65536;

export class SshSection implements Section<SshReport> {
  readonly key = "ssh";
  readonly kinds = [abi.AK_SSH_BANNER, abi.AK_SSH_KEXINIT];
  #banners = 0;
  /** [clients, servers]: JSON [software, hassh] -> flows. */
  readonly #peers = [new Counter(), new Counter()];
  /** `${flow}/${dir}` -> software, until that side's KEXINIT, oldest banner first. */
  readonly #pending = new BoundedTable<{ software: string }>("ssh_pending", MAX_PENDING);

  add(e: AppEvent): void {
    const side = `${e.flowId}/${e.dir}`;
    if (e.kind === abi.AK_SSH_BANNER) {
      this.#banners++;
      const banner = e.str(abi.F_SSH_BANNER) ?? "";
      if (this.#pending.size >= MAX_PENDING) {
        // The oldest banner is counted without its HASSH.
        const [oldest, { software }] = this.#pending.evictOldest()!;
        this.#peers[Number(oldest.endsWith("/1"))].add(peerKey(software, null));
      }
      const software = sshIdentification(banner)?.software ?? banner;
      // A side's second banner replaces the first in its place: recency is the first banner's.
      const pending = this.#pending.peek(side);
      if (pending) pending.software = software;
      else this.#pending.set(side, { software });
      return;
    }
    const pending = this.#pending.peek(side);
    if (pending === undefined) return;
    this.#pending.delete(side);
    this.#peers[e.dir ? 1 : 0].add(peerKey(pending.software, hassh(e)));
  }

  report(top: number): SshReport | null {
    if (this.#banners === 0) return null;
    const peers = (dir: number): SshPeer[] => {
      const c = new Counter();
      for (const [k, n] of this.#peers[dir].entries()) c.add(k, n);
      for (const [side, { software }] of this.#pending.entries()) {
        if (side.endsWith(`/${dir}`)) c.add(peerKey(software, null));
      }
      return c.top(top).map(([k, flows]) => {
        const [software, h] = JSON.parse(k) as [string, string | null];
        return { software, hassh: h, flows };
      });
    };
    return { banners: this.#banners, clients: peers(0), servers: peers(1) };
  }

  text(r: SshReport, st: Style): string[] {
    const out = [st.heading("SSH")];
    const rows = [
      ...r.clients.map((p) => ["client", printable(p.software, 60), p.hassh ?? "-", count(p.flows)]),
      ...r.servers.map((p) => ["server", printable(p.software, 60), p.hassh ?? "-", count(p.flows)]),
    ];
    out.push(table(["Side", "Software", "HASSH", "Flows"], rows));
    return out;
  }
}
