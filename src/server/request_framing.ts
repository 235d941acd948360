// Where a client's HTTP/1.1 requests begin and end in the bytes it sends, so the connection guard
// can time each request's head and body: heads end at an empty line, bodies run for their
// Content-Length or their chunked framing (keep-alive and pipelined requests follow).

export type Phase = "between" | "head" | "body";

/** A request head longer than this is refused (the server's own limit is larger). */
export const MAX_HEAD = 64 * 1024;

export class RequestTooLarge extends Error {}

const CR = 13, LF = 10;
const latin1 = new TextDecoder("latin1");

export class RequestFraming {
  phase: Phase = "between";
  /** Requests whose head has been read. */
  requests = 0;
  #head: number[] = [];
  /** Body bytes left (Content-Length), or bytes of the current chunk left. */
  #left = 0;
  /** Where a chunked body is: a size line, chunk data, the line end after it, or the trailer. */
  #chunk: "size" | "data" | "data-end" | "trailer" | null = null;
  #line: number[] = [];

  /** Follows `bytes` (the next the client sent). */
  feed(bytes: Uint8Array): void {
    let i = 0;
    while (i < bytes.length) {
      if (this.phase === "between") this.phase = "head";
      if (this.phase === "head") i = this.#readHead(bytes, i);
      else if (this.#chunk === null) {
        const n = Math.min(this.#left, bytes.length - i);
        this.#left -= n;
        i += n;
        if (this.#left === 0) this.phase = "between";
      } else i = this.#readChunked(bytes, i);
    }
  }

  #readHead(bytes: Uint8Array, i: number): number {
    for (; i < bytes.length; i++) {
      const h = this.#head;
      h.push(bytes[i]);
      const n = h.length;
      if (n > MAX_HEAD) throw new RequestTooLarge(`the request head is over ${MAX_HEAD} bytes`);
      // Blank lines before a request are allowed (RFC 9112, 2.2).
      if (n <= 2 && (bytes[i] === CR || bytes[i] === LF)) {
        if (bytes[i] === LF) this.#head = [];
        continue;
      }
      if (bytes[i] === LF && (h[n - 2] === LF || (h[n - 2] === CR && h[n - 3] === LF))) {
        this.#startBody(latin1.decode(Uint8Array.from(h)));
        this.#head = [];
        return i + 1;
      }
    }
    return i;
  }

  #startBody(head: string): void {
    this.requests++;
    const header = (name: string) =>
      head.match(new RegExp(`\\r?\\n${name}[ \\t]*:[ \\t]*([^\\r\\n]*)`, "i"))?.[1].trim();
    if (/(^|,)\s*chunked\s*$/i.test(header("transfer-encoding") ?? "")) {
      this.#chunk = "size";
      this.#line = [];
      this.phase = "body";
      return;
    }
    this.#chunk = null;
    this.#left = Number(header("content-length") ?? 0) || 0;
    this.phase = this.#left > 0 ? "body" : "between";
  }

  #readChunked(bytes: Uint8Array, i: number): number {
    if (this.#chunk === "data") {
      const n = Math.min(this.#left, bytes.length - i);
      this.#left -= n;
      if (this.#left === 0) this.#chunk = "data-end";
      return i + n;
    }
    for (; i < bytes.length; i++) {
      if (bytes[i] !== LF) {
        if (this.#line.length < 1024) this.#line.push(bytes[i]);
        continue;
      }
      const line = latin1.decode(Uint8Array.from(this.#line)).replace(/\r$/, "");
      this.#line = [];
      if (this.#chunk === "data-end") this.#chunk = "size";
      else if (this.#chunk === "size") {
        this.#left = parseInt(line.split(";")[0], 16) || 0;
        this.#chunk = this.#left > 0 ? "data" : "trailer";
        if (this.#left > 0) return i + 1;
      } else if (line === "") {
        this.#chunk = null;
        this.phase = "between";
        return i + 1;
      }
    }
    return i;
  }
}
