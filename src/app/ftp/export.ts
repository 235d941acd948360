// `--export-type ftp`: one row per command with its reply, and one per data connection (linked
// to its control flow by control_flow_id).
import * as abi from "../../decoder/abi.ts";
import { via } from "../../base/columns.ts";
import { appExport } from "../protocol.ts";
import { ftpRecord } from "./message.ts";

export const FTP_EXPORT = appExport(
  "ftp",
  [abi.AK_FTP, abi.AK_FTP_DATA],
  via(ftpRecord, [
    { name: "kind", type: "text", get: (r) => r.kind },
    { name: "user", type: "text", get: (r) => r.user },
    { name: "password_given", type: "boolean", get: (r) => r.kind === "command" ? r.password_given : null },
    { name: "command", type: "text", get: (r) => r.command },
    { name: "arg", type: "text", get: (r) => r.arg },
    { name: "reply_code", type: "integer", get: (r) => r.reply_code },
    { name: "reply_msg", type: "text", get: (r) => r.reply_msg },
    { name: "file_size", type: "integer", get: (r) => r.file_size },
    { name: "data_passive", type: "boolean", get: (r) => r.channel?.passive ?? null },
    { name: "data_orig", type: "text", get: (r) => r.channel?.orig ?? null },
    { name: "data_resp", type: "text", get: (r) => r.channel?.resp ?? null },
    { name: "data_port", type: "integer", get: (r) => r.channel?.port ?? null },
    { name: "control_flow_id", type: "integer", get: (r) => r.control_flow_id },
  ]),
);
