// Debian's chromium, headless, driven by playwright-core: the page as a person sees it.
// Console errors, CSP violations and uncaught exceptions are collected for the test to check;
// screenshots go to a temporary directory that stays, and their paths are printed.
import { type Browser, chromium, type Page } from "playwright-core";

const CHROMIUM = ["/usr/bin/chromium", "/usr/bin/chromium-browser"];

function chromiumPath(): string {
  for (const p of CHROMIUM) {
    try {
      Deno.statSync(p);
      return p;
    } catch { /* next */ }
  }
  throw new Error(
    "chromium is not installed: apt-get install -y chromium (the browser tests drive it headless)",
  );
}

export interface PageRun {
  page: Page;
  /** Console errors and page exceptions seen so far. */
  problems: string[];
  /** Saves a full-page screenshot and prints its path. */
  screenshot(name: string): Promise<string>;
}

let shots: string | undefined;

export async function withPage<T>(fn: (run: PageRun) => Promise<T>): Promise<T> {
  const browser: Browser = await chromium.launch({
    executablePath: chromiumPath(),
    // Root in a container has no user namespaces for chromium's sandbox.
    args: Deno.uid() === 0 ? ["--no-sandbox"] : [],
  });
  try {
    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    page.setDefaultTimeout(30_000);
    const problems: string[] = [];
    page.on("console", (m) => {
      if (m.type() === "error") problems.push(`console: ${m.text()}`);
    });
    page.on("pageerror", (e) => problems.push(`exception: ${e.message}`));
    return await fn({
      page,
      problems,
      async screenshot(name: string) {
        shots ??= await Deno.makeTempDir({ prefix: "wiresight-screenshots-" });
        const path = `${shots}/${name}.png`;
        await page.screenshot({ path, fullPage: true });
        console.log(`screenshot: ${path}`);
        return path;
      },
    });
  } finally {
    await browser.close();
  }
}
