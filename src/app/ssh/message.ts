// SSH identification lines and HASSH fingerprints from AK_SSH_BANNER / AK_SSH_KEXINIT events.
// HASSH (Salesforce): md5 of "kex;encryption;mac;compression" from the client's KEXINIT, its
// client-to-server lists; HASSHServer the same from the server's KEXINIT, server-to-client.
import { createHash } from "node:crypto";
import * as abi from "../../decoder/abi.ts";
import type { AppEvent } from "../../decoder/app_event.ts";

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
