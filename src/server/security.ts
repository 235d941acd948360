// Who may use the web view. Bound to loopback without a token, only this machine can connect,
// and the Host header must name loopback (so a web page that rebinds its DNS name to 127.0.0.1
// gets nothing). With a token (required for any other address), every request must carry it:
// `Authorization: Bearer TOKEN`, or the cookie set when the page is opened with `?token=TOKEN`.
// Requests that change something must come from the page's own origin.
import { timingSafeEqual } from "node:crypto";
import type { MiddlewareHandler } from "hono";
import { getCookie, setCookie } from "hono/cookie";
import { secureHeaders } from "hono/secure-headers";

export const TOKEN_COOKIE = "wiresight_token";

/** Whether an address only reaches this machine: 127.0.0.0/8, ::1, localhost. */
export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, "").toLowerCase();
  return h === "localhost" || h === "::1" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}

/** A random token (24 bytes, base64url). */
export function newToken(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(24));
  return btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/** Whether a Host header is a name or address with an optional port (RFC 9110, 7.2). */
export function validHost(host: string): boolean {
  const m = host.match(/^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+)(?::(\d{1,5}))?$/);
  return m !== null && (m[1] === undefined || Number(m[1]) <= 65535);
}

/**
 * Whether a browser takes `pathname` as a path on this server: not `//host` or `/\host`
 * (other hosts), nor those encoded or with tabs or line breaks (which browsers drop) between.
 */
export function isLocalPath(pathname: string): boolean {
  let decoded: string;
  try {
    decoded = decodeURIComponent(pathname);
  } catch {
    return false;
  }
  const control = [...decoded].some((ch) => ch.charCodeAt(0) < 0x20 || ch.charCodeAt(0) === 0x7f);
  return !control && /^\/(?![/\\])/.test(pathname) &&
    /^\/(?![/\\])/.test(decoded);
}

function sameToken(given: string | undefined, token: string): boolean {
  if (given === undefined) return false;
  const a = new TextEncoder().encode(given), b = new TextEncoder().encode(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

export interface AccessPolicy {
  /** Required on every request when set. */
  token: string | null;
}

const problem = (status: number, error: string) =>
  new Response(JSON.stringify({ error }), { status, headers: { "content-type": "application/json" } });

export function accessControl(policy: AccessPolicy): MiddlewareHandler {
  return async (c, next) => {
    const host = c.req.header("host") ?? "";
    if (!validHost(host)) {
      return problem(
        400,
        `the Host header '${host.slice(0, 100)}' is not a host name or address with a port`,
      );
    }
    const url = new URL(c.req.url);
    if (!policy.token && !isLoopback(host.replace(/:\d+$/, ""))) {
      return problem(403, `Host '${host}' is not this machine's loopback; open the page at http://127.0.0.1`);
    }
    if (policy.token) {
      const bearer = c.req.header("authorization")?.match(/^Bearer\s+(\S+)$/i)?.[1];
      const fromQuery = url.searchParams.get("token") ?? undefined;
      const ok = sameToken(bearer, policy.token) || sameToken(getCookie(c, TOKEN_COOKIE), policy.token) ||
        sameToken(fromQuery, policy.token);
      if (!ok) {
        return problem(
          401,
          "this web view needs its token: open the URL wiresight printed (…/?token=…) or send " +
            "'Authorization: Bearer TOKEN'",
        );
      }
      if (sameToken(fromQuery, policy.token) && c.req.method === "GET") {
        // Keep the token out of the address bar and history: a cookie carries it from now on.
        // The redirect goes only to a path on this server (never //other.host).
        if (!isLocalPath(url.pathname)) return problem(400, `'${url.pathname}' is not a page of this server`);
        setCookie(c, TOKEN_COOKIE, policy.token, { httpOnly: true, sameSite: "Strict", path: "/" });
        url.searchParams.delete("token");
        return c.redirect(url.pathname + url.search, 303);
      }
    }
    if (c.req.method !== "GET" && c.req.method !== "HEAD") {
      const origin = c.req.header("origin");
      if (origin !== undefined && origin !== "null") {
        let originHost = "";
        try {
          originHost = new URL(origin).host;
        } catch { /* unparsable: refused below */ }
        if (originHost !== host) return problem(403, `requests from ${origin} are not accepted`);
      } else if (origin === "null") return problem(403, "requests from an opaque origin are not accepted");
    }
    await next();
  };
}

/** Headers on every response: a strict CSP (scripts and styles only from this server), no framing, no sniffing. */
export const securityHeaders: MiddlewareHandler = secureHeaders({
  contentSecurityPolicy: {
    defaultSrc: ["'none'"],
    scriptSrc: ["'self'"],
    styleSrc: ["'self'"],
    imgSrc: ["'self'", "data:"],
    connectSrc: ["'self'"],
    baseUri: ["'none'"],
    formAction: ["'self'"],
    frameAncestors: ["'none'"],
  },
  xFrameOptions: "DENY",
  referrerPolicy: "no-referrer",
  crossOriginResourcePolicy: "same-origin",
  crossOriginOpenerPolicy: "same-origin",
  strictTransportSecurity: false,
  permissionsPolicy: { camera: [], microphone: [], geolocation: [] },
});
