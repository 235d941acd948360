// Web attacks in HTTP requests: SQL injection, cross-site scripting, command injection and path
// traversal in the URI (percent-decoded twice, as double encoding is a classic evasion),
// scanners' or missing user agents, and URIs that carry long base64 or heavily encoded data.
import type { HttpMessage } from "../../app/http/message.ts";
import type { DetectConfig } from "../config.ts";
import { type AppContext, appSubject, type Detector, type Raise } from "../detector.ts";

type Check = "sqli" | "xss" | "command_injection" | "path_traversal";

const PATTERNS: Record<Check, RegExp> = {
  sqli: new RegExp(
    [
      String.raw`\bunion\b[\s(]+(all\s+)?select\b`,
      String.raw`['"\)]\s*(or|and)\s+['"(]?\w+['")]?\s*(=|like)\s*['"(]?\w+`,
      String.raw`\b(or|and)\s+\d+\s*=\s*\d+`,
      String.raw`\b(sleep|benchmark|pg_sleep)\s*\(`,
      String.raw`\bwaitfor\s+delay\b`,
      String.raw`;\s*(drop|insert|update|delete|select)\s`,
      String.raw`\binformation_schema\b`,
      String.raw`'\s*--`,
      String.raw`\bselect\b.+\bfrom\b`,
    ].join("|"),
    "i",
  ),
  xss:
    /<\s*script\b|javascript\s*:|\bon(error|load|mouseover|focus|click)\s*=|<\s*(img|svg|iframe|body)\b[^>]*\bon\w+\s*=|document\.(cookie|location)|\balert\s*\(/i,
  command_injection:
    /(;|\||&&|`|\$\()\s*(cat|id|whoami|uname|ls|wget|curl|nc|bash|sh|ping|nslookup|rm|echo|python\d?|perl)\b|\/bin\/(ba)?sh\b/i,
  path_traversal:
    /(\.\.[\/\\]){1,}|\/etc\/(passwd|shadow|hosts)\b|\bboot\.ini\b|\bwin\.ini\b|\/proc\/self\//i,
};

const TITLES: Record<Check, string> = {
  sqli: "SQL injection",
  xss: "cross-site scripting",
  command_injection: "command injection",
  path_traversal: "path traversal",
};

/** Tools whose user agent says what they are. */
const SCANNERS =
  /sqlmap|nikto|nmap|masscan|zgrab|gobuster|dirbuster|dirb\b|wfuzz|ffuf|wpscan|hydra|acunetix|nessus|openvas|w3af|havij|netsparker|commix|whatweb|nuclei|fimap|jaeles|zmeu/i;

function decode(s: string): string {
  try {
    return decodeURIComponent(s.replace(/\+/g, " "));
  } catch {
    // Invalid escapes: decode what can be.
    return s.replace(/%([0-9a-f]{2})/gi, (_, h) => String.fromCharCode(parseInt(h, 16)));
  }
}

/** Why a URI looks like it carries encoded data, or null. */
function encodedData(uri: string): string | null {
  if (/%25[0-9a-f]{2}/i.test(uri)) return "double percent-encoding";
  const escapes = uri.match(/%[0-9a-f]{2}/gi)?.length ?? 0;
  if (escapes >= 10 && (escapes * 3) / uri.length >= 0.3) return `${escapes} percent-escapes`;
  for (const token of uri.match(/[A-Za-z0-9+\/_-]{40,}={0,2}/g) ?? []) {
    // Base64 mixes cases and digits; long hex ids or words do not.
    if (/[a-z]/.test(token) && /[A-Z]/.test(token) && /\d/.test(token)) {
      return `base64-like token of ${token.length} characters`;
    }
  }
  return null;
}

export function httpThreats(cfg: DetectConfig["http"], raise: Raise): Detector {
  const extraAgents = cfg.bad_user_agents.map((s) => s.toLowerCase());
  const alert = (
    type: string,
    severity: "info" | "low" | "medium" | "high",
    m: HttpMessage,
    c: AppContext,
    message: string,
    evidence: Record<string, unknown>,
  ) =>
    raise({
      type,
      severity,
      // One alert per kind of attack, client and server: a scanner's thousand requests are counted.
      key: `${c.src}>${c.dst}:${c.dstPort}`,
      ...appSubject(c),
      message,
      evidence: { method: m.method, host: m.host, uri: m.uri, user_agent: m.userAgent, ...evidence },
    });
  return {
    http(m, c) {
      if (m.kind !== "request") return;
      const uri = m.uri ?? "";
      const decoded = decode(decode(uri));
      for (const check of Object.keys(PATTERNS) as Check[]) {
        if (!cfg[check]) continue;
        const hit = PATTERNS[check].exec(decoded);
        if (hit) {
          alert(`http.${check}`, "high", m, c, `${TITLES[check]} attempt from ${c.src}: ${uri}`, {
            matched: hit[0],
            decoded_uri: decoded,
          });
        }
      }
      if (cfg.user_agent) {
        const ua = m.userAgent;
        if (ua === null || ua.trim() === "") {
          alert(
            "http.empty_user_agent",
            // A notice: scripts and test clients often send none (notices.ts).
            "info",
            m,
            c,
            `request without a user agent from ${c.src}: ${uri}`,
            {},
          );
        } else {
          const tool = SCANNERS.exec(ua)?.[0] ?? extraAgents.find((a) => ua.toLowerCase().includes(a));
          if (tool) {
            alert("http.suspicious_user_agent", "medium", m, c, `scanner user agent from ${c.src}: ${ua}`, {
              matched: tool,
            });
          }
        }
      }
      if (cfg.encoded_uri) {
        // A DoH GET's dns= parameter is base64url by definition (RFC 8484): its DNS message is
        // decoded and checked as DNS (names, tunnelling), not as an encoded URI.
        const why = encodedData(uri.replace(/([?&]dns=)[A-Za-z0-9_-]+/g, "$1"));
        if (why) {
          alert("http.encoded_uri", "low", m, c, `encoded data in a URI from ${c.src}: ${why}`, { why });
        }
      }
    },
  };
}
