// `--zeek-logs DIR`: the Zeek logs a session writes (conn.log, dns.log, http.log, ssh.log, ssl.log,
// x509.log), sharing one uid maker so every row names the conn.log uid of its flow; flushed and rotated together.
import type { SessionSink } from "./sink.ts";
import { UidMaker, ZeekConnLog } from "./zeek_conn.ts";
import { ZeekDnsLog } from "./zeek_dns.ts";
import { ZeekHttpLog } from "./zeek_http.ts";
import { ZeekSshLog } from "./zeek_ssh.ts";
import { ZeekSslLog, type ZeekSslOptions } from "./zeek_ssl.ts";
import { ZeekX509Log } from "./zeek_x509.ts";
import type { ZeekLog } from "./zeek_log.ts";

export class ZeekLogs {
  readonly #sinks: SessionSink[];
  readonly #logs: Pick<ZeekLog<unknown>, "flush" | "rotate">[];

  constructor(dir: string, json: boolean, ssl: ZeekSslOptions = {}) {
    const uids = new UidMaker();
    const conn = new ZeekConnLog(dir, json, uids);
    const apps = [
      new ZeekDnsLog(dir, json, uids),
      new ZeekHttpLog(dir, json, uids),
      new ZeekSshLog(dir, json, uids),
      new ZeekSslLog(dir, json, uids, ssl),
      new ZeekX509Log(dir, json),
    ];
    // The app logs first: a flow's end writes its unpaired app rows before its conn.log row.
    this.#sinks = [...apps.map((a) => a.sink()), conn.sink()];
    this.#logs = [conn.log, ...apps.map((a) => a.log)];
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
