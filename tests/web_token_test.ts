// Bound wider than loopback, the web view serves nothing without its token: the page, its
// assets, the API, the event stream and uploads. Run in a private network namespace (its own
// loopback and a veth pair), so the wide listener is reachable from nowhere else.
import assert from "node:assert/strict";
import { withNetns } from "./helpers/capture.ts";
import { assertIncludes, SAMPLE } from "./helpers/cli.ts";
import { curl, upload, withServe } from "./helpers/web.ts";

const ADDRESS = "192.0.2.1"; // TEST-NET-1, on an interface inside the namespace only

async function inNs(netns: string, ...args: string[]) {
  const out = await new Deno.Command("ip", { args: ["netns", "exec", netns, ...args], stderr: "piped" })
    .output();
  if (!out.success) throw new Error(`${args.join(" ")}: ${new TextDecoder().decode(out.stderr)}`);
}

const ROUTES: [string, string[]][] = [
  ["/", []],
  ["/assets/app.js", []],
  ["/assets/app.css", []],
  ["/api/stats", []],
  ["/api/captures", []],
  ["/api/flows?q=x", []],
  ["/api/capture/status", []],
  ["/api/events", ["--max-time", "3"]],
  ["/api/capture/start", [
    "-X",
    "POST",
    "-H",
    "content-type: application/json",
    "--data",
    '{"interface":"lo"}',
  ]],
  ["/api/upload?name=a.pcap", ["-X", "POST", "--data-binary", `@${SAMPLE}`]],
  ["/no/such/page", []],
  ["/assets/../../../etc/passwd", ["--path-as-is"]],
];

Deno.test("web token: bound to 0.0.0.0, every route needs the token it generated and printed", () =>
  withNetns(async (netns) => {
    // A veth pair with both ends inside the namespace: an address that is not loopback.
    await inNs(netns, "ip", "link", "add", "wsv0", "type", "veth", "peer", "name", "wsv1");
    await inNs(netns, "ip", "addr", "add", `${ADDRESS}/24`, "dev", "wsv0");
    for (const dev of ["wsv0", "wsv1"]) await inNs(netns, "ip", "link", "set", dev, "up");
    const dir = await Deno.makeTempDir({ prefix: "wiresight-token-" });
    try {
      await withServe(["--listen", "0.0.0.0:8080", "--db", `${dir}/h.sqlite`], async (s) => {
        assert.ok(s.token && s.token.length >= 24, `a generated token in the printed URL: ${s.url}`);
        for (const base of [`http://${ADDRESS}:8080`, "http://127.0.0.1:8080"]) {
          for (const [path, args] of ROUTES) {
            const none = await curl(`${base}${path}`, args, netns);
            assert.equal(none.status, 401, `${base}${path} without the token`);
            assertIncludes(none.body, "needs its token");
            assert.ok(none.headers["content-security-policy"], `${path}: headers on refusals too`);
            const wrong = await curl(
              `${base}${path}`,
              [...args, "-H", `Authorization: Bearer ${s.token}x`],
              netns,
            );
            assert.equal(wrong.status, 401, `${base}${path} with a wrong token`);
          }
          const withBearer = await curl(
            `${base}/api/captures`,
            ["-H", `Authorization: Bearer ${s.token}`],
            netns,
          );
          assert.equal(withBearer.status, 200);
          // Opening the printed URL sets the cookie and drops the token from the address.
          const opened = await curl(`${base}/?token=${s.token}`, [], netns);
          assert.equal(opened.status, 303);
          assert.equal(opened.headers.location, "/");
          assertIncludes(opened.headers["set-cookie"], "HttpOnly");
          assertIncludes(opened.headers["set-cookie"], "SameSite=Strict");
          const cookie = opened.headers["set-cookie"].split(";")[0];
          const page = await curl(`${base}/`, ["-H", `Cookie: ${cookie}`], netns);
          assert.equal(page.status, 200);
          assertIncludes(page.body, "/assets/app.js");
          const asset = await curl(`${base}/assets/app.js`, ["-H", `Cookie: ${cookie}`], netns);
          assert.equal(asset.status, 200);
        }
        const up = await upload(`http://${ADDRESS}:8080`, SAMPLE, "sample.pcapng", [
          "-H",
          `Authorization: Bearer ${s.token}`,
        ], netns);
        assert.equal(up.status, 200);
        assert.equal(up.json.status, "done");
      }, { netns });
      // A token given is used as is, and required on loopback too.
      const token = "given-token-0123456789abcdef";
      await withServe(
        ["--listen", "127.0.0.1:8081", "--db", `${dir}/h.sqlite`, "--token", token],
        async (s) => {
          assert.equal(s.token, null, "a given token is not printed");
          assert.equal((await curl("http://127.0.0.1:8081/api/captures", [], netns)).status, 401);
          const ok = await curl("http://127.0.0.1:8081/api/captures", [
            "-H",
            `Authorization: Bearer ${token}`,
          ], netns);
          assert.equal(ok.status, 200);
          assertIncludes(ok.body, "sample.pcapng");
        },
        { netns },
      );
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  }));
