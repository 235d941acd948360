// The memory budget (--memory): a SYN flood from random sources (hping3 --rand-source, real
// traffic in test namespaces) read with a small budget overflows the flow table and the
// per-source detector tables; the report (JSON and text) counts what they evicted, at least what
// tshark's count of distinct sources says must go, and the flood is still found.
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { withNetPair } from "./helpers/netns.ts";
import { captureLoopback, run } from "./helpers/capture.ts";
import { assertIncludes, wiresight } from "./helpers/cli.ts";
import { ofType, randomSourceSynFlood, readDetect, SERVER } from "./helpers/detect.ts";
import { MIN_MEMORY_MIB, planMemory } from "../src/detect/budget.ts";

Deno.test("a small --memory budget: evictions counted in the report, the random-source SYN flood still found", () =>
  withNetPair(async (net) => {
    const dir = await Deno.makeTempDir({ prefix: "wiresight_budget_" });
    const cap = await captureLoopback(dir, "randflood.pcap", "tcp", net.client, net.clientIf);
    try {
      // Nothing listens: the server answers each SYN with a reset, as a flooded port would.
      await randomSourceSynFlood(net, "u100", 3000);
    } finally {
      await cap.stop();
    }
    // The oracle: the distinct sources of bare SYNs to the server, as tshark reads them.
    const sources = new Set(
      (await run("tshark", [
        "-r",
        cap.path,
        "-Y",
        `ip.dst == ${SERVER} && tcp.flags.syn == 1 && tcp.flags.ack == 0`,
        "-T",
        "fields",
        "-e",
        "ip.src",
      ])).trim().split("\n").filter(Boolean),
    );
    assert(sources.size > 2000, `hping3 sent from ${sources.size} sources`);

    const small = planMemory(MIN_MEMORY_MIB, true);
    assert(small.tableEntries < sources.size / 2 && small.maxFlows < sources.size / 2, JSON.stringify(small));
    const { report, alerts } = await readDetect(cap.path, ["--memory", String(MIN_MEMORY_MIB)]);
    const d = report.detection;
    assertEquals(d.memory, {
      budget_mib: MIN_MEMORY_MIB,
      max_flows: small.maxFlows,
      table_entries: small.tableEntries,
    });
    // Every source is a new pair of the scan tables: all but a table's worth go. (The connection
    // flood counts completed handshakes, which a SYN flood never makes: its table stays empty.)
    for (const table of ["port_scan.vertical", "port_scan.horizontal"]) {
      assert(
        d.evictions[table] >= sources.size - small.tableEntries,
        `${table}: ${JSON.stringify(d.evictions)}`,
      );
    }
    assert(d.evictions.flow_table >= sources.size - small.maxFlows, JSON.stringify(d.evictions));
    assertEquals(d.evictions.flow_table, report.flow_table.evicted);
    const flood = ofType(alerts, "syn_flood").find((a) => a.flow.dest_ip === SERVER);
    assert(flood && Number(flood.evidence.sources) >= 100, JSON.stringify(alerts.map((a) => a.message)));

    // The text report says the same, with the budget that caused it.
    const text = await wiresight([
      "read",
      cap.path,
      "--detect",
      "--memory",
      String(MIN_MEMORY_MIB),
      "--no-progress",
    ]);
    assertEquals(text.code, 0, text.stderr);
    assertIncludes(
      text.stdout,
      `port_scan.vertical ${d.evictions["port_scan.vertical"].toLocaleString("en-US")}`,
    );
    assertIncludes(text.stdout, `memory budget ${MIN_MEMORY_MIB} MiB`);

    // The default budget holds every source: nothing evicted, the same flood alert.
    const roomy = await readDetect(cap.path);
    assertEquals(roomy.report.detection.evictions["port_scan.vertical"], 0);
    assertEquals(roomy.report.flow_table.evicted, 0);
    assert(ofType(roomy.alerts, "syn_flood").some((a) => a.id === flood.id));

    // --max-flows still overrides the budget's flows; a budget below the minimum is a usage error.
    const fixed = await readDetect(cap.path, ["--memory", "300", "--max-flows", "2048"]);
    assertEquals(fixed.report.detection.memory.max_flows, 2048);
    assertEquals(fixed.report.detection.memory.table_entries, planMemory(300, true).tableEntries);
    const bad = await wiresight(["read", cap.path, "--memory", "64"]);
    assertEquals(bad.code, 2);
    assertIncludes(bad.stderr, "--memory takes a whole number from");
    await Deno.remove(dir, { recursive: true });
  }));
