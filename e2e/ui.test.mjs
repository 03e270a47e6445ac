// taskmgr's browser test: headless Chromium (Debian's chromium, driven by playwright-core) against
// the real stack (frontend → backend → PostgreSQL) that scripts/test-browser.sh starts.
// It does what a user does: add a high-priority task, complete it, edit it, filter by priority,
// delete it, checking what the page shows at each step; and it saves the README's screenshots.
//
// Environment: TASKMGR_URL (the frontend, required), CHROMIUM (default /usr/bin/chromium),
// SCREENSHOT_DIR (default ../docs/images).
import { test, after, before } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, mkdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const baseUrl = process.env.TASKMGR_URL;
const chromiumPath = process.env.CHROMIUM || "/usr/bin/chromium";
const screenshotDir = process.env.SCREENSHOT_DIR || join(here, "..", "docs", "images");
// The flags from DEVELOPERS.md: no sandbox (containers), and no traffic to anywhere but the app.
const CHROMIUM_FLAGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

let chromium;
let context;
let userDataDir;
const problems = []; // console errors and page errors (a CSP violation shows up here)

function fail(message) {
  throw new Error(message);
}

before(async () => {
  if (!baseUrl) fail("TASKMGR_URL is not set: run this test through ./scripts/test-browser.sh");
  if (!existsSync(chromiumPath)) {
    fail(`Chromium not found at ${chromiumPath}: install it (apt-get install chromium) or set CHROMIUM`);
  }
  try {
    ({ chromium } = await import("playwright-core"));
  } catch {
    fail("playwright-core is not installed: run `npm ci --prefix e2e`");
  }
  userDataDir = mkdtempSync(join(tmpdir(), "taskmgr-chromium-"));
  context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: chromiumPath,
    headless: true,
    args: CHROMIUM_FLAGS,
    viewport: { width: 1280, height: 900 },
  });
  mkdirSync(screenshotDir, { recursive: true });
});

after(async () => {
  await context?.close();
  if (userDataDir) rmSync(userDataDir, { recursive: true, force: true });
});

async function openPage() {
  const page = await context.newPage();
  page.on("console", (msg) => {
    // A refused form is answered with 422 on purpose; Chromium logs every 4xx document as an error.
    const expected = /^Failed to load resource: the server responded with a status of 422/;
    if (msg.type() === "error" && !expected.test(msg.text())) problems.push(`console: ${msg.text()}`);
  });
  page.on("pageerror", (err) => problems.push(`page error: ${err.message}`));
  return page;
}

/** The list row of the task titled exactly `title`. */
function row(page, title) {
  const exact = new RegExp(`^${title.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}$`);
  return page.locator("li.task", { has: page.locator(".task-title", { hasText: exact }) });
}

async function counts(page) {
  const read = async (id) => Number(await page.locator(`#count-${id}`).textContent());
  return { total: await read("total"), pending: await read("pending"), completed: await read("completed") };
}

async function flash(page) {
  return (await page.locator("#flash").textContent()).trim();
}

/** Seeds tasks through the frontend's /api pass-through (the same API curl users call). */
async function seed(tasks) {
  for (const task of tasks) {
    const res = await fetch(`${baseUrl}/api/tasks`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(task),
    });
    assert.equal(res.status, 201, `seeding ${task.title}: ${await res.text()}`);
  }
}

