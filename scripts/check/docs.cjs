// Drives /v1/docs (Swagger UI) in headless Chromium as a user would, through playwright-core
// (no bundled browser: Debian's /usr/bin/chromium). Run by scripts/check/docs.sh, which installs
// both and starts the server; usage: node check_docs.cjs BASE_URL (env: PLAYWRIGHT_DIR,
// LOCAL_ADMIN_EMAIL, LOCAL_ADMIN_PASSWORD, CHROMIUM). Fails (exit 1) unless:
//   1. every operation of /v1/openapi.json is listed on the page;
//   2. "Try it out" → Execute on POST /v1/users/login, in the page, answers 200 with a token;
//   3. that token, typed into the "Authorize" dialog, authorizes the bearer scheme;
//   4. "Try it out" → Execute on GET /v1/products and on GET /v1/users/me shows 200 in the page,
//      the second with the token in the request Swagger UI shows (without it: 401);
//   5. the page asks nothing of any other origin (it must work offline) and throws no error.
"use strict";
const fs = require("fs");
const os = require("os");
const path = require("path");
const { chromium } = require(path.join(process.env.PLAYWRIGHT_DIR, "node_modules", "playwright-core"));

const base = process.argv[2];
const origin = new URL(base).origin;
const email = process.env.LOCAL_ADMIN_EMAIL || "admin@example.com";
const password = process.env.LOCAL_ADMIN_PASSWORD || "Admin-Passw0rd!";
const METHODS = ["get", "post", "put", "patch", "delete"];

const log = (msg) => console.log(`check_docs: ${msg}`);
class CheckFailed extends Error {}
const fail = (msg) => {
  throw new CheckFailed(msg);
};

// The operation's block on the page, by method and path (Swagger UI keeps the path in data-path).
const opblock = (page, method, route) =>
  page.locator(`.opblock.opblock-${method}`).filter({
    has: page.locator(`.opblock-summary-path[data-path="${route}"]`),
  });

// Expands an operation, "Try it out", optionally fills the JSON body, "Execute"; returns the
// status and body of the live response Swagger UI shows, and the curl line it shows.
async function tryItOut(page, method, route, body) {
  const block = opblock(page, method, route);
  if ((await block.count()) !== 1) fail(`${method.toUpperCase()} ${route} is not on the page once`);
  if (!(await block.locator(".opblock-body").count())) {
    await block.locator(".opblock-summary-control").click();
  }
  await block.locator("button.try-out__btn", { hasText: "Try it out" }).click();
  if (body !== undefined) {
    await block.locator("textarea.body-param__text").fill(JSON.stringify(body));
  }
  await block.locator("button.execute").click();
  const status = block.locator(".live-responses-table tr.response td.response-col_status");
  await status.waitFor({ timeout: 20000 });
  const code = (await status.innerText()).trim();
  const text = await block
    .locator(".live-responses-table tr.response .response-col_description pre.microlight")
    .first()
    .innerText();
  const curl = await block.locator(".curl-command").innerText().catch(() => "");
  log(`  "Try it out" → Execute on ${method.toUpperCase()} ${route}: the page shows ${code}`);
  return { code, text, curl };
}

