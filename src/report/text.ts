// The human report printed by `wiresight read`.
import { bitsPerSecond, bytesText, count, percent, rateText, type Style, table } from "../base/format.ts";
import type { Report } from "./report.ts";
import type { AppSummary } from "../app/summary.ts";
import { processesText } from "./processes.ts";
import { MALFORMED_REASONS } from "../decoder/names.ts";

export function renderText(r: Report, st: Style, apps?: AppSummary): string {
  const out: string[] = [];
  const files = r.capture ? `live capture on ${r.capture.interface}` : r.files.map((f) => f.path).join(", ");
  out.push(st.heading(`wiresight report: ${files}`));
  if (r.capture?.received !== undefined) {
    out.push(
      `  Captured   ${count(r.capture.received)} received by the filter, ${
        count(r.capture.dropped ?? 0)
      } dropped ` +
        `(buffer), ${count(r.capture.ifDropped ?? 0)} dropped by the interface`,
    );
  }
  const span = r.start
    ? `${r.start.replace("T", " ").replace(/\d{6}Z$/, "")} -> ${r.end?.slice(11, 23)} UTC`
    : "no packets";
  out.push(`  Duration   ${r.duration_s.toFixed(3)} s  (${span})`);
  out.push(`  Packets    ${count(r.packets)}    Bytes ${bytesText(r.bytes)}    Flows ${count(r.flows)}`);
  out.push(
    `  Average    ${rateText(r.rates.packets_per_s)} pkt/s    ${bitsPerSecond(r.rates.bits_per_s)}    ` +
      `${count(r.rates.avg_packet_bytes)} B/packet`,
  );
  if (r.filtered_out > 0) {
    out.push(`  Filtered   ${count(r.filtered_out)} of ${count(r.records_read)} packets did not match`);
  }
  const drops = r.interfaces.filter((i) => i.dropped || i.os_dropped);
  for (const i of drops) {
    out.push(
      `  Dropped    ${count((i.dropped ?? 0) + (i.os_dropped ?? 0))} packets on ${
        i.name || `interface ${i.id}`
      }`,
    );
  }
  if (r.link_types.length) {
    out.push(`  Link       ${r.link_types.map((l) => `${l.name} (${count(l.packets)})`).join(", ")}`);
  }

  const protos = Object.entries(r.protocols);
  if (protos.length) {
    out.push("", st.heading("Protocols"));
    const order = ["network", "link", "transport"];
    protos.sort((a, b) =>
      order.indexOf(a[1].layer) - order.indexOf(b[1].layer) || b[1].packets - a[1].packets
    );
    out.push(table(
      ["Protocol", "Layer", "Packets", "%", "Bytes", "%"],
      protos.map(([name, p]) => [
        name,
        p.layer,
        count(p.packets),
        percent(p.percent_packets),
        bytesText(p.bytes),
        percent(p.percent_bytes),
      ]),
    ));
  }
  if (r.top_talkers.length) {
    out.push("", st.heading("Top talkers (by bytes)"));
    // Country and AS columns only when geoip gave something.
    const geo = r.top_talkers.some((t) => t.country !== null);
    out.push(table(
      ["Address", "Packets", "Bytes", "Sent", "Received", "Flows", ...(geo ? ["Country", "AS"] : [])],
      r.top_talkers.map((t) => [
        t.name ? `${t.address} (${t.name})` : t.address,
        count(t.packets),
        bytesText(t.bytes),
        bytesText(t.bytes_sent),
        bytesText(t.bytes_received),
        count(t.flows),
        ...(geo ? [t.country ?? "-", t.asn === null ? "-" : `AS${t.asn} ${t.as_org ?? ""}`.trim()] : []),
      ]),
    ));
  }
  if (r.top_countries.length) {
    out.push("", st.heading("Countries (either end; private and special addresses by class)"));
    out.push(table(
      ["Country", "Flows", "Packets", "Bytes"],
      r.top_countries.map((c) => [c.country, count(c.flows), count(c.packets), bytesText(c.bytes)]),
    ));
  }
  if (r.top_as.length) {
    out.push("", st.heading("Autonomous systems (either end)"));
    out.push(table(
      ["AS", "Organisation", "Flows", "Packets", "Bytes"],
      r.top_as.map((
        a,
      ) => [`AS${a.asn}`, a.as_org ?? "-", count(a.flows), count(a.packets), bytesText(a.bytes)]),
    ));
  }
  if (r.top_conversations.length) {
    out.push("", st.heading("Top conversations (address pairs)"));
    out.push(table(
      ["A <-> B", "Packets", "Bytes", "A->B", "B->A", "Flows", "Duration"],
      r.top_conversations.map((c) => [
        `${c.a} <-> ${c.b}`,
        count(c.packets),
        bytesText(c.bytes),
        bytesText(c.bytes_a_to_b),
        bytesText(c.bytes_b_to_a),
        count(c.flows),
        `${c.duration_s.toFixed(3)} s`,
      ]),
    ));
  }
  if (r.top_ports.length) {
    out.push("", st.heading("Top ports / services"));
    out.push(table(
      ["Port", "Service", "Flows", "Packets", "Bytes"],
      r.top_ports.map((p) => [
        p.port === null ? p.protocol : `${p.protocol}/${p.port}`,
        p.service ? (p.detected_by === "port" ? `${p.service}?` : p.service) : "-",
        count(p.flows),
        count(p.packets),
        bytesText(p.bytes),
      ]),
    ));
  }
  if (r.top_ports.some((p) => p.detected_by === "port")) {
    out.push(st.dim("  (? = named by port number only; other names come from the payload)"));
  }
  if (r.processes?.length) out.push("", ...processesText(r.processes, st));
  if (apps) out.push(...apps.text(r, st));
  out.push("", st.heading("Malformed"));
  if (r.malformed.total === 0) out.push("  none");
  else {
    const texts = new Map(Object.values(MALFORMED_REASONS).map(([key, text]) => [key, text]));
    out.push(table(
      ["Reason", "Packets"],
      Object.entries(r.malformed.reasons).sort((a, b) => b[1] - a[1]).map((
        [k, n],
      ) => [texts.get(k) ?? k, count(n)]),
    ));
  }
  if (r.truncated_packets > 0) {
    out.push(st.dim(`  ${count(r.truncated_packets)} packets were captured shorter than sent (snap length)`));
  }
  if (r.fragments.ipv4 + r.fragments.ipv6 > 0) {
    out.push(st.dim(
      `  ${count(r.fragments.ipv4 + r.fragments.ipv6)} IP fragments (${
        count(r.fragments.unmatched)
      } without their first fragment)`,
    ));
  }
  if (r.approximate) {
    out.push(st.dim("  (more distinct hosts than the tables hold: the smallest were folded away)"));
  }
  return out.join("\n") + "\n";
}
