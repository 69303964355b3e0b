// The dashboard in a real browser: Debian's chromium, headless, driven by playwright-core
// (which never downloads a browser). Steps (tests/integration/test_dashboard.sh runs them):
//   live URL       during a run: the rendered phase table equals `mdwctl status --json` taken at the
//                  same moment, for every phase complete in both; at least one such phase is compared
//   complete URL   waits until the page says the run is complete, compares every phase, screenshots
//   retry URL P    the dead chunk of phase P is listed; its retry button is clicked; it leaves the list
//   login URL      URL is /?token=T: redirected to /, the page works from the cookie, which scripts cannot read
// Environment: MDWCTL (the mdwctl binary), OUT (the test's output folder).
import { chromium } from "playwright-core";
import { execFileSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const [step, url, arg] = process.argv.slice(2);
const OUT = process.env.OUT, MDWCTL = process.env.MDWCTL;
const status = () => JSON.parse(execFileSync(MDWCTL, ["status", "--json"], { encoding: "utf8" }));
const fail = (msg) => { console.error(`FAIL: ${msg}`); process.exit(1); };
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// the columns of the page's phase table (data-k) and the status fields they show
const num = (s) => Number(String(s).replace(/,/g, ""));
const COLS = {
  state: [(p) => p.state, (s) => s],
  chunks: [(p) => `${p.chunks_done}/${p.chunks}`, (s) => s],
  read: [(p) => p.read, num], inserted: [(p) => p.inserted, num], existing: [(p) => p.existing, num],
  updated: [(p) => p.updated, num],
  merged: [(p) => p.merged, num], rejected: [(p) => p.rejected, num], dead: [(p) => p.chunks_dead, num],
};

async function table(page) {
  return page.$$eval("#phases tbody tr", (trs) => trs.map((tr) => {
    const o = { phase: tr.dataset.phase };
    for (const td of tr.querySelectorAll("td")) o[td.dataset.k] = td.textContent;
    return o;
  }));
}

// phases complete on the page and in STATUS: every column equal. Returns how many were compared.
function compare(rows, st, where) {
  const byName = Object.fromEntries(st.phases.map((p) => [p.phase, p]));
  const order = rows.map((r) => r.phase).join(",");
  if (order !== st.phases.map((p) => p.phase).join(",")) fail(`${where}: phase order ${order}`);
  let n = 0;
  for (const r of rows) {
    const p = byName[r.phase];
    if (r.state !== "complete" || p.state !== "complete") continue;
    for (const [k, [want, parse]] of Object.entries(COLS))
      if (String(parse(r[k])) !== String(want(p))) fail(`${where}: ${r.phase} ${k}: page ${r[k]}, status ${want(p)}`);
    n++;
  }
  return n;
}

const ctx = await chromium.launchPersistentContext(mkdtempSync(join(tmpdir(), "mdw-chromium-")), {
  executablePath: "/usr/bin/chromium",
  headless: true,
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  viewport: { width: 1500, height: 1100 },
  deviceScaleFactor: 0.7, // small screenshots (the README's docs/dashboard.png is one), still legible
});
const page = ctx.pages()[0] || (await ctx.newPage());
const problems = [];
page.on("console", (m) => { if (m.type() === "error") problems.push(m.text()); });
page.on("pageerror", (e) => problems.push(String(e)));
try {
  await page.goto(url);
  await page.waitForSelector("#phases tbody tr[data-phase]", { timeout: 20000 });
  if (step === "login") {
    const u = new URL(page.url());
    if (u.pathname !== "/" || u.search !== "") fail(`after the login the page is at ${page.url()}`);
    if ((await page.evaluate(() => document.cookie)) !== "") fail("the token cookie is readable by scripts");
    const cookies = await ctx.cookies();
    const c = cookies.find((k) => k.name === "mdw_token");
    if (!c || !c.httpOnly || c.sameSite !== "Strict") fail(`cookie: ${JSON.stringify(cookies)}`);
    console.log("ok: /?token= logs the browser in: the page works from an HttpOnly SameSite=Strict cookie");
  } else if (step === "live") {
    // the run goes on: compare what is complete on both sides, until the coordinator's page is gone or done
    let compared = 0, samples = 0;
    for (;;) {
      const before = await table(page), st = status(), after = await table(page);
      samples++;
      if (JSON.stringify(before) === JSON.stringify(after)) compared = Math.max(compared, compare(after, st, `live sample ${samples}`));
      if (st.run_status !== "running" || compared >= 2) break;
      await sleep(500);
    }
    if (compared < 1) fail(`no phase was complete on both the page and mdwctl status during the run (${samples} samples)`);
    console.log(`ok: during the run, ${compared} complete phases on the page equal mdwctl status --json (${samples} samples)`);
  } else if (step === "complete") {
    await page.waitForFunction(() => document.body.dataset.runStatus === "complete", null, { timeout: 120000 });
    await sleep(1200); // one more poll, so that the charts hold the last point
    const rows = await table(page), st = status();
    const n = compare(rows, st, "complete");
    if (n !== st.phases.filter((p) => p.state === "complete").length || n < 1) fail(`compared ${n} phases`);
    for (const r of rows) {
      const p = st.phases.find((q) => q.phase === r.phase);
      if (r.state !== p.state) fail(`${r.phase}: page ${r.state}, status ${p.state}`);
    }
    if (!(await page.$("#chart-rows .uplot"))) fail("no rows/s chart");
    if (!(await page.$("#chart-embed .uplot"))) fail("no embedding chart");
    console.log(`ok: the page shows run ${st.run} complete; its ${n} complete phases equal mdwctl status --json`);
    await page.screenshot({ path: join(OUT, "dashboard-complete.png"), fullPage: true });
    writeFileSync(join(OUT, "page-complete.html"), await page.content());
  } else if (step === "retry") {
    const sel = `#dead tbody tr[data-phase="${arg}"]`;
    await page.waitForSelector(sel, { timeout: 20000 });
    await page.screenshot({ path: join(OUT, "dashboard-dead.png"), fullPage: true });
    writeFileSync(join(OUT, "page-dead.html"), await page.content());
    await page.click(`${sel} button.retry`);
    await page.waitForSelector(sel, { state: "detached", timeout: 20000 });
    const msg = await page.textContent("#retry-msg");
    if (!/set pending/.test(msg)) fail(`retry message: ${msg}`);
    const st = status(), p = st.phases.find((q) => q.phase === arg);
    if (p.chunks_dead !== 0 || st.dead_chunks.length !== 0) fail(`after the retry, status says ${p.chunks_dead} dead`);
    console.log(`ok: retry clicked: the dead chunk of ${arg} left the list ("${msg}")`);
    await page.screenshot({ path: join(OUT, "dashboard-retried.png"), fullPage: true });
  } else {
    fail(`unknown step ${step}`);
  }
  if (problems.length) fail(`browser errors (CSP violations included): ${problems.join(" | ")}`);
} finally {
  await ctx.close();
}
