// The console in a real browser (DESIGN §7.13): Debian's chromium, driven by playwright-core,
// against a real devnet started with the custodia binary. Every organisation's console is
// opened in ONE browser context, as an officer with several tabs would: cookies are not kept
// apart by port, so this is where one console's session could leak into another's.
//
//   node console.test.mjs --binary ../../../target/debug/custodia [--screenshots DIR]
//
// Exits 0 when every check passes; otherwise prints the failed check and exits 1.

import { spawn, execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, existsSync, mkdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import assert from "node:assert/strict";
import { chromium } from "playwright-core";

const here = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const option = (name, fallback) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : fallback;
};
const binary = resolve(option("--binary", join(here, "../../../target/debug/custodia")));
const screenshots = option("--screenshots", null);
const axeSource = readFileSync(join(here, "node_modules/axe-core/axe.min.js"), "utf8");

// Values only the provider, the supervisor and (for two of them) the requester may ever see.
const VALUES = { amount: "735193.25", incident_date: "2026-11-02", insured: "Aurelia Quennell-Jones" };
const REQUESTED = ["amount", "incident_date"];

let step = "start";
const log = (text) => console.log(`[${new Date().toISOString().slice(11, 19)}] ${text}`);
const check = (name) => { step = name; log(`check: ${name}`); };

// --- the devnet ----------------------------------------------------------------------------

