// QUIC Initial packets (AK_QUIC_INITIAL): version and connection ids, and the client Initial
// decrypted (RFC 9001 section 5) so its ClientHello reaches the TLS parser (to be completed).
import * as abi from "../decoder/abi.ts";
import type { AppEvent } from "../decoder/app_event.ts";
import type { Decoder } from "../decoder/decoder.ts";
import type { Style } from "../report/format.ts";
import type { FlowNames, Section } from "./section.ts";

export type QuicReport = Record<string, never>;

export class QuicSection implements Section<QuicReport> {
  readonly key = "quic";
  readonly kinds = [abi.AK_QUIC_INITIAL];
  constructor(private readonly flowNames: FlowNames) {}
  add(_e: AppEvent): void {}
  report(_top: number): QuicReport | null {
    return null;
  }
  text(_r: QuicReport, _st: Style): string[] {
    return [];
  }
}

/** Decrypts client Initials and hands their ClientHello back to the decoder's TLS parser. */
export class QuicDecryptor {
  handle(_e: AppEvent, _decoder: Decoder): void {}
}
