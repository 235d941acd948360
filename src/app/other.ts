// DHCP, NTP and server greetings (SMTP, FTP, POP3, IMAP) from AK_DHCP, AK_NTP, AK_BANNER (to be completed).
import * as abi from "../decoder/abi.ts";
import type { AppEvent } from "../decoder/app_event.ts";
import type { Style } from "../report/format.ts";
import type { Section } from "./section.ts";

export type OtherReport = Record<string, never>;

export class OtherSection implements Section<OtherReport> {
  readonly key = "other";
  readonly kinds = [abi.AK_DHCP, abi.AK_NTP, abi.AK_BANNER];
  add(_e: AppEvent): void {}
  report(_top: number): OtherReport | null {
    return null;
  }
  text(_r: OtherReport, _st: Style): string[] {
    return [];
  }
}
