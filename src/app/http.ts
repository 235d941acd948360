// HTTP/1.x requests and responses from AK_HTTP_REQUEST / AK_HTTP_RESPONSE events (to be completed).
import * as abi from "../decoder/abi.ts";
import type { AppEvent } from "../decoder/app_event.ts";
import type { Style } from "../report/format.ts";
import { appRowBase } from "../sinks/rows.ts";
import type { AppExport, FlowNames, Section } from "./section.ts";

export type HttpReport = Record<string, never>;

export class HttpSection implements Section<HttpReport> {
  readonly key = "http";
  readonly kinds = [abi.AK_HTTP_REQUEST, abi.AK_HTTP_RESPONSE];
  constructor(private readonly flowNames: FlowNames) {}
  add(_e: AppEvent): void {}
  report(_top: number): HttpReport | null {
    return null;
  }
  text(_r: HttpReport, _st: Style): string[] {
    return [];
  }
}

export const HTTP_EXPORT: AppExport = {
  type: "http",
  kinds: [abi.AK_HTTP_REQUEST, abi.AK_HTTP_RESPONSE],
  columns: ["time", "flow_id", "frame", "src", "src_port", "dst", "dst_port"],
  row: (e) => appRowBase(e),
};
