// The browser end-to-end suite: people use the portal in headless Chromium the way
// they would by hand — by visible labels, roles and button text, never by ids.
//
//   node e2e/run.mjs [path/to/gatehouse]      (scripts/e2e.sh installs and runs it)
//
// Screenshots: target/e2e-screenshots/ (E2E_SHOTS overrides), one per look, light and
// dark. The run fails on any problem the harness finds (see lib.mjs) and on any step
// that cannot be done.

import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { generateKeyPairSync } from "node:crypto";
import { Run, Server, ensure } from "./lib.mjs";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const bin = path.resolve(process.argv[2] || process.env.GATEHOUSE_BIN || path.join(root, "target/debug/gatehouse"));
const shotsDir = path.resolve(process.env.E2E_SHOTS || path.join(root, "target/e2e-screenshots"));
const extraEnv = process.env.E2E_DATABASE_URL ? { GATEHOUSE_DATABASE_URL: process.env.E2E_DATABASE_URL } : {};

const OWNER = { name: "Olivia Owner", email: "olivia@acme.example", password: "correct horse battery staple" };
const DEV = { name: "Dev Dana", email: "dana@acme.example", password: "dana's first passphrase" };
const DEV_NEW_PASSWORD = "dana's second passphrase";
const SAM = { name: "Sam Signup", email: "sam@lab.example", password: "sam likes long passwords" };
const ORG = { name: "Acme Corp", slug: "acme-corp" };

// A hung browser must not hang CI: the whole run has a deadline.
const deadlineMinutes = Number(process.env.E2E_DEADLINE_MINUTES || 10);
let server = null;
setTimeout(() => {
  console.log(`\n✗ the browser suite did not finish within ${deadlineMinutes} minutes`);
  server?.child.kill("SIGTERM");
  process.exit(1);
}, deadlineMinutes * 60_000).unref();

server = await Server.start(bin, extraEnv);
const run = await Run.start({ server, shotsDir });
const base = server.base;
const org = (p = "") => `/o/${ORG.slug}${p}`;
let failed = false;

const step = (title, fn) => run.step(title, fn);

