// `--zeek-logs DIR`: the Zeek logs a session writes (conn.log, dns.log), sharing one uid maker so
// every row names the conn.log uid of its flow; flushed and rotated together.
import type { SessionSink } from "./sink.ts";
import { UidMaker, ZeekConnLog } from "./zeek_conn.ts";
import { ZeekDnsLog } from "./zeek_dns.ts";
import type { ZeekLog } from "./zeek_log.ts";

export class ZeekLogs {
  readonly #sinks: SessionSink[];
  readonly #logs: Pick<ZeekLog<unknown>, "flush" | "rotate">[];

  constructor(dir: string, json: boolean) {
    const uids = new UidMaker();
    const conn = new ZeekConnLog(dir, json, uids), dns = new ZeekDnsLog(dir, json, uids);
    this.#sinks = [conn.sink(), dns.sink()];
    this.#logs = [conn.log, dns.log];
  }

  sinks(): SessionSink[] {
    return this.#sinks;
  }

  /** What was written is on disk. */
  flush(): void {
    for (const log of this.#logs) log.flush();
  }

  /** Every log closed and renamed `<path>.<open time>.log` (Zeek's rotation); returns the new names. */
  rotate(): string[] {
    return this.#logs.map((log) => log.rotate()).filter((name): name is string => name !== null);
  }
}