async function startDevnet() {
  const dir = mkdtempSync(join(tmpdir(), "custodia-console-"));
  const devnet = spawn(binary, ["devnet", "--dir", join(dir, "devnet")], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  devnet.stdout.on("data", (chunk) => { output += chunk; });
  devnet.stderr.on("data", (chunk) => { output += chunk; });
  const deadline = Date.now() + 120_000;
  while (!output.includes("devnet ready")) {
    if (devnet.exitCode !== null) throw new Error(`custodia devnet exited:\n${output}`);
    if (Date.now() > deadline) throw new Error(`the devnet is not ready after 120 s:\n${output}`);
    await new Promise((r) => setTimeout(r, 250));
  }
  const manifest = JSON.parse(readFileSync(join(dir, "devnet", "devnet.json"), "utf8"));
  const orgs = {};
  for (const org of manifest.orgs) {
    orgs[org.name] = {
      name: org.name,
      url: `${org.api_url}/console`,
      dir: org.dir,
      token: readFileSync(join(org.dir, "api.token"), "utf8").trim(),
    };
  }
  return { dir, devnet, orgs, output: () => output };
}

async function stopDevnet(net) {
  if (!net) return;
  if (net.devnet.exitCode === null) {
    net.devnet.kill("SIGINT");
    await new Promise((r) => {
      const timer = setTimeout(() => { net.devnet.kill("SIGKILL"); r(); }, 20_000);
      net.devnet.on("exit", () => { clearTimeout(timer); r(); });
    });
  }
  rmSync(net.dir, { recursive: true, force: true });
}

// --- helpers -------------------------------------------------------------------------------

const cspViolations = [];

async function open(context, org) {
  const page = await context.newPage();
  page.on("console", (message) => {
    if (/Content Security Policy/i.test(message.text())) cspViolations.push(`${org.name}: ${message.text()}`);
  });
  page.on("pageerror", (error) => cspViolations.push(`${org.name}: script error ${error.message}`));
  page.org = org;
  return page;
}

async function signIn(page) {
  await page.goto(`${page.org.url}/sign-in`);
  await page.getByLabel("API token", { exact: true }).fill(page.org.token);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("heading", { level: 1, name: "Overview" }).waitFor();
}

async function csrfOf(page) {
  return page.locator("form.sign-out input[name=csrf]").getAttribute("value");
}

// POSTs a form from inside `page` (its cookies, its origin), as a forged or scripted form would.
async function post(page, path, fields) {
  return page.evaluate(async ({ path, fields }) => {
    const response = await fetch(path, {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams(fields).toString(),
      redirect: "manual",
    });
    return { status: response.status, text: await response.text() };
  }, { path, fields });
}

// Reloads `page` until `locator` shows (what a block has not changed yet).
async function reloadUntil(page, locator, seconds = 60) {
  const deadline = Date.now() + seconds * 1000;
  for (;;) {
    if (await locator.count() > 0) return;
    if (Date.now() > deadline) throw new Error(`${page.org.name}: not shown after ${seconds} s: ${locator}`);
    await page.waitForTimeout(1000);
    await page.reload();
  }
}

async function axe(page, name) {
  await page.evaluate(axeSource);
  const result = await page.evaluate(async () =>
    // eslint-disable-next-line no-undef
    axe.run(document, { resultTypes: ["violations"] }));
  const bad = result.violations.filter((v) => v.impact === "serious" || v.impact === "critical");
  assert.deepEqual(
    bad.map((v) => `${v.id} (${v.impact}): ${v.help} at ${v.nodes.map((n) => n.target.join(" ")).join("; ")}`),
    [],
    `accessibility violations on ${name}`,
  );
}

function assertNoValues(html, where, allowed = []) {
  for (const [field, value] of Object.entries(VALUES)) {
    if (allowed.includes(field)) continue;
    assert.ok(!html.includes(value), `the value of ${field} appears in ${where}`);
  }
}

async function submitRecord(page) {
  await page.goto(`${page.org.url}/records/new`);
  await page.getByLabel("Kind", { exact: true }).fill("claim");
  await page.getByLabel("Field 1 name", { exact: true }).fill("amount");
  await page.getByLabel("Field 1 type", { exact: true }).selectOption("number");
  await page.getByLabel("Field 1 value", { exact: true }).fill(VALUES.amount);
  await page.getByLabel("Field 2 name", { exact: true }).fill("incident_date");
  await page.getByLabel("Field 2 value", { exact: true }).fill(VALUES.incident_date);
  await page.getByRole("button", { name: "Add a field" }).click();
  await page.getByLabel("Field 3 name", { exact: true }).fill("insured");
  await page.getByLabel("Field 3 value", { exact: true }).fill(VALUES.insured);
  await page.getByRole("button", { name: "Submit the record" }).click();
  await page.waitForURL(/\/console\/records\/rec_[0-9a-f]+/);
  return page.url().match(/rec_[0-9a-f]+/)[0];
}

async function requestFields(page, recordId, fields, purpose) {
  await page.goto(`${page.org.url}/records/${recordId}`);
  const link = page.getByRole("link", { name: "Request fields of this record" });
  await reloadUntil(page, link);
  await link.click();
  for (const field of fields) await page.getByLabel(field, { exact: true }).check();
  await page.getByLabel("Purpose", { exact: true }).fill(purpose);
  await page.getByRole("button", { name: "Submit the request" }).click();
  await page.waitForURL(/\/console\/requests\/req_[0-9a-f]+/);
  return page.url().match(/req_[0-9a-f]+/)[0];
}

async function decide(page, requestId, approve, reason) {
  await page.goto(`${page.org.url}/requests/${requestId}`);
  await page.getByRole("link", { name: approve ? "Approve" : "Reject", exact: true }).click();
  if (approve) {
    await page.getByRole("button", { name: "Confirm approval" }).click();
  } else {
    await page.getByLabel(/Reason/).fill(reason);
    await page.getByRole("button", { name: "Confirm rejection" }).click();
  }
  await page.getByText(approve ? "Your approval was finalized." : "Your rejection was finalized.").waitFor();
}

// --- the checks ----------------------------------------------------------------------------

async function run(net) {
  const browser = await chromium.launch({
    executablePath: "/usr/bin/chromium",
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
      "--disable-component-update", "--disable-sync", "--no-first-run"],
  });
  try {
    const context = await browser.newContext({ acceptDownloads: true, viewport: { width: 1280, height: 900 } });
    const sup = await open(context, net.orgs["supervisor"]);
    const provider = await open(context, net.orgs["member-a"]);
    const requester = await open(context, net.orgs["member-b"]);
    const third = await open(context, net.orgs["member-c"]);

    check("signed out, a console shows nothing but its sign-in");
    const signedOut = await third.goto(`${third.org.url}/requests`);
    assert.match(third.url(), /\/console\/sign-in$/);
    assert.equal(signedOut.status(), 200);
    assert.ok(!(await third.content()).includes("Latest events"));
    check("a wrong token is refused with what to do");
    await third.getByLabel("API token", { exact: true }).fill("not-the-token");
    await third.getByRole("button", { name: "Sign in" }).click();
    await third.getByText("That is not this node's API token").waitFor();

    check("four consoles signed in in one browser context, each with its own cookie");
    for (const page of [sup, provider, requester, third]) await signIn(page);
    const cookies = (await context.cookies()).map((c) => c.name).sort();
    assert.equal(cookies.length, 4, `one cookie per console: ${cookies}`);
    for (const cookie of await context.cookies()) {
      assert.equal(cookie.httpOnly, true);
      assert.equal(cookie.sameSite, "Strict");
      assert.equal(cookie.path, "/console");
      assert.ok(!cookie.value.includes(net.orgs["member-a"].token));
    }
    for (const page of [sup, provider, requester, third]) {
      await page.goto(page.org.url);
      await page.getByText(page.org.name, { exact: true }).first().waitFor();
      assert.ok(!page.url().includes("token"), "no token in a URL");
    }

    check("the provider submits a record from the form, adding a field");
    const recordId = await submitRecord(provider);
    assertNoValues(await provider.content(), "the provider's record page");

    check("the provider's inbox is open before the request is made (live update)");
    await provider.goto(`${provider.org.url}/requests`);

    check("the requester asks for 2 of its fields");
    const requestId = await requestFields(requester, recordId, REQUESTED, "fraud check");

    check("the request appears in the provider's inbox without a reload");
    await provider.locator("#requests").getByRole("link", { name: requestId }).first()
      .waitFor({ timeout: 30_000 });

    check("a third party sees no approve button and its forged POST is refused");
    await third.goto(`${third.org.url}/requests/${requestId}`);
    assert.equal(await third.getByRole("link", { name: "Approve", exact: true }).count(), 0);
    const forged = await post(third, `/console/requests/${requestId}/approve`, { csrf: await csrfOf(third) });
    assert.equal(forged.status, 403, forged.text);
    assert.match(forged.text, /not_approver/);
    check("a POST without the CSRF token is refused");
    const noCsrf = await post(provider, `/console/requests/${requestId}/approve`, {});
    assert.equal(noCsrf.status, 403);
    assert.match(noCsrf.text, /CSRF/);
    check("another console's CSRF token is refused");
    const otherCsrf = await post(provider, `/console/requests/${requestId}/approve`, { csrf: await csrfOf(requester) });
    assert.equal(otherCsrf.status, 403);

    check("the provider's confirmation names the requester, the fields and the purpose");
    await provider.goto(`${provider.org.url}/requests/${requestId}`);
    await provider.getByRole("link", { name: "Approve", exact: true }).click();
    assert.equal(await provider.locator("#confirm-requester").textContent(), "member-b");
    assert.equal(await provider.locator("#confirm-fields").textContent(), REQUESTED.join(", "));
    assert.equal(await provider.locator("#confirm-purpose").textContent(), "fraud check");
    await provider.getByRole("button", { name: "Confirm approval" }).click();
    await provider.getByText("Your approval was finalized.").waitFor();

    check("the supervisor approves");
    await decide(sup, requestId, true);

    check("the requester opens exactly the 2 values, verified");
    await requester.goto(`${requester.org.url}/requests/${requestId}`);
    const openLink = requester.getByRole("link", { name: "Open the delivered data" });
    await reloadUntil(requester, openLink);
    await openLink.click();
    await requester.locator("td[data-field]").first().waitFor();
    const shown = await requester.locator("td[data-field]").evaluateAll((cells) =>
      cells.map((cell) => [cell.getAttribute("data-field"), cell.textContent]));
    assert.deepEqual(shown, [["amount", VALUES.amount], ["incident_date", VALUES.incident_date]]);
    assert.equal(await requester.locator(".badge-verified").count(), 1);
    assertNoValues(await requester.content(), "the requester's data page", REQUESTED);
    const dataResponse = await requester.reload();
    assert.equal(dataResponse.headers()["cache-control"], "no-store");
    check("the delivered data downloads as JSON");
    const [download] = await Promise.all([
      requester.waitForEvent("download"),
      requester.getByRole("link", { name: "Download as JSON" }).click(),
    ]);
    const json = JSON.parse(readFileSync(await download.path(), "utf8"));
    assert.deepEqual(Object.keys(json.records[0].fields).sort(), REQUESTED);
    assert.equal(json.records[0].verified, true);

    check("a rejection with its reason, seen by the requester");
    const rejectedId = await requestFields(requester, recordId, ["insured"], "address check");
    await decide(provider, rejectedId, false, "not covered by our sharing agreement");
    await requester.goto(`${requester.org.url}/requests/${rejectedId}`);
    await reloadUntil(requester, requester.getByText("not covered by our sharing agreement").first());
    await requester.locator(".badge-rejected").first().waitFor();

    check("a refusal of the supervisor, seen by the requester");
    const refusedId = await requestFields(requester, recordId, ["amount"], "marketing");
    await decide(provider, refusedId, true);
    await decide(sup, refusedId, false, "marketing is not a permitted purpose");
    await requester.goto(`${requester.org.url}/requests/${refusedId}`);
    await reloadUntil(requester, requester.getByText("marketing is not a permitted purpose").first());

    check("the supervisor suspends and reinstates a member");
    await sup.goto(`${sup.org.url}/orgs`);
    await sup.getByRole("link", { name: "Suspend member-c" }).click();
    await sup.getByLabel(/Reason/).fill("audit of its controls");
    await sup.getByRole("button", { name: "Confirm suspension" }).click();
    await sup.getByText("The organisation was suspended.").waitFor();
    await sup.getByRole("link", { name: "Reinstate member-c" }).click();
    await sup.getByRole("button", { name: "Confirm reinstatement" }).click();
    await sup.getByText("The organisation was reinstated.").waitFor();
    check("a member has no suspend button");
    await third.goto(`${third.org.url}/orgs`);
    assert.equal(await third.getByRole("link", { name: /^Suspend/ }).count(), 0);

    check("a proposal made with the CLI is voted on in two consoles");
    const proposalId = execFileSync(binary, ["org", "propose", "params", "max_request_ttl=90000",
      "--org-dir", provider.org.dir]).toString().trim();
    assert.match(proposalId, /^prop_[0-9a-f]+$/);
    await sup.goto(`${sup.org.url}/proposals/${proposalId}`);
    await sup.getByRole("link", { name: "Vote for" }).click();
    await sup.getByRole("button", { name: "Confirm vote for" }).click();
    await sup.getByText("Your vote was finalized.").waitFor();
    assert.equal(await sup.getByRole("link", { name: "Vote for" }).count(), 0, "one vote per organisation");
    await third.goto(`${third.org.url}/proposals/${proposalId}`);
    await third.getByRole("link", { name: "Vote against" }).click();
    await third.getByLabel(/Reason/).fill("keep requests short-lived");
    await third.getByRole("button", { name: "Confirm vote against" }).click();
    await third.getByText("keep requests short-lived").waitFor();

    check("a request left pending for the provider's confirmation page");
    const pendingId = await requestFields(requester, recordId, ["insured"], "claims reconciliation");

    check("the audit trail filters by request and exports CSV and JSON");
    await sup.goto(`${sup.org.url}/audit?request=${requestId}`);
    await sup.locator("table.audit").getByText("request_delivered").waitFor();
    const [csv] = await Promise.all([sup.waitForEvent("download"), sup.getByRole("link", { name: "CSV" }).click()]);
    const csvText = readFileSync(await csv.path(), "utf8");
    assert.match(csvText, /^"?seq"?,/);
    assert.ok(csvText.includes(requestId));
    const [auditJson] = await Promise.all([sup.waitForEvent("download"), sup.getByRole("link", { name: "JSON" }).click()]);
    const entries = JSON.parse(readFileSync(await auditJson.path(), "utf8"));
    assert.ok(entries.length >= 4 && entries.every((e) => e.request_id === requestId));

    check("an audit entry's inclusion proof is checked in the console");
    await sup.locator("table.audit tr", { hasText: "request_delivered" }).getByRole("link", { name: "check" }).click();
    await sup.getByText(/^Verified: this entry is leaf \d+ of the history committed at block \d+\.$/).waitFor();

    const pages = (recordId, requestId) => [
      ["overview", ""], ["records", "/records"], ["record", `/records/${recordId}`],
      ["new-record", "/records/new"], ["requests", "/requests"], ["request", `/requests/${requestId}`],
      ["audit", "/audit"], ["orgs", "/orgs"], ["proposals", "/proposals"],
    ];

    check("no field value in any page served to the provider or a third party");
    for (const page of [provider, third]) {
      for (const [name, path] of pages(recordId, requestId)) {
        await page.goto(`${page.org.url}${path}`);
        assertNoValues(await page.content(), `${page.org.name}'s ${name} page`);
      }
    }

    check("no serious or critical accessibility violation (axe-core), at 1280 and 390 px");
    const everyPage = [
      ...pages(recordId, requestId).map(([name, path]) => [requester, name, path]),
      [requester, "data", `/requests/${requestId}/data`],
      [provider, "confirm", `/requests/${pendingId}/approve`],
      [sup, "proposal", `/proposals/${proposalId}`],
      [sup, "orgs-supervisor", "/orgs"],
    ];
    for (const width of [1280, 390]) {
      for (const [page, name, path] of everyPage) {
        await page.setViewportSize({ width, height: width > 500 ? 900 : 844 });
        await page.goto(`${page.org.url}${path}`);
        await axe(page, `${name} at ${width} px`);
        const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
        assert.ok(overflow <= 0, `${name} at ${width} px is ${overflow} px wider than the window`);
        if (screenshots) {
          await page.screenshot({ path: join(screenshots, `${name}-${width}.png`), fullPage: true });
        }
      }
    }

    check("signing out ends the session and leaves the other consoles signed in");
    await provider.goto(provider.org.url);
    await provider.getByRole("button", { name: "Sign out" }).click();
    await provider.waitForURL(/\/console\/sign-in$/);
    if (screenshots) {
      for (const width of [1280, 390]) {
        await provider.setViewportSize({ width, height: width > 500 ? 900 : 844 });
        await provider.screenshot({ path: join(screenshots, `sign-in-${width}.png`), fullPage: true });
      }
      await axe(provider, "sign-in");
    }
    await provider.goto(`${provider.org.url}/requests/${requestId}`);
    assert.match(provider.url(), /\/console\/sign-in$/);
    assert.ok(!(await provider.content()).includes(requestId));
    await requester.goto(requester.org.url);
    await requester.getByRole("heading", { level: 1, name: "Overview" }).waitFor();

    check("no Content-Security-Policy violation or script error on any page");
    assert.deepEqual(cspViolations, []);
  } finally {
    await browser.close();
  }
}

let net;
try {
  if (!existsSync(binary)) throw new Error(`no custodia binary at ${binary}: build it first`);
  if (screenshots) mkdirSync(screenshots, { recursive: true });
  net = await startDevnet();
  log(`devnet up: ${Object.values(net.orgs).map((o) => o.url).join(" ")}`);
  await run(net);
  log("every console check passed");
  await stopDevnet(net);
} catch (error) {
  console.error(`FAILED at "${step}": ${error.stack || error}`);
  if (net) console.error(`devnet output (tail):\n${net.output().slice(-3000)}`);
  await stopDevnet(net).catch(() => {});
  process.exit(1);
}
