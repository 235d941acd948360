// The report's FTP section: commands, users, files named, reply codes and data connections.
import * as abi from "../../decoder/abi.ts";
import type { AppEvent } from "../../decoder/app_event.ts";
import { count, printable, type Style, table } from "../../base/format.ts";
import { Counter } from "../../base/counter.ts";
import type { Section } from "../protocol.ts";
import { FILE_COMMANDS, ftpRecord } from "./message.ts";

export interface FtpReport {
  commands: number;
  /** Data connections linked to their control flow. */
  data_connections: number;
  /** Users named (USER), by the commands sent as them. */
  users: { user: string; commands: number }[];
  files: { command: string; file: string; count: number }[];
  reply_codes: { code: number | null; count: number }[];
}

export class FtpSection implements Section<FtpReport> {
  readonly key = "ftp";
  readonly kinds = [abi.AK_FTP, abi.AK_FTP_DATA];
  #commands = 0;
  #data = 0;
  readonly #users = new Counter();
  readonly #files = new Counter();
  readonly #codes = new Counter();

  add(e: AppEvent): void {
    const r = ftpRecord(e);
    if (r.kind === "data") {
      this.#data++;
      return;
    }
    this.#commands++;
    if (r.user !== null) this.#users.add(r.user);
    if (r.command !== null && r.arg !== null && FILE_COMMANDS.has(r.command)) {
      this.#files.add(JSON.stringify([r.command, r.arg]));
    }
    this.#codes.add(String(r.reply_code));
  }

  report(top: number): FtpReport | null {
    if (this.#commands === 0 && this.#data === 0) return null;
    return {
      commands: this.#commands,
      data_connections: this.#data,
      users: this.#users.top(top).map(([user, commands]) => ({ user, commands })),
      files: this.#files.top(top).map(([k, n]) => {
        const [command, file] = JSON.parse(k) as [string, string];
        return { command, file, count: n };
      }),
      reply_codes: this.#codes.top(top).map(([c, n]) => ({
        code: c === "null" ? null : Number(c),
        count: n,
      })),
    };
  }

  text(r: FtpReport, st: Style): string[] {
    const out = [
      st.heading("FTP"),
      `  ${count(r.commands)} commands, ${count(r.data_connections)} data connections`,
    ];
    if (r.users.length) {
      out.push(table(["User", "Commands"], r.users.map((u) => [printable(u.user, 60), count(u.commands)])));
    }
    if (r.files.length) {
      out.push(
        table(
          ["Command", "File", "Count"],
          r.files.map((f) => [f.command, printable(f.file, 80), count(f.count)]),
        ),
      );
    }
    out.push(
      table(
        ["Reply", "Count"],
        r.reply_codes.map((c) => [c.code === null ? "-" : String(c.code), count(c.count)]),
      ),
    );
    return out;
  }
}