test("a user manages a task from start to finish", async () => {
  await seed([
    { title: "Renew the domain name", description: "Expires at the end of the month.", priority: "medium" },
    { title: "Water the plants", priority: "low", completed: true },
    { title: "Book the team offsite", description: "Two nights, somewhere with a lake.", priority: "low" },
    { title: "Fix the login timeout bug", description: "Users are logged out after 5 minutes.", priority: "high" },
  ]);
  const page = await openPage();
  await page.goto(baseUrl + "/");
  assert.equal(await page.title(), "Tasks · taskmgr");
  // Relative to what is there, so the test also runs against a database in use.
  const before = await counts(page);
  assert.ok(before.total >= 4 && before.completed >= 1, `seeded tasks are counted: ${JSON.stringify(before)}`);
  const plus = (total, pending, completed) => ({
    total: before.total + total,
    pending: before.pending + pending,
    completed: before.completed + completed,
  });

  // Add a high-priority task.
  const title = "Ship the release notes";
  await page.getByLabel("Title").fill(title);
  await page.getByLabel("Description").fill("Summarise the changes for users.");
  await page.locator("#priority").selectOption("high");
  await page.getByRole("button", { name: "Add task" }).click();
  await page.waitForURL(baseUrl + "/");
  assert.equal(await flash(page), `Task "${title}" added!`);
  assert.equal(await row(page, title).locator(".badge").textContent(), "High");
  assert.deepEqual(await counts(page), plus(1, 1, 0));
  // Newest first: the new task heads the list.
  assert.equal(await page.locator("li.task .task-title").first().textContent(), title);

  // Mark it completed.
  await row(page, title).getByRole("button", { name: `Mark as completed: ${title}` }).click();
  await page.waitForLoadState();
  assert.equal(await flash(page), `Task "${title}" marked as completed!`);
  assert.match(await row(page, title).getAttribute("class"), /is-done/);
  assert.deepEqual(await counts(page), plus(1, 0, 1));

  // Edit it on its own page.
  await row(page, title).getByRole("link", { name: `Edit: ${title}` }).click();
  await page.waitForURL(/\/tasks\/[0-9a-f-]+\/edit/);
  assert.equal(await page.locator("h1").textContent(), "Edit task");
  assert.equal(await page.getByLabel("Title").inputValue(), title);
  assert.equal(await page.getByLabel("Completed").isChecked(), true);
  const edited = "Ship the release notes for 2.0";
  await page.getByLabel("Title").fill(edited);
  await page.screenshot({ path: join(screenshotDir, "edit-desktop.png") });
  await page.getByRole("button", { name: "Save changes" }).click();
  await page.waitForURL(baseUrl + "/");
  assert.equal(await flash(page), `Task "${edited}" updated!`);
  const titles = await page.locator("li.task .task-title").allTextContents();
  assert.ok(titles.includes(edited) && !titles.includes(title), `the new title replaces the old: ${titles}`);

  // The README's screenshots: the list at desktop and phone widths.
  await page.screenshot({ path: join(screenshotDir, "tasks-desktop.png"), fullPage: true });
  await page.setViewportSize({ width: 360, height: 780 });
  await page.goto(baseUrl + "/");
  await page.screenshot({ path: join(screenshotDir, "tasks-phone.png"), fullPage: true });
  // Nothing sticks out sideways on a phone.
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `the page is ${overflow}px wider than a 360px phone`);
  await page.setViewportSize({ width: 1280, height: 900 });

  // Filter by priority: choosing it applies at once (small script), and the URL keeps the view.
  await page.goto(baseUrl + "/");
  await page.locator("#filter-priority").selectOption("high");
  await page.waitForURL(/priority=high/);
  const badges = await page.locator("li.task .badge").allTextContents();
  assert.ok(badges.length >= 2 && badges.every((b) => b === "High"), `only high-priority tasks: ${badges}`);
  assert.match(await page.locator("#summary").textContent(), /of \d+ tasks matching the filters/);
  assert.equal(await row(page, "Renew the domain name").count(), 0, "a medium task is filtered out");
  assert.equal((await counts(page)).total, plus(1, 0, 1).total, "the counts still cover every task");

  // Delete it, through the confirmation page (no JavaScript needed).
  await row(page, edited).getByRole("link", { name: `Delete: ${edited}` }).click();
  await page.waitForURL(/\/tasks\/[0-9a-f-]+\/delete/);
  assert.equal(await page.locator("h1").textContent(), "Delete this task?");
  assert.match(await page.locator(".confirm-task").textContent(), new RegExp(edited));
  await page.getByRole("button", { name: "Delete task" }).click();
  await page.waitForURL(/priority=high/);
  assert.equal(await flash(page), `Task "${edited}" deleted.`);
  assert.equal(await row(page, edited).count(), 0);
  assert.deepEqual(await counts(page), before);

  assert.deepEqual(problems, [], "no console errors (a CSP violation would be one)");
  await page.close();
});

test("a refused form keeps the input and shows the message next to the field", async () => {
  const page = await openPage();
  await page.goto(baseUrl + "/");
  await page.getByLabel("Description").fill("A description without a title");
  await page.getByRole("button", { name: "Add task" }).click();
  await page.waitForLoadState();
  const error = page.locator("#title-error");
  assert.ok((await error.textContent()).length > 0, "the title's error is shown");
  assert.equal(await page.getByLabel("Description").inputValue(), "A description without a title");
  assert.equal(await page.getByLabel("Title").getAttribute("aria-invalid"), "true");
  assert.deepEqual(problems, []);
  await page.close();
});

test("saving the edit form unchanged keeps the task's text", async () => {
  const description = "\nStarts with an empty line.\nThen two more lines.\nThe end.";
  const created = await fetch(`${baseUrl}/api/tasks`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ title: "Keep my lines", description }),
  });
  assert.equal(created.status, 201);
  const { id } = await created.json();
  const page = await openPage();
  await page.goto(`${baseUrl}/tasks/${id}/edit`);
  await page.getByRole("button", { name: "Save changes" }).click();
  await page.waitForURL(baseUrl + "/");
  const saved = await (await fetch(`${baseUrl}/api/tasks/${id}`)).json();
  assert.equal(JSON.stringify(saved.description), JSON.stringify(description));
  assert.deepEqual(problems, []);
  await page.close();
});
