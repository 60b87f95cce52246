// The browser suite's harness: starts the real gatehouse binary on a fresh data
// directory, drives Debian's Chromium through playwright-core, and checks every page
// a step shows the way a careful reviewer would: a title and exactly one <h1>, no
// console error, no unexpected 4xx/5xx, no axe-core WCAG 2.1 A/AA violation in the
// light and the dark colour scheme, no open menu or dialog whose items are clipped or
// covered. Each look saves a full-page screenshot. Problems are collected, so one run
// lists all of them; a step that cannot go on (a missing button) stops the suite.

import { spawn } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { createRequire } from "node:module";
import { chromium } from "playwright-core";

const require = createRequire(import.meta.url);
const AXE_SOURCE = fs.readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");
const AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"];

export const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";
const CHROMIUM_ARGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** The gatehouse server under test, on its own port and data directory. */
export class Server {
  static async start(bin, extraEnv = {}, args = ["serve"], ready = () => true) {
    const port = await freePort();
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "gatehouse-e2e-"));
    const base = `http://127.0.0.1:${port}`;
    const env = {
      ...process.env,
      GATEHOUSE_DATA_DIR: dataDir,
      GATEHOUSE_BIND: `127.0.0.1:${port}`,
      GATEHOUSE_PUBLIC_URL: base,
      GATEHOUSE_LOG_FORMAT: "json",
      ...extraEnv,
    };
    const child = spawn(bin, args, { env, stdio: ["ignore", "pipe", "pipe"] });
    const server = new Server(child, base, dataDir);
    child.stdout.on("data", (d) => (server.output += d));
    child.stderr.on("data", (d) => (server.output += d));
    for (let i = 0; i < 900; i++) {
      if (child.exitCode !== null) throw new Error(`gatehouse exited early:\n${server.output}`);
      try {
        const res = await fetch(`${base}/healthz`);
        if (res.ok && ready(server.output)) return server;
      } catch {
        // not listening yet
      }
      await sleep(100);
    }
    throw new Error(`gatehouse did not answer /healthz:\n${server.output}`);
  }

  /** `gatehouse demo` on an empty data directory; `logins` holds what it printed. */
  static async demo(bin) {
    const printed = /Password\s+\S+/;
    const server = await Server.start(bin, {}, ["demo"], (out) => printed.test(out));
    const out = server.output;
    const field = (re) => {
      const m = out.match(re);
      if (!m) throw new Error(`the demo did not print ${re}:\n${out}`);
      return m[1];
    };
    server.logins = {
      password: field(/Password\s+(\S+)/),
      owner: field(/Owner\s+(\S+@\S+)/),
      developer: field(/Developer\s+(\S+@\S+)/),
    };
    return server;
  }

  constructor(child, base, dataDir) {
    this.child = child;
    this.base = base;
    this.dataDir = dataDir;
    this.output = "";
  }

  /** The one-time setup code the server printed on start. */
  setupCode() {
    const m = this.output.match(/one-time setup code:\s+(\S+)/);
    if (!m) throw new Error(`no setup code in the server's output:\n${this.output}`);
    return m[1];
  }

  /** Waits for an email to `to` whose body holds a link matching `pattern`; returns the link. */
  async link(to, pattern, { after = 0, timeoutMs = 20000 } = {}) {
    const dir = path.join(this.dataDir, "mail");
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const files = fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => f.endsWith(".eml")) : [];
      const found = files
        .map((f) => path.join(dir, f))
        .map((p) => ({ p, mtime: fs.statSync(p).mtimeMs }))
        .filter((f) => f.mtime >= after)
        .sort((a, b) => b.mtime - a.mtime)
        .map((f) => decodeEml(fs.readFileSync(f.p, "utf8")))
        .filter((m) => m.to.toLowerCase().includes(to.toLowerCase()))
        .map((m) => m.body.match(pattern))
        .find(Boolean);
      if (found) return found[0];
      await sleep(250);
    }
    throw new Error(`no email to ${to} with a link matching ${pattern} within ${timeoutMs} ms`);
  }

  async stop() {
    if (this.child.exitCode === null) {
      this.child.kill("SIGTERM");
      for (let i = 0; i < 100 && this.child.exitCode === null; i++) await sleep(100);
      if (this.child.exitCode === null) this.child.kill("SIGKILL");
    }
    fs.rmSync(this.dataDir, { recursive: true, force: true });
  }
}

