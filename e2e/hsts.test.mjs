// HTTPS must not take http://localhost away: after a visit to the HTTPS site (TLS ended by a stand-in of the
// --tls Gateway, tests/infra/standins/tls_proxy.py, with the certificate deploy.sh makes), the plain-HTTP UI on
// another port of localhost still loads over HTTP and its forms still work. A browser that records HSTS for
// localhost (Firefox does) would instead rewrite every http://localhost URL to https, on every port, for a year,
// so the HTTPS answer the browser receives must carry no Strict-Transport-Security for localhost. Chromium itself
// never applies HSTS to localhost or *.localhost, so that header check is what fails when it is sent.
//
// Chromium trusts the certificate the way a user would (through its NSS database, made by
// scripts/test-browser.sh), never by ignoring certificate errors: a browser that skips the check does not record
// HSTS either, and the test could not fail.
//
// Environment (set by scripts/test-browser.sh): TASKMGR_URL (the frontend over HTTP), TASKMGR_HTTPS_URL (the
// stand-in Gateway), TASKMGR_BROWSER_HOME (a HOME whose .pki/nssdb trusts the certificate), CHROMIUM.
import { test, after, before } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const httpUrl = process.env.TASKMGR_URL?.replace("127.0.0.1", "localhost");
const httpsUrl = process.env.TASKMGR_HTTPS_URL;
const browserHome = process.env.TASKMGR_BROWSER_HOME;
const chromiumPath = process.env.CHROMIUM || "/usr/bin/chromium";

let context;
let userDataDir;

before(async () => {
  for (const [name, value] of Object.entries({ TASKMGR_URL: httpUrl, TASKMGR_HTTPS_URL: httpsUrl,
    TASKMGR_BROWSER_HOME: browserHome })) {
    if (!value) throw new Error(`${name} is not set: run this test through ./scripts/test-browser.sh`);
  }
  if (!existsSync(join(browserHome, ".pki", "nssdb", "cert9.db"))) {
    throw new Error(`no NSS database in ${browserHome}/.pki/nssdb: scripts/test-browser.sh makes it with certutil`);
  }
  const { chromium } = await import("playwright-core");
  userDataDir = mkdtempSync(join(tmpdir(), "taskmgr-chromium-hsts-"));
  context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: chromiumPath,
    headless: true,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync"],
    env: { ...process.env, HOME: browserHome },
  });
});

after(async () => {
  await context?.close();
  if (userDataDir) rmSync(userDataDir, { recursive: true, force: true });
});

test("http://localhost keeps working after a visit to the HTTPS site", async () => {
  const page = await context.newPage();

  // The HTTPS site, with the certificate trusted (a certificate error would throw here).
  const secure = await page.goto(httpsUrl + "/");
  assert.equal(secure.status(), 200);
  assert.equal(await page.title(), "Tasks · taskmgr");
  const cookies = await context.cookies(httpsUrl);
  assert.ok(cookies.some((c) => c.name === "taskmgr_csrf" && c.secure),
    `the HTTPS answer was believed to be HTTPS (Secure cookie): ${JSON.stringify(cookies)}`);
  const hsts = secure.headers()["strict-transport-security"];
  assert.equal(hsts, undefined, "HSTS for localhost would bind every port of this machine to HTTPS");

  // The plain-HTTP UI on another port: still HTTP, and a form posted there works.
  const plain = await page.goto(httpUrl + "/").catch((error) => {
    throw new Error(`http://localhost no longer loads after the HTTPS visit: ${error.message}`);
  });
  assert.equal(plain.status(), 200);
  assert.ok(page.url().startsWith("http://localhost:"), `the browser moved to ${page.url()}`);
  const title = "Added over plain HTTP after an HTTPS visit";
  await page.getByLabel("Title").fill(title);
  await page.getByRole("button", { name: "Add task" }).click();
  await page.waitForLoadState();
  assert.ok(page.url().startsWith("http://localhost:"), `the browser moved to ${page.url()}`);
  assert.equal((await page.locator("#flash").textContent()).trim(), `Task "${title}" added!`);
});