try {
  const owner = await run.person("owner");
  const dev = await run.person("developer");
  const sam = await run.person("sam");

  await step("first-run setup", async () => {
    await owner.goto("/");
    ensure(new URL(owner.url()).pathname === "/setup", `a fresh instance should open /setup, not ${owner.url()}`);
    await run.look(owner, "setup form");
    await owner.getByLabel("Setup code").fill(server.setupCode());
    await owner.getByLabel("Your name").fill(OWNER.name);
    await owner.getByLabel("Email").fill(OWNER.email);
    await owner.getByLabel("Password").fill(OWNER.password);
    await owner.getByLabel("Organisation name").fill(ORG.name);
    await owner.getByRole("button", { name: /create owner/i }).click();
    await owner.waitForURL((u) => u.pathname.startsWith(org()));
    await run.look(owner, "owner's first overview");
  });

  await step("the owner verifies their email address", async () => {
    const link = await server.link(OWNER.email, new RegExp(`${base}/verify-email/[A-Za-z0-9_-]+`));
    await owner.goto(link);
    await run.look(owner, "verify email");
    await owner.getByRole("button", { name: /verify/i }).click();
    await owner.waitForLoadState("load");
    await owner.goto("/account");
    await run.look(owner, "account, verified");
    ensure(!(await owner.getByText(/not verified/i).count()), "the owner's address still shows as not verified");
  });

  await step("someone signs up and creates an organisation", async () => {
    await sam.goto("/signup");
    await run.look(sam, "sign up");
    await sam.getByLabel("Your name").fill(SAM.name);
    await sam.getByLabel("Email").fill(SAM.email);
    await sam.getByLabel("Password").fill(SAM.password);
    await sam.getByRole("main").getByRole("button", { name: "Sign up" }).click();
    await sam.waitForLoadState("load");
    await run.look(sam, "after sign up");
    await sam.goto("/orgs/new");
    await sam.getByLabel("Name").first().fill("Sam's Lab");
    await run.look(sam, "new organisation");
    await sam.getByRole("button", { name: /create organisation/i }).click();
    await sam.waitForURL((u) => u.pathname.startsWith("/o/sam-s-lab") || u.pathname.startsWith("/o/sams-lab"));
    await run.look(sam, "new organisation's overview");
  });

  await step("the new user verifies their email through the link", async () => {
    const link = await server.link(SAM.email, new RegExp(`${base}/verify-email/[A-Za-z0-9_-]+`));
    await sam.goto(link);
    await sam.getByRole("button", { name: /verify/i }).click();
    await sam.waitForLoadState("load");
    await run.look(sam, "email verified");
  });

  await step("the owner publishes a manual and an auto product", async () => {
    for (const p of [
      { name: "Payments API", mode: /Manual: /, docs: "# Payments API\n\nCharge cards and refund them.\n\n## Authentication\n\nSend your key in `X-API-Key`." },
      { name: "Weather API", mode: /Auto: /, docs: "Forecasts for any place on Earth.\n\n- `GET /forecast?city=…`" },
    ]) {
      await owner.goto(org("/admin/products/new"));
      await owner.getByLabel("Name").first().fill(p.name);
      await owner.getByLabel("Summary").fill(`${p.name} for everyone`);
      await owner.getByLabel(/Documentation/).fill(p.docs);
      await owner.getByLabel(p.mode).check();
      await run.look(owner, `new product ${p.name}`);
      await owner.getByRole("button", { name: /publish/i }).click();
      await owner.waitForLoadState("load");
    }
    await owner.goto(org("/products"));
    await run.look(owner, "catalogue");
    await owner.getByRole("link", { name: "Payments API" }).first().click();
    await run.look(owner, "product docs");
  });

  await step("the owner uploads the product's OpenAPI reference", async () => {
    const doc = {
      openapi: "3.0.3",
      info: { title: "Payments API", version: "1.4.0" },
      paths: {
        "/charges": {
          post: {
            tags: ["Charges"],
            summary: "Charge a card",
            parameters: [{ name: "Idempotency-Key", in: "header", required: true, schema: { type: "string" } }],
            requestBody: {
              content: { "application/json": { schema: { $ref: "#/components/schemas/Charge" } } },
            },
            responses: { 201: { description: "The charge was made" } },
          },
        },
      },
      components: {
        schemas: {
          Charge: {
            type: "object",
            required: ["amount"],
            properties: { amount: { type: "integer", description: "In cents" }, currency: { type: "string" } },
          },
        },
      },
    };
    await owner.goto(org("/admin/products"));
    await owner.getByRole("link", { name: "Payments API" }).first().click();
    await owner.getByLabel("Upload a file").setInputFiles({
      name: "openapi.json",
      mimeType: "application/json",
      buffer: Buffer.from(JSON.stringify(doc)),
    });
    await owner.getByRole("button", { name: "Save API reference" }).click();
    await owner.waitForLoadState("load");
    await run.look(owner, "product with its API reference");
    await owner.goto(org("/products/payments-api"));
    ensure(await owner.getByText("Charge a card").count(), "the product page does not show the uploaded operation");
    ensure(await owner.getByText("Idempotency-Key").count(), "the product page does not show the operation's parameter");
    await run.look(owner, "product docs with the API reference");
  });

  await step("the owner invites a developer, who accepts in their own browser", async () => {
    await owner.goto(org("/members"));
    await run.look(owner, "members");
    await owner.getByLabel("Email").fill(DEV.email);
    await owner.getByRole("button", { name: /invit/i }).click();
    await owner.waitForLoadState("load");
    await run.look(owner, "invitation link");
    const link = await server.link(DEV.email, new RegExp(`${base}/invite/[A-Za-z0-9_-]+`));
    await dev.goto(link);
    await run.look(dev, "invitation");
    await dev.getByLabel("Your name").fill(DEV.name);
    await dev.getByLabel("Password").fill(DEV.password);
    await dev.getByRole("button", { name: /create account and join/i }).click();
    await dev.waitForURL((u) => u.pathname.startsWith(org()));
    await run.look(dev, "developer joined");
  });

  await step("the developer resets a forgotten password", async () => {
    await dev.getByRole("button", { name: "Sign out" }).click({ force: true }).catch(async () => {
      await dev.locator("summary", { hasText: DEV.name }).click();
      await dev.getByRole("button", { name: "Sign out" }).click();
    });
    await dev.waitForLoadState("load");
    await dev.goto("/login");
    await dev.getByRole("link", { name: /forgot your password/i }).click();
    await run.look(dev, "forgot password");
    const since = Date.now() - 1000;
    await dev.getByLabel("Email").fill(DEV.email);
    await dev.getByRole("button", { name: /reset link/i }).click();
    await dev.waitForLoadState("load");
    await run.look(dev, "reset link sent");
    const link = await server.link(DEV.email, new RegExp(`${base}/reset-password/[A-Za-z0-9_-]+`), { after: since });
    await dev.goto(link);
    await run.look(dev, "choose a new password");
    await dev.getByLabel("New password").fill(DEV_NEW_PASSWORD);
    await dev.getByRole("button", { name: /set the new password/i }).click();
    await dev.waitForLoadState("load");
    await dev.goto("/login");
    await dev.getByLabel("Email").fill(DEV.email);
    await dev.getByLabel("Password").fill(DEV_NEW_PASSWORD);
    await dev.getByRole("button", { name: "Sign in" }).click();
    await dev.waitForLoadState("load");
    ensure(!new URL(dev.url()).pathname.startsWith("/login"), "signing in with the new password failed");
    await run.look(dev, "signed in with the new password");
  });

  const secrets = {};
  await step("the developer creates an API-key app for the manual product", async () => {
    await dev.goto(org("/apps/new"));
    await run.look(dev, "new app form");
    await dev.getByLabel("Name", { exact: true }).fill("Billing Service");
    await dev.getByLabel("API key").check();
    await dev.getByLabel(/Payments API/).check();
    await dev.getByLabel(/note to the approver/i).fill("We bill our customers monthly.");
    await dev.getByRole("button", { name: "Create app" }).click();
    await dev.waitForLoadState("load");
    await run.look(dev, "API key revealed once (pending app)");
    secrets.billing = await dev.getByLabel("API key").inputValue();
    ensure(/^gate_key_/.test(secrets.billing), `the revealed key looks wrong: ${secrets.billing}`);
    ensure(await dev.getByText(/approv/i).count(), "the reveal page of a pending app does not say it waits for approval");
  });

  await step("the secret is shown once: download it, then reload and go back", async () => {
    const [download] = await Promise.all([
      dev.waitForEvent("download"),
      dev.getByRole("button", { name: /download as json/i }).click(),
    ]);
    const saved = JSON.parse(fs.readFileSync(await download.path(), "utf8"));
    ensure(saved.api_key === secrets.billing, "the downloaded JSON does not hold the shown key");
    ensure(typeof saved.app_id === "string" && saved.app_id.length > 0, "the downloaded JSON has no app id");
    run.expectStatus(dev, 409);
    await dev.reload();
    await run.look(dev, "reveal page reloaded");
    ensure(!(await dev.content()).includes(secrets.billing), "reloading the reveal page showed the key again");
    await dev.goto(org("/apps"));
    await dev.goBack();
    await dev.waitForLoadState("load");
    ensure(!(await dev.content()).includes(secrets.billing), "going back to the reveal page showed the key again");
    await run.look(dev, "reveal page after Back");
  });

  await step("the developer creates an OAuth2 app and a JWT app on the auto product", async () => {
    await dev.goto(org("/apps/new"));
    await dev.getByLabel("Name", { exact: true }).fill("Mobile Backend");
    await dev.getByLabel(/OAuth2 client/).check();
    await dev.getByLabel(/Weather API/).check();
    await dev.getByRole("button", { name: "Create app" }).click();
    await dev.waitForLoadState("load");
    await run.look(dev, "client id and secret revealed once");
    ensure(/^gate_sec_/.test(await dev.getByLabel("Client secret").inputValue()), "no client secret shown");

    const { publicKey } = generateKeyPairSync("ed25519");
    await dev.goto(org("/apps/new"));
    await dev.getByLabel("Name", { exact: true }).fill("Batch Worker");
    await dev.getByLabel(/JWT client/).check();
    await dev.getByRole("textbox", { name: /public key/i }).fill(publicKey.export({ type: "spki", format: "pem" }));
    await dev.getByLabel(/Weather API/).check();
    await run.look(dev, "new JWT app form");
    await dev.getByRole("button", { name: "Create app" }).click();
    await dev.waitForLoadState("load");
    await run.look(dev, "JWT app created");
  });

  await step("an OAuth2 app's page shows how to get an access token", async () => {
    await dev.goto(org("/apps"));
    await dev.getByRole("link", { name: "Mobile Backend" }).first().click();
    await dev.waitForLoadState("load");
    const panel = dev.getByRole("article", { name: "Get an access token" });
    await panel.scrollIntoViewIfNeeded();
    ensure(await panel.isVisible(), "the OAuth2 app's page has no “Get an access token” panel");
    const tokenUrl = `${base}/oauth/token`;
    ensure(await panel.getByText(tokenUrl, { exact: true }).count(), `the panel does not show the token URL ${tokenUrl}`);
    const clientId = (await dev.locator('dt:has-text("Client id") + dd code').textContent()).trim();
    const curl = `curl -u "${clientId}:$CLIENT_SECRET" \\\n  -d grant_type=client_credentials \\\n  ${tokenUrl}`;
    await panel.getByRole("button", { name: "Copy the curl command" }).click();
    await dev.waitForTimeout(200);
    const copied = await dev.evaluate(() => navigator.clipboard.readText());
    ensure(copied === curl, `Copy put ${JSON.stringify(copied)} on the clipboard, not the curl command`);
    ensure(await panel.getByRole("button", { name: "Copied" }).count(),
      "the Copy button does not say it copied");
    ensure(!(await panel.getByText("/api/v1/login").isVisible()), "the JSON exchange is not folded away");
    await panel.getByText(/exchange them as JSON/i).click();
    ensure(await panel.getByText(`${base}/api/v1/login`).isVisible(), "the JSON exchange does not show the login URL");
    await run.look(dev, "OAuth2 app: get an access token");
    await panel.screenshot({ path: path.join(shotsDir, "oauth2-token-panel.png") });
  });

  await step("a JWT app's page shows an assertion's claims and the token request", async () => {
    await dev.goto(org("/apps"));
    await dev.getByRole("link", { name: "Batch Worker" }).first().click();
    await dev.waitForLoadState("load");
    const panel = dev.getByRole("article", { name: "Get an access token" });
    ensure(await panel.isVisible(), "the JWT app's page has no “Get an access token” panel");
    const clientId = (await dev.locator('dt:has-text("Client id") + dd code').textContent()).trim();
    const claims = JSON.parse(await panel.locator("pre").first().textContent());
    ensure(claims.iss === clientId && claims.sub === clientId, `the example claims name ${claims.iss}/${claims.sub}, not ${clientId}`);
    ensure(claims.aud === `${base}/oauth/token`, `the example claims' aud is ${claims.aud}`);
    ensure(claims.exp - claims.iat <= 300 && claims.jti, "the example claims' exp or jti are wrong");
    ensure(await panel.getByText(/client_assertion_type=urn:ietf:params:oauth:client-assertion-type:jwt-bearer/).count(),
      "the JWT app's curl does not send a client assertion");
    await run.look(dev, "JWT app: get an access token");
    await panel.screenshot({ path: path.join(shotsDir, "jwt-token-panel.png") });
  });

  await step("keyboard only: create an app and copy its key", async () => {
    await dev.goto(org("/hub"));
    await run.tabTo(dev, /^new app$/i, "hub");
    await dev.keyboard.press("Enter");
    await dev.waitForURL((u) => u.pathname.endsWith("/apps/new"));
    await run.tabTo(dev, /^name/i, "new app form");
    await dev.keyboard.type("Keyboard App");
    await run.tabTo(dev, /weather api/i, "new app form");
    await dev.keyboard.press("Space");
    await run.tabTo(dev, /^create app$/i, "new app form");
    await dev.keyboard.press("Enter");
    await dev.waitForLoadState("load");
    const key = await dev.getByLabel("API key").inputValue();
    await run.tabTo(dev, /^copy$/i, "reveal page");
    // The first Copy button copies the app id; the key's is the last one.
    for (let i = 0; i < 5; i++) {
      const target = await dev.evaluate(() => document.activeElement.getAttribute("data-copy"));
      const value = await dev.evaluate((id) => document.getElementById(id)?.value, target);
      if (value === key) break;
      await run.tabTo(dev, /^copy$/i, "reveal page");
    }
    await dev.keyboard.press("Enter");
    await dev.waitForTimeout(200);
    const copied = await dev.evaluate(() => navigator.clipboard.readText());
    ensure(copied === key, "the keyboard Copy did not put the key on the clipboard");
    await run.look(dev, "keyboard app revealed and copied");
  });

  await step("a developer cannot reach admin pages", async () => {
    await dev.goto(org());
    const nav = dev.getByRole("navigation", { name: "Organisation" });
    for (const tab of ["Approvals", "API tokens", "Gateway tokens", "Settings"]) {
      ensure(!(await nav.getByRole("link", { name: tab, exact: true }).count()), `a developer sees the ${tab} tab`);
    }
    for (const p of ["/admin/approvals", "/admin/products/new", "/admin/tokens", "/admin/gateway-tokens", "/settings"]) {
      run.expectStatus(dev, 403);
      const res = await dev.goto(org(p));
      ensure(res.status() === 403, `a developer got ${res.status()} from ${p}, not 403`);
    }
    await run.look(dev, "forbidden admin page");
    ensure(await dev.getByRole("button", { name: DEV.name }).count() + (await dev.locator("summary", { hasText: DEV.name }).count()),
      "the 403 page lost the signed-in header");
    run.expectStatus(dev, 404);
    await dev.goto("/o/sams-lab/apps");
    await run.look(dev, "another organisation is not found");
    ensure(!(await dev.getByText("Sam's Lab").count()), "a 404 page reveals another organisation's name");
  });

  await step("the admin approves from the queue", async () => {
    await owner.goto(org());
    await run.look(owner, "overview with a pending request");
    await owner.getByRole("navigation", { name: "Organisation" }).getByRole("link", { name: "Approvals" }).click();
    await run.look(owner, "approval queue");
    const row = owner.getByRole("row", { name: /Billing Service/ });
    await row.getByRole("button", { name: /approve/i }).click();
    await owner.waitForLoadState("load");
    await run.look(owner, "approved");
    ensure(!(await owner.getByRole("row", { name: /Billing Service/ }).count()), "the approved request is still queued");
  });

  await step("the developer rotates with an overlap", async () => {
    await dev.goto(org("/apps"));
    const row = dev.getByRole("row", { name: /Billing Service/ });
    ensure(await row.getByText("active").count(), "the approved app is not active in the list");
    await run.openMenu(dev, row, "Actions", "actions menu on Consumer Apps");
    await row.getByRole("link", { name: "Rotate" }).click();
    await run.look(dev, "rotate form");
    await dev.getByLabel("24 hours").check();
    await dev.getByLabel(/label for the new credential/i).fill("after rotation");
    await dev.getByRole("button", { name: /^rotate/i }).click();
    await dev.waitForLoadState("load");
    await run.look(dev, "rotated key revealed once");
    const fresh = await dev.getByLabel("API key").inputValue();
    ensure(fresh !== secrets.billing && /^gate_key_/.test(fresh), "rotation did not show a new key");
    await dev.getByRole("link", { name: /go to the app/i }).click();
    await run.look(dev, "app page during the overlap");
    const creds = dev.getByRole("table").filter({ has: dev.getByRole("columnheader", { name: "Expires" }) });
    ensure((await creds.getByRole("row").count()) >= 3, "the app page does not list the old and the new credential");
  });

  await step("the developer restricts a key to IP ranges", async () => {
    await dev.goto(org("/apps"));
    await dev.getByRole("link", { name: "Billing Service" }).first().click();
    const form = dev.locator("details", { has: dev.locator("summary", { hasText: "after rotation" }) });
    const ranges = form.getByLabel(/IP addresses and ranges this key may be used from/i);
    const save = form.getByRole("button", { name: "Save IP ranges" });
    await form.locator("summary").click();
    await ranges.fill("2001:db8::/32\n10.0.0.0/8\n203.0.113.7");
    await run.look(dev, "IP allowlist form");
    await save.click();
    await dev.waitForLoadState("load");
    ensure(
      await dev.getByText("now works only from 10.0.0.0/8, 203.0.113.7, 2001:db8::/32").count(),
      "no confirmation of the key's new IP ranges",
    );
    const row = dev.getByRole("row", { name: /after rotation/ });
    for (const r of ["10.0.0.0/8", "203.0.113.7", "2001:db8::/32"]) {
      ensure(await row.getByText(r, { exact: true }).count(), `the key's row does not list ${r}`);
    }
    await run.look(dev, "key restricted to IP ranges");
    await form.locator("summary").click();
    await ranges.fill("10.0.0.0/8\n10.0.0.1/8");
    run.expectStatus(dev, 422);
    await save.click();
    await dev.waitForLoadState("load");
    ensure(
      await form.getByRole("alert").filter({ hasText: "\"10.0.0.1/8\" has bits set" }).count(),
      "the refused entry is not named beside the key",
    );
    ensure((await ranges.inputValue()) === "10.0.0.0/8\n10.0.0.1/8", "the typed list was not kept");
    ensure(await row.getByText("2001:db8::/32", { exact: true }).count(), "a refused list changed the key");
    await run.look(dev, "IP range refused beside its key");
  });

  await step("the developer unsubscribes through a confirmation dialog", async () => {
    await dev.goto(org("/apps"));
    await dev.getByRole("link", { name: "Keyboard App" }).first().click();
    await dev.getByRole("button", { name: /unsubscribe from weather api/i }).click();
    const dialog = dev.getByRole("dialog");
    ensure(await dialog.isVisible(), "Unsubscribe did not open a confirmation dialog");
    await run.look(dev, "unsubscribe dialog");
    await dialog.getByRole("button", { name: "Keep subscription" }).click();
    ensure(!(await dialog.isVisible()), "Keep subscription did not close the dialog");
    ensure(await dev.getByRole("button", { name: /unsubscribe from weather api/i }).count(), "keeping the subscription changed it");
    await dev.getByRole("button", { name: /unsubscribe from weather api/i }).click();
    await dialog.getByRole("button", { name: "Unsubscribe" }).click();
    await dev.waitForLoadState("load");
    ensure(!(await dev.getByRole("button", { name: /unsubscribe from weather api/i }).count()), "the subscription is still there");
    await run.look(dev, "after unsubscribing");
  });

  await step("My Hub's actions menu is fully visible", async () => {
    await dev.goto(org("/hub"));
    await run.look(dev, "my hub");
    const row = dev.getByRole("row", { name: /Keyboard App/ });
    await run.openMenu(dev, row, "Actions", "actions menu on My Hub");
  });

  await step("the developer revokes one app and deletes another", async () => {
    await dev.goto(org("/apps"));
    let row = dev.getByRole("row", { name: /Mobile Backend/ });
    await row.locator("summary", { hasText: "Actions" }).click();
    await row.getByRole("link", { name: "Revoke" }).click();
    await run.look(dev, "revoke confirmation");
    await dev.getByLabel(/reason/i).fill("Replaced by the new backend");
    await dev.getByRole("button", { name: /revoke this app/i }).click();
    await dev.waitForLoadState("load");
    await run.look(dev, "after revoking");
    await dev.goto(org("/apps"));
    const revoked = dev.getByRole("table").filter({ has: dev.getByRole("row", { name: /Mobile Backend/ }) });
    ensure(await revoked.getByText("revoked").count(), "the revoked app is not shown as revoked");
    row = dev.getByRole("row", { name: /Batch Worker/ });
    await row.locator("summary", { hasText: "Actions" }).click();
    await row.getByRole("link", { name: "Delete" }).click();
    await run.look(dev, "delete confirmation");
    await dev.getByRole("button", { name: /delete this app/i }).click();
    await dev.waitForLoadState("load");
    await dev.goto(org("/apps"));
    ensure(!(await dev.getByRole("row", { name: /Batch Worker/ }).count()), "the deleted app is still listed");
    await run.look(dev, "consumer apps after revoke and delete");
  });

  await step("the owner creates a gateway token, sees it once and revokes it", async () => {
    await owner.goto(org());
    await owner.getByRole("navigation", { name: "Organisation" }).getByRole("link", { name: "Gateway tokens" }).click();
    await owner.waitForURL((u) => u.pathname === org("/admin/gateway-tokens"));
    await run.look(owner, "gateway tokens, none yet");
    await owner.getByLabel("Name", { exact: true }).fill("edge-nginx-eu-west");
    await owner.getByLabel("Default product").selectOption({ label: "Weather API" });
    await run.look(owner, "new gateway token form");
    await owner.getByRole("button", { name: "Create gateway token" }).click();
    await owner.waitForLoadState("load");
    await run.look(owner, "gateway token revealed once");
    const token = await owner.getByLabel("Gateway token", { exact: true }).inputValue();
    ensure(/^gate_gw_/.test(token), `the revealed gateway token looks wrong: ${token}`);
    ensure(!new URL(owner.url()).search.includes(token), "the gateway token is in the URL");
    await owner.getByRole("link", { name: /back to the gateway tokens/i }).click();
    await owner.waitForLoadState("load");
    ensure(!(await owner.content()).includes(token), "the list shows the gateway token again");
    const row = owner.getByRole("row", { name: /edge-nginx-eu-west/ });
    ensure(await row.getByText(`gate_gw_…${token.slice(-4)}`).count(), "the list does not show the token's prefix and last four");
    ensure(await row.getByText("Weather API").count(), "the list does not show the default product");
    ensure(await row.getByText("active").count(), "the new gateway token is not active");
    await run.look(owner, "gateway token listed");
    await row.getByRole("button", { name: /revoke/i }).click();
    const dialog = owner.getByRole("dialog");
    ensure(await dialog.isVisible(), "Revoke did not ask for confirmation");
    await run.look(owner, "revoke gateway token dialog");
    await dialog.getByRole("button", { name: "Keep token" }).click();
    ensure(await row.getByText("active").count(), "keeping the gateway token changed it");
    await row.getByRole("button", { name: /revoke/i }).click();
    await dialog.getByRole("button", { name: "Revoke token" }).click();
    await owner.waitForLoadState("load");
    await owner.getByText(/gateway token revoked/i).first().waitFor();
    ensure(await owner.getByRole("row", { name: /edge-nginx-eu-west/ }).getByText("revoked").count(), "the gateway token is not shown as revoked");
    await run.look(owner, "gateway token revoked");
  });

  await step("the header menus open fully", async () => {
    await owner.goto(org("/apps"));
    await run.openMenu(owner, owner.locator("header"), ORG.name, "organisation menu");
    await owner.keyboard.press("Escape");
    await owner.goto(org("/apps"));
    await run.openMenu(owner, owner.locator("header"), OWNER.name, "account menu");
  });
} catch (err) {
  failed = true;
  console.log(`\n✗ the suite stopped: ${err.stack || err}`);
  await run.shootAll("zz-failure");
} finally {
  await run.finish();
}