/** Headers and a decoded text body of an .eml file (quoted-printable or 7bit). */
export function decodeEml(raw) {
  const text = raw.replace(/\r\n/g, "\n");
  const [head, ...rest] = text.split("\n\n");
  const to = (head.match(/^To:\s*(.*(?:\n[ \t].*)*)/im) || [, ""])[1];
  let body = rest.join("\n\n");
  if (/quoted-printable/i.test(text)) {
    body = body
      .replace(/=\n/g, "")
      .replace(/=([0-9A-F]{2})/gi, (_, h) => String.fromCharCode(parseInt(h, 16)));
  }
  return { to, body };
}

/**
 * One browser run: contexts (people), pages, the checks on every look, and the
 * problems found.
 */
export class Run {
  static async start({ server, shotsDir }) {
    fs.rmSync(shotsDir, { recursive: true, force: true });
    fs.mkdirSync(shotsDir, { recursive: true });
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
    return new Run(browser, server, shotsDir);
  }

  constructor(browser, server, shotsDir) {
    this.browser = browser;
    this.server = server;
    this.shotsDir = shotsDir;
    this.problems = [];
    this.shot = 0;
    this.pages = [];
  }

  /**
   * One step of a story. A step that fails is recorded with a screenshot of every tab
   * and the run goes on, so one run reports every broken step (later steps may fail
   * for the same cause).
   */
  async step(title, fn) {
    console.log(`▶ ${title}`);
    try {
      await fn();
    } catch (err) {
      this.problem(`step “${title}”`, String(err.message || err).split("\n")[0]);
      await this.shootAll(`failed-${title.replace(/[^a-z0-9]+/gi, "-").toLowerCase()}`);
    }
  }

  /** Closes the browser, stops the server and keeps its output beside the screenshots. */
  async finish() {
    fs.writeFileSync(path.join(this.shotsDir, "server.log"), this.server.output);
    await this.browser.close().catch(() => null);
    await this.server.stop();
  }

  /** Saves a screenshot of every tab, named after what went wrong. */
  async shootAll(prefix) {
    for (const page of this.pages) {
      await page
        .screenshot({ path: path.join(this.shotsDir, `${prefix}-${page.person}.png`), fullPage: true })
        .catch(() => null);
    }
  }

  problem(where, what) {
    const line = `${where}: ${what}`;
    this.problems.push(line);
    console.log(`  ✗ ${line}`);
  }

  /** A new person: their own browser context (cookies) and one tab. */
  async person(name, { width = 1280, height = 900 } = {}) {
    const context = await this.browser.newContext({
      baseURL: this.server.base,
      viewport: { width, height },
      acceptDownloads: true,
      colorScheme: "light",
      locale: "en-GB",
    });
    await context.grantPermissions(["clipboard-read", "clipboard-write"], {
      origin: this.server.base,
    });
    // A person gives up on a missing button within seconds, not half a minute.
    context.setDefaultTimeout(8000);
    const page = await context.newPage();
    page.person = name;
    page.allowed = new Set();
    page.expectedConsole = new Set();
    page.on("console", (msg) => {
      // Chromium logs every 4xx page load as an error; an expected one is not.
      const status = Number((msg.text().match(/responded with a status of (\d{3})/) || [])[1]);
      if (status && page.expectedConsole.has(status)) {
        page.expectedConsole.delete(status);
        return;
      }
      if (msg.type() === "error") {
        this.problem(`${name} @ ${page.url()}`, `console error: ${msg.text()}`);
      }
    });
    page.on("pageerror", (err) => this.problem(`${name} @ ${page.url()}`, `script error: ${err}`));
    page.on("response", (res) => {
      const status = res.status();
      if (status < 400) return;
      const req = res.request();
      const isPage = req.isNavigationRequest() && req.frame() === page.mainFrame();
      if (isPage && page.allowed.has(status)) {
        page.allowed.delete(status);
        page.expectedConsole.add(status);
        return;
      }
      this.problem(
        `${name}`,
        `${req.method()} ${res.url()} answered ${status}${isPage ? "" : " (a resource of the page)"}`,
      );
    });
    this.pages.push(page);
    return page;
  }

