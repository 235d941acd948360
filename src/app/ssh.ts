// SSH banners and KEXINIT (HASSH, HASSHServer) from AK_SSH_* events (to be completed).
import * as abi from "../decoder/abi.ts";
import type { AppEvent } from "../decoder/app_event.ts";
import type { Style } from "../report/format.ts";
import type { Section } from "./section.ts";

export type SshReport = Record<string, never>;

export class SshSection implements Section<SshReport> {
  readonly key = "ssh";
  readonly kinds = [abi.AK_SSH_BANNER, abi.AK_SSH_KEXINIT];
  add(_e: AppEvent): void {}
  report(_top: number): SshReport | null {
    return null;
  }
  text(_r: SshReport, _st: Style): string[] {
    return [];
  }
}
