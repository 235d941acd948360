// ssh.log as Zeek's base/protocols/ssh writes it: one row per SSH connection, from the two
// identification banners and the two KEXINIT messages (the algorithms chosen are the first of the
// client's lists that the server also offers, RFC 4253 7.1), written when the flow ends.
import * as abi from "../decoder/abi.ts";
import type { AppEvent } from "../decoder/app_event.ts";
import type { FlowView } from "./rows.ts";
import type { SessionSink } from "./sink.ts";
import type { UidMaker } from "./zeek_conn.ts";
import { eventIds, eventSeconds, idFields, type ZeekField, type ZeekIds, ZeekLog } from "./zeek_log.ts";

/** A KEXINIT's name-lists, each comma-separated as sent. */
interface KexLists {
  kex: string[];
  hostKey: string[];
  encCs: string[];
  encSc: string[];
  macCs: string[];
  macSc: string[];
  cmpCs: string[];
  cmpSc: string[];
}

interface SshRow {
  ts: number;
  uid: string;
  ids: ZeekIds;
  client: string | null;
  server: string | null;
  clientKex: KexLists | null;
  serverKex: KexLists | null;
}

function kexLists(e: AppEvent): KexLists {
  const list = (id: number) => (e.str(id) ?? "").split(",").filter(Boolean);
  return {
    kex: list(abi.F_SSH_KEX),
    hostKey: list(abi.F_SSH_HOST_KEY),
    encCs: list(abi.F_SSH_ENC_CS),
    encSc: list(abi.F_SSH_ENC_SC),
    macCs: list(abi.F_SSH_MAC_CS),
    macSc: list(abi.F_SSH_MAC_SC),
    cmpCs: list(abi.F_SSH_CMP_CS),
    cmpSc: list(abi.F_SSH_CMP_SC),
  };
}

/** The first of the client's algorithms the server offers (Zeek's words when there is none). */
const choose = (client: string[], server: string[]) =>
  client.find((a) => server.includes(a)) ?? "Algorithm negotiation failed";

/** One choice per direction, named once when both directions agree (as Zeek logs it). */
function chooseBoth(c: KexLists, s: KexLists, cs: keyof KexLists, sc: keyof KexLists): string {
  const toServer = choose(c[cs], s[cs]), toClient = choose(c[sc], s[sc]);
  return toServer === toClient ? toServer : `To server: ${toServer}, to client: ${toClient}`;
}

/** Zeek's protocol version from the banners' "SSH-x.y": 1.99 talks to either, 1 and 2 do not mix. */
export function sshVersion(client: string | null, server: string | null): number | null {
  if (!client || !server || client.length <= 4 || server.length <= 4) return null;
  const is199 = (b: string) => b.slice(4, 8) === "1.99";
  const c = client[4], s = server[4];
  if (c === "2" && s === "2") return 2;
  if (c === "1" && s === "2") return is199(client) ? 2 : null;
  if (c === "2" && s === "1") return is199(server) ? 2 : null;
  if (c === "1" && s === "1") return is199(server) && is199(client) ? 2 : 1;
  return null;
}

const negotiated = (pick: (c: KexLists, s: KexLists) => string) => (r: SshRow) =>
  r.clientKex && r.serverKex ? pick(r.clientKex, r.serverKex) : null;

export const SSH_FIELDS: ZeekField<SshRow>[] = [
  { name: "ts", type: "time", get: (r) => r.ts },
  { name: "uid", type: "string", get: (r) => r.uid },
  ...idFields<SshRow>(),
  { name: "version", type: "count", get: (r) => sshVersion(r.client, r.server) },
  // Zeek guesses authentication from the sizes of encrypted packets; wiresight does not.
  { name: "auth_success", type: "bool", get: () => null },
  { name: "auth_attempts", type: "count", get: () => 0 },
  // Zeek's direction needs Site::local_nets, which wiresight has no notion of.
  { name: "direction", type: "enum", get: () => null },
  { name: "client", type: "string", get: (r) => r.client },
  { name: "server", type: "string", get: (r) => r.server },
  { name: "cipher_alg", type: "string", get: negotiated((c, s) => chooseBoth(c, s, "encCs", "encSc")) },
  { name: "mac_alg", type: "string", get: negotiated((c, s) => chooseBoth(c, s, "macCs", "macSc")) },
  { name: "compression_alg", type: "string", get: negotiated((c, s) => chooseBoth(c, s, "cmpCs", "cmpSc")) },
  { name: "kex_alg", type: "string", get: negotiated((c, s) => choose(c.kex, s.kex)) },
  { name: "host_key_alg", type: "string", get: negotiated((c, s) => choose(c.hostKey, s.hostKey)) },
  // The server's host key is in its key exchange reply, which the decoder does not read.
  { name: "host_key_fingerprint", type: "string", get: () => null },
];

/** `--zeek-logs DIR`: ssh.log rows from the session's SSH banners and KEXINITs. */
export class ZeekSshLog {
  readonly log: ZeekLog<SshRow>;
  readonly #rows = new Map<number, SshRow>();

  constructor(dir: string, json: boolean, private readonly uids: UidMaker) {
    this.log = new ZeekLog(dir, "ssh", SSH_FIELDS, json);
  }

  app(e: AppEvent): void {
    if (e.kind !== abi.AK_SSH_BANNER && e.kind !== abi.AK_SSH_KEXINIT) return;
    // The flow's initiator is the client (Zeek's originator).
    const fromClient = e.dir === 0;
    let row = this.#rows.get(e.flowId);
    if (!row) {
      row = {
        ts: eventSeconds(e),
        uid: this.uids.of(e.flowId),
        ids: eventIds(e, fromClient),
        client: null,
        server: null,
        clientKex: null,
        serverKex: null,
      };
      this.#rows.set(e.flowId, row);
    }
    if (e.kind === abi.AK_SSH_BANNER) {
      const banner = e.str(abi.F_SSH_BANNER) ?? null;
      if (fromClient) row.client ??= banner;
      else row.server ??= banner;
    } else if (fromClient) row.clientKex ??= kexLists(e);
    else row.serverKex ??= kexLists(e);
  }

  flow(view: FlowView): void {
    if (view.record.endReason !== "active_timeout") this.#write(view.record.id);
  }

  #write(id: number): void {
    const row = this.#rows.get(id);
    if (!row) return;
    this.#rows.delete(id);
    this.log.write(row);
  }

  sink(): SessionSink {
    return {
      app: (e) => this.app(e),
      flow: (v) => this.flow(v),
      close: () => {
        for (const id of [...this.#rows.keys()]) this.#write(id);
        this.log.close();
      },
    };
  }
}