// The demo: every page of a lived-in organisation passes the same checks. `gatehouse
// demo` always runs on its own SQLite file, so the PostgreSQL pass leaves it out.
const problems = [...run.problems];
if (!process.env.E2E_DATABASE_URL) {
  server = await Server.demo(bin);
  const tour = await Run.start({ server, shotsDir: path.join(shotsDir, "demo") });
  try {
    await demoTour(tour, server);
  } catch (err) {
    failed = true;
    console.log(`\n✗ the demo tour stopped: ${err.stack || err}`);
    await tour.shootAll("zz-failure");
  } finally {
    await tour.finish();
  }
  problems.push(...tour.problems);
}

console.log(`\nscreenshots: ${shotsDir}`);
if (problems.length) {
  console.log(`\n${problems.length} problem(s):`);
  for (const p of problems) console.log(`  - ${p}`);
}
if (failed || problems.length) process.exit(1);
console.log("browser suite passed");

/** Signs in as the demo's owner and a developer and looks at every kind of page. */
async function demoTour(tour, demo) {
  const { password } = demo.logins;
  const signIn = async (who, email) => {
    const page = await tour.person(who);
    await page.goto("/login");
    await page.getByLabel("Email").fill(email);
    await page.getByLabel("Password").fill(password);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.waitForURL((u) => u.pathname.startsWith("/o/"));
    return page;
  };
  const owner = await signIn("demo owner", demo.logins.owner);
  const slug = new URL(owner.url()).pathname.split("/")[2];
  const at = (p) => `/o/${slug}${p}`;
  const visit = async (page, p, name) => {
    await page.goto(p);
    await tour.look(page, name);
  };
  await tour.step("the owner's pages", async () => {
    for (const [p, name] of [
      ["", "overview"],
      ["/hub", "my hub"],
      ["/apps", "consumer apps"],
      ["/admin/approvals", "approval queue"],
      ["/admin/approval-settings", "approval settings"],
      ["/members", "members"],
      ["/teams", "teams"],
      ["/products", "catalogue"],
      ["/admin/products", "manage products"],
      ["/admin/tokens", "admin API tokens"],
      ["/admin/gateway-tokens", "gateway tokens"],
      ["/settings", "organisation settings"],
    ]) {
      await visit(owner, at(p), name);
    }
    for (const [p, name] of [
      ["/notifications", "notifications"],
      ["/account", "account"],
      ["/account/tokens", "personal API tokens"],
      ["/admin/instance", "instance settings"],
      ["/admin/outbox", "email outbox"],
    ]) {
      await visit(owner, p, name);
    }
  });
  await tour.step("lists are dense: no row taller than 44 px at 1280 px", async () => {
    for (const p of ["/hub", "/apps", "/admin/approvals", "/members", "/admin/products"]) {
      await owner.goto(at(p));
      await tour.checkRowHeights(owner, `demo owner · ${p}`);
    }
  });
  await tour.step("an app page of every status", async () => {
    await owner.goto(at("/apps"));
    const seen = new Set();
    const links = await owner.locator("table tbody tr").evaluateAll((rows) =>
      rows.map((r) => ({
        href: r.querySelector("td a")?.getAttribute("href"),
        status: r.querySelector(".status")?.textContent.trim(),
      })),
    );
    for (const { href, status } of links) {
      if (!href || !status || seen.has(status)) continue;
      seen.add(status);
      await visit(owner, href, `app page (${status})`);
    }
    ensure(seen.size >= 4, `the demo's app list shows only these statuses: ${[...seen].join(", ")}`);
  });
  await tour.step("a team and a product's documentation", async () => {
    await owner.goto(at("/teams"));
    await owner.locator("main table tbody tr td a").first().click();
    await tour.look(owner, "team");
    await owner.goto(at("/products"));
    await owner.locator("main a[href*='/products/']").first().click();
    await tour.look(owner, "product documentation");
    await owner.goto(at("/admin/products"));
    await owner.locator("main table tbody tr td a").first().click();
    await tour.look(owner, "product form");
  });
  await tour.step("a developer's pages", async () => {
    const dev = await signIn("demo developer", demo.logins.developer);
    for (const [p, name] of [
      ["/hub", "developer's hub"],
      ["/apps", "developer's apps"],
      ["/apps/new", "developer's new app form"],
      ["/products", "developer's catalogue"],
    ]) {
      await visit(dev, at(p), name);
    }
  });
}
