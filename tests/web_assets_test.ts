// The page the server embeds (web/dist/assets.ts) is the build of web/: rebuilt here and
// compared, so a change to web/ without `deno task build:web` fails. The page has no inline
// script or style, as its Content-Security-Policy requires.
import assert from "node:assert/strict";
import { buildAssets, OUTPUT } from "../web/build.ts";
import { ASSETS } from "../web/dist/assets.ts";

Deno.test("web assets: the committed build is current (deno task build:web)", async () => {
  const built = await buildAssets();
  const committed = await Deno.readTextFile(OUTPUT);
  assert.ok(committed === built, "web/dist/assets.ts is stale: run 'deno task build:web' and commit it");
});

Deno.test("web assets: the page, its style and the bundle with Chart.js; nothing inline", () => {
  assert.deepEqual(Object.keys(ASSETS).sort(), ["/", "/assets/app.css", "/assets/app.js"]);
  const html = ASSETS["/"].body;
  assert.doesNotMatch(html, /<script(?![^>]*\bsrc=)[^>]*>/, "no inline script");
  assert.doesNotMatch(html, /<style|\sstyle=|\son[a-z]+=/i, "no inline style or handler");
  const js = ASSETS["/assets/app.js"].body;
  assert.match(js, /4\.6\.1/, "Chart.js 4.6.1 is bundled");
  assert.doesNotMatch(
    js,
    /from\s*["']chart\.js["']|import\(["']https?:/,
    "no imports left to resolve in the browser",
  );
  assert.doesNotMatch(
    js,
    /\.innerHTML\s*=|insertAdjacentHTML|document\.write/,
    "data reaches the page as text only",
  );
});