  /** The next page load of `page` may answer `status` (a 403 the person should get). */
  expectStatus(page, status) {
    page.allowed.add(status);
  }

  /**
   * Looks at the page as a reviewer: structure, accessibility in both colour schemes,
   * open menus, and a full-page screenshot (light, and dark beside it).
   */
  async look(page, name) {
    await page.waitForLoadState("load");
    const where = `${page.person} · ${name} (${new URL(page.url()).pathname})`;
    page.allowed.clear();
    const structure = await page.evaluate(() => ({
      title: (document.querySelector("head > title")?.textContent || "").trim(),
      h1: document.querySelectorAll("h1").length,
    }));
    if (!structure.title) this.problem(where, "the page has no <title>");
    if (structure.h1 !== 1) this.problem(where, `the page has ${structure.h1} <h1> elements, not 1`);
    await this.checkOverlays(page, where);
    const n = String(++this.shot).padStart(2, "0");
    const file = `${n}-${name.replace(/[^a-z0-9]+/gi, "-").toLowerCase()}`;
    for (const scheme of ["light", "dark"]) {
      await page.emulateMedia({ colorScheme: scheme });
      // Colours change with CSS transitions; judge the settled page.
      await page.evaluate(() =>
        Promise.race([
          Promise.all(
            document
              .getAnimations()
              .filter((a) => a.effect?.getComputedTiming().iterations !== Infinity)
              .map((a) => a.finished),
          ),
          new Promise((done) => setTimeout(done, 1000)),
        ]),
      );
      await this.axe(page, `${where} [${scheme}]`);
      await page.screenshot({
        path: path.join(this.shotsDir, `${file}${scheme === "dark" ? "-dark" : ""}.png`),
        fullPage: true,
      });
    }
    await page.emulateMedia({ colorScheme: "light" });
    console.log(`  · ${page.person}: ${name}`);
  }

  async axe(page, where) {
    const has = await page.evaluate(() => typeof window.axe !== "undefined");
    if (!has) await page.evaluate(AXE_SOURCE);
    const result = await page.evaluate(
      (tags) => window.axe.run(document, { runOnly: { type: "tag", values: tags }, resultTypes: ["violations"] }),
      AXE_TAGS,
    );
    for (const v of result.violations) {
      const nodes = v.nodes
        .slice(0, 3)
        .map((node) => `${node.target.join(" ")}${node.failureSummary ? ` — ${node.failureSummary.split("\n").slice(1).join(" ").trim()}` : ""}`)
        .join(" | ");
      this.problem(where, `axe ${v.id} (${v.impact}): ${v.help} — ${nodes}`);
    }
  }

