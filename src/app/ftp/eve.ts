// FTP in the EVE stream: one "ftp" event per command with its reply (Suricata 7's shape), and an
// "ftp_data" event per data connection. The decoder pairs commands and replies, so nothing waits.
import * as abi from "../../decoder/abi.ts";
import type { AppEvent } from "../../decoder/app_event.ts";
import { eventTuple, eveTime } from "../eve.ts";
import type { EveLog } from "../protocol.ts";
import { ftpRecord } from "./message.ts";

export function ftpEve(): EveLog {
  return {
    kinds: [abi.AK_FTP, abi.AK_FTP_DATA],
    add(e: AppEvent, write) {
      const r = ftpRecord(e);
      const head = { timestamp: eveTime(e.tsSec, e.tsNsec), flow_id: e.flowId, ...eventTuple(e, 6) };
      if (r.kind === "data") {
        write({ ...head, event_type: "ftp_data", ftp_data: { control_flow_id: r.control_flow_id } });
        return;
      }
      if (r.command === null) return;
      const replied = r.reply_msg !== null;
      write({
        ...head,
        event_type: "ftp",
        ftp: {
          command: r.command,
          command_data: r.arg ?? undefined,
          reply: replied ? [r.reply_msg] : undefined,
          completion_code: r.reply_code === null ? undefined : [String(r.reply_code)],
          dynamic_port: r.channel?.port,
          mode: r.channel ? (r.channel.passive ? "passive" : "active") : undefined,
          reply_received: replied ? "yes" : "no",
        },
      });
    },
    flowEnd() {},
    close() {},
  };
}
