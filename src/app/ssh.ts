// SSH software versions and HASSH fingerprints from AK_SSH_BANNER / AK_SSH_KEXINIT events.
// HASSH (Salesforce): md5 of "kex;encryption;mac;compression" from the client's KEXINIT, its
// client-to-server lists; HASSHServer the same from the server's KEXINIT, server-to-client.
import { createHash } from "node:crypto";
import * as abi from "../decoder/abi.ts";
import type { AppEvent } from "../decoder/app_event.ts";
import { count, printable, type Style, table } from "../report/format.ts";
import { Counter } from "./counter.ts";
import type { Section } from "./section.ts";

export interface SshIdentification {
  /** "2.0", "1.99" ... */
  protocol: string;
  /** "OpenSSH_9.6p1"; the comments after the first space are left out. */
  software: string;
  comments: string | null;
}

/** Splits "SSH-protoversion-softwareversion SP comments" (RFC 4253 4.2). */
export function sshIdentification(banner: string): SshIdentification | null {
  const m = /^SSH-([^-\s]*)-(\S*)(?: (.*))?$/.exec(banner);
  return m ? { protocol: m[1], software: m[2], comments: m[3] ?? null } : null;
}

/** The HASSH string of a KEXINIT as sent by a client (dir 0) or a server (dir 1). */
function hasshString(e: AppEvent, client: boolean): string | null {
  const ids = client
    ? [abi.F_SSH_KEX, abi.F_SSH_ENC_CS, abi.F_SSH_MAC_CS, abi.F_SSH_CMP_CS]
    : [abi.F_SSH_KEX, abi.F_SSH_ENC_SC, abi.F_SSH_MAC_SC, abi.F_SSH_CMP_SC];
  const lists = ids.map((id) => e.str(id));
  return lists.every((l) => l !== undefined) ? lists.join(";") : null;
}

/** HASSH (client) or HASSHServer of a KEXINIT event, by the side that sent it. */
export function hassh(e: AppEvent): string | null {
  const s = hasshString(e, e.dir === 0);
  return s === null ? null : createHash("md5").update(s).digest("hex");
}

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
  /** `${flow}/${dir}` -> software, until that side's KEXINIT (a Map keeps insertion order). */
  readonly #pending = new Map<string, string>();

  add(e: AppEvent): void {
    const side = `${e.flowId}/${e.dir}`;
    if (e.kind === abi.AK_SSH_BANNER) {
      this.#banners++;
      const banner = e.str(abi.F_SSH_BANNER) ?? "";
      if (this.#pending.size >= MAX_PENDING) {
        const [oldest, software] = this.#pending.entries().next().value!;
        this.#pending.delete(oldest);
        this.#peers[Number(oldest.endsWith("/1"))].add(peerKey(software, null));
      }
      this.#pending.set(side, sshIdentification(banner)?.software ?? banner);
      return;
    }
    const software = this.#pending.get(side);
    if (software === undefined) return;
    this.#pending.delete(side);
    this.#peers[e.dir ? 1 : 0].add(peerKey(software, hassh(e)));
  }

  report(top: number): SshReport | null {
    if (this.#banners === 0) return null;
    const peers = (dir: number): SshPeer[] => {
      const c = new Counter();
      for (const [k, n] of this.#peers[dir].entries()) c.add(k, n);
      for (const [side, software] of this.#pending) {
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
