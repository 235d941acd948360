// FTP from the decoder's events: AK_FTP is one command with its final reply (as a line of Zeek's
// ftp.log), AK_FTP_DATA a data connection linked to the control flow that announced it.
import * as abi from "../../decoder/abi.ts";
import type { AppEvent } from "../../decoder/app_event.ts";
import { formatAddress } from "../../base/address.ts";

/** The data connection a command announced (PASV/EPSV: passive; PORT/EPRT: active). */
export interface FtpDataChannel {
  passive: boolean;
  /** The side that connects. */
  orig: string;
  resp: string;
  port: number;
}

export interface FtpRecord {
  kind: "command" | "data";
  /** Upper-cased; "<init>" for the greeting; null for a reply that answered no command. */
  command: string | null;
  /** Never the password: PASS has no argument here. */
  arg: string | null;
  user: string | null;
  /** A PASS command was sent on this control flow (before or with this one). */
  password_given: boolean;
  /** null when the reply line had no valid code. */
  reply_code: number | null;
  reply_msg: string | null;
  /** The size a transfer's preliminary reply announced ("(77 bytes)"). */
  file_size: number | null;
  channel: FtpDataChannel | null;
  /** For a data connection: the control flow that announced it. */
  control_flow_id: number | null;
}

/** The FTP record of an AppEvent (parsed once per event). */
export function ftpRecord(e: AppEvent): FtpRecord {
  return e.parsed(parseFtpRecord);
}

function address(e: AppEvent, id: number): string | null {
  const b = e.bytes(id);
  if (!b) return null;
  return formatAddress(b.length === 4 ? 4 : 6, b);
}

function parseFtpRecord(e: AppEvent): FtpRecord {
  const size = e.str(abi.F_FTP_FILE_SIZE);
  const orig = address(e, abi.F_FTP_DATA_ORIG);
  const resp = address(e, abi.F_FTP_DATA_RESP);
  const port = e.num(abi.F_FTP_DATA_PORT);
  return {
    kind: e.kind === abi.AK_FTP_DATA ? "data" : "command",
    command: e.str(abi.F_FTP_COMMAND) ?? null,
    arg: e.str(abi.F_FTP_ARG) ?? null,
    user: e.str(abi.F_FTP_USER) ?? null,
    password_given: e.num(abi.F_FTP_PASSWORD_GIVEN) === 1,
    reply_code: e.num(abi.F_FTP_REPLY_CODE) ?? null,
    reply_msg: e.str(abi.F_FTP_REPLY_MSG) ?? null,
    file_size: size === undefined ? null : Number(size),
    channel: orig !== null && resp !== null && port !== undefined
      ? { passive: e.num(abi.F_FTP_DATA_PASSIVE) === 1, orig, resp, port }
      : null,
    control_flow_id: e.num(abi.F_FTP_CONTROL_FLOW) ?? null,
  };
}

/** Commands that name a file (RFC 959 4.1.3), for the report's file list. */
export const FILE_COMMANDS = new Set([
  "RETR",
  "STOR",
  "STOU",
  "APPE",
  "DELE",
  "RNFR",
  "RNTO",
  "SIZE",
  "MDTM",
]);
