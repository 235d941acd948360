// TLS handshakes (ClientHello, ServerHello, certificates) with JA3, JA3S and JA4 (to be completed).
import * as abi from "../decoder/abi.ts";
import type { AppEvent } from "../decoder/app_event.ts";
import type { Style } from "../report/format.ts";
import { appRowBase } from "../sinks/rows.ts";
import type { AppExport, FlowNames, Section } from "./section.ts";

export type TlsReport = Record<string, never>;

export class TlsSection implements Section<TlsReport> {
  readonly key = "tls";
  readonly kinds = [abi.AK_TLS_CLIENT_HELLO, abi.AK_TLS_SERVER_HELLO, abi.AK_TLS_CERTIFICATE];
  constructor(private readonly flowNames: FlowNames) {}
  add(_e: AppEvent): void {}
  report(_top: number): TlsReport | null {
    return null;
  }
  text(_r: TlsReport, _st: Style): string[] {
    return [];
  }
}

export const TLS_EXPORT: AppExport = {
  type: "tls",
  kinds: [abi.AK_TLS_CLIENT_HELLO, abi.AK_TLS_SERVER_HELLO, abi.AK_TLS_CERTIFICATE],
  columns: ["time", "flow_id", "frame", "src", "src_port", "dst", "dst_port"],
  row: (e) => appRowBase(e),
};