  /**
   * Every open menu (`details[open]` with a list) and open dialog: each of its items
   * is inside the viewport and is what a click on it would hit — not clipped by a
   * scroll container, not covered by another element.
   */
  async checkOverlays(page, where) {
    const bad = await page.evaluate(() => {
      const out = [];
      const open = [
        ...document.querySelectorAll("details[open] > ul, details[open] > [role=menu], dialog[open]"),
      ];
      for (const menu of open) {
        const items = menu.matches("dialog")
          ? menu.querySelectorAll("a, button, input, select, textarea")
          : menu.querySelectorAll(":scope > li a, :scope > li button, :scope > li > label");
        for (const item of items) {
          const label = (item.textContent || item.getAttribute("aria-label") || item.tagName).trim().slice(0, 40);
          let r = item.getBoundingClientRect();
          // A person scrolls the page to reach an item below the fold; only the page
          // scrolls here, so an item clipped by a scroll container stays clipped.
          if (r.bottom > window.innerHeight || r.top < 0) {
            window.scrollBy(0, r.top < 0 ? r.top - 8 : r.bottom - window.innerHeight + 8);
            r = item.getBoundingClientRect();
          }
          if (r.width < 1 || r.height < 1) {
            out.push(`menu item “${label}” has no size`);
            continue;
          }
          const inset = 2;
          const points = [
            [r.left + r.width / 2, r.top + r.height / 2],
            [r.left + inset, r.top + inset],
            [r.right - inset, r.top + inset],
            [r.left + inset, r.bottom - inset],
            [r.right - inset, r.bottom - inset],
          ];
          for (const [x, y] of points) {
            if (x < 0 || y < 0 || x > window.innerWidth || y > window.innerHeight) {
              out.push(`menu item “${label}” reaches outside the window at (${Math.round(x)}, ${Math.round(y)})`);
              break;
            }
            const hit = document.elementFromPoint(x, y);
            if (!hit || !(hit === item || item.contains(hit) || hit.contains(item))) {
              const by = hit ? `${hit.tagName.toLowerCase()}${hit.id ? "#" + hit.id : ""}${hit.className ? "." + String(hit.className).split(" ").join(".") : ""}` : "nothing";
              out.push(`menu item “${label}” is clipped or covered at (${Math.round(x)}, ${Math.round(y)}) by ${by}`);
              break;
            }
          }
        }
      }
      return out;
    });
    for (const b of bad) this.problem(where, b);
  }

  /** Every row of the page's tables is at most `max` pixels tall (a dense list). */
  async checkRowHeights(page, where, max = 44) {
    const tall = await page.evaluate(
      (limit) =>
        [...document.querySelectorAll("main table tbody tr")]
          .map((tr) => ({ h: tr.getBoundingClientRect().height, text: tr.textContent.trim().replace(/\s+/g, " ").slice(0, 50) }))
          .filter((r) => r.h > limit),
      max,
    );
    for (const r of tall.slice(0, 3)) {
      this.problem(where, `a table row is ${Math.round(r.h)} px tall, more than ${max}: “${r.text}”`);
    }
  }

  /** Opens a `<details>` menu by its summary text inside `scope` and checks it. */
  async openMenu(page, scope, summaryName, name) {
    const summary = scope.locator("summary", { hasText: summaryName }).first();
    await summary.scrollIntoViewIfNeeded();
    await summary.click();
    await this.look(page, name);
  }

  /**
   * Presses Tab until the focused element's accessible text matches `pattern`; fails
   * if focus never gets there or is not visibly marked.
   */
  async tabTo(page, pattern, where, max = 80) {
    for (let i = 0; i < max; i++) {
      await page.keyboard.press("Tab");
      const focused = await page.evaluate(() => {
        const el = document.activeElement;
        if (!el || el === document.body) return null;
        const labelled = el.labels && el.labels[0] ? el.labels[0].textContent : "";
        const text = (el.getAttribute("aria-label") || labelled || el.textContent || el.value || "").trim();
        const style = getComputedStyle(el);
        const outline = style.outlineStyle !== "none" && parseFloat(style.outlineWidth) > 0;
        const ring = style.boxShadow && style.boxShadow !== "none";
        return { text, visible: outline || ring };
      });
      if (focused && pattern.test(focused.text)) {
        if (!focused.visible) this.problem(where, `keyboard focus on “${focused.text}” is not visible`);
        return;
      }
    }
    throw new Error(`${where}: Tab never reached an element matching ${pattern}`);
  }

}

/** Fails with a message when `cond` is false. */
export function ensure(cond, message) {
  if (!cond) throw new Error(message);
}