async function main() {
  const doc = await (await fetch(`${base}/v1/openapi.json`)).json();
  const expected = [];
  for (const [route, item] of Object.entries(doc.paths)) {
    for (const method of METHODS) if (item[method]) expected.push(`${method.toUpperCase()} ${route}`);
  }
  if (!expected.length) fail("the document lists no operation");

  const profile = fs.mkdtempSync(path.join(os.tmpdir(), "check-docs-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    headless: true,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--disable-dev-shm-usage",
    ],
  });
  const problems = [];
  try {
    const page = context.pages()[0] || (await context.newPage());
    // Offline: any request to another origin is refused and fails the check.
    await context.route("**/*", (route) => {
      const url = route.request().url();
      if (url.startsWith(origin) || url.startsWith("data:")) return route.continue();
      problems.push(`the page asked another origin: ${url}`);
      return route.abort();
    });
    page.on("pageerror", (err) => problems.push(`page error: ${err.message}`));

    const response = await page.goto(`${base}/v1/docs`, { waitUntil: "load" });
    log(`opened ${base}/v1/docs → ${page.url()} (${response.status()})`);
    await page.locator(".opblock").first().waitFor({ timeout: 30000 });
    const title = (await page.locator(".info .title").innerText()).split("\n")[0];

    // 1. Every operation listed.
    const listed = await page.$$eval(".opblock", (blocks) =>
      blocks.map((b) => {
        const m = b.querySelector(".opblock-summary-method").textContent.trim();
        const p = b.querySelector(".opblock-summary-path").getAttribute("data-path");
        return `${m} ${p}`;
      }),
    );
    const missing = expected.filter((op) => !listed.includes(op));
    if (missing.length || listed.length !== expected.length) {
      fail(`the page lists ${listed.length} operations, the document ${expected.length}; missing: ${missing.join(", ")}`);
    }
    log(`"${title}": all ${expected.length} operations of /v1/openapi.json are listed`);

    // 2. Sign in through the page itself.
    const login = await tryItOut(page, "post", "/v1/users/login", { email, password });
    if (login.code !== "200") fail(`POST /v1/users/login answered ${login.code}: ${login.text}`);
    const token = JSON.parse(login.text).access_token;
    if (!token) fail("the login answer shown has no access_token");
    log(`  its answer holds an access_token (${token.length} characters)`);

    // 3. The Authorize dialog.
    const authorize = page.locator(".scheme-container button.authorize");
    await authorize.click();
    const dialog = page.locator(".modal-ux");
    await dialog.waitFor();
    const schemes = await dialog.locator(".auth-container h4").allInnerTexts();
    log(`clicked "Authorize": the dialog offers ${schemes.map((s) => s.replace(/\s+/g, " ").trim()).join(", ")}`);
    await dialog.locator(".auth-container input").first().fill(token);
    await dialog.locator(".auth-btn-wrapper button.authorize").click();
    // Authorized, the dialog swaps its "Authorize" button for "Logout".
    await dialog.locator(".auth-btn-wrapper button", { hasText: "Logout" }).waitFor({ timeout: 5000 });
    await dialog.locator(".auth-btn-wrapper button.btn-done").click();
    if (!(await authorize.evaluate((b) => b.classList.contains("locked")))) {
      fail('after "Authorize" the page does not show the scheme as authorized');
    }
    log('  typed the token in, clicked "Authorize" then "Close": the padlock shows authorized');

    // 4. Calls from the page.
    const products = await tryItOut(page, "get", "/v1/products");
    if (products.code !== "200") fail(`GET /v1/products answered ${products.code}: ${products.text}`);
    if (!Array.isArray(JSON.parse(products.text).items)) fail("GET /v1/products shows no items list");
    const me = await tryItOut(page, "get", "/v1/users/me");
    if (!/authorization: Bearer /i.test(me.curl)) fail(`GET /v1/users/me was sent without the token: ${me.curl}`);
    if (me.code !== "200") fail(`GET /v1/users/me answered ${me.code}: ${me.text}`);
    const user = JSON.parse(me.text);
    if (user.email !== email) fail(`GET /v1/users/me shows ${user.email}, not ${email}`);
    log(`  sent with "Authorization: Bearer …"; the answer is the signed-in user ${user.email}`);

    if (problems.length) fail(problems.join("; "));
    log("offline: no request left the server's origin; no page error");
  } finally {
    await context.close();
    fs.rmSync(profile, { recursive: true, force: true });
  }
}

main().then(
  () => log("/v1/docs works in headless Chromium"),
  (err) => {
    console.error(`check_docs: FAILED: ${err instanceof CheckFailed ? err.message : err.stack}`);
    process.exit(1);
  },
);
