// Matches against the user's intel lists: any flow to or from a listed address or network (at
// its first packet), and listed domains in DNS queries, HTTP Host headers and TLS SNI.
import type { IntelLists } from "../intel.ts";
import { type AppContext, appSubject, type Detector, flowSubject, type Raise, seconds } from "../detector.ts";

export function intelMatch(intel: IntelLists, raise: Raise): Detector {
  const domain = (name: string | null | undefined, where: string, c: AppContext) => {
    const hit = name ? intel.matchDomain(name) : null;
    if (!hit) return;
    raise({
      type: "intel.domain",
      severity: "high",
      key: `${c.src}|${hit}`,
      ...appSubject(c),
      message: `${c.src} looked for listed domain ${hit} (${where} ${name})`,
      evidence: { listed: hit, name, seen_in: where },
    });
  };
  return {
    flowStart(f) {
      for (const [addr, other] of [[f.dst, f.src], [f.src, f.dst]]) {
        const hit = intel.matchAddress(addr);
        if (!hit) continue;
        raise({
          type: "intel.ip",
          severity: "high",
          key: `${other}|${addr}`,
          ...flowSubject(f, seconds(f.tsSec, f.tsNsec)),
          message: `${f.src} -> ${f.dst}:${f.dstPort}: ${addr} is on the intel list (${hit})`,
          evidence: { listed: hit, address: addr },
        });
        return;
      }
    },
    dns(m, c) {
      if (!m.response) { for (const q of m.questions) domain(q.name, "DNS query", c); }
    },
    http(m, c) {
      if (m.kind === "request") domain(m.host?.replace(/:\d+$/, ""), "HTTP Host", c);
    },
    tls(r, c) {
      if (r.kind === "client_hello") domain(r.sni, "TLS SNI", c);
    },
  };
}
