// tests/report/console_check.mjs CHROMIUM FILE.html — opens FILE in headless Chromium over the
// DevTools protocol and prints every console error, uncaught exception, error log entry (failed
// resource loads included) and any request that leaves file:/data: (the report must fetch nothing).
// Exit 0: clean; 1: errors found (listed); 2: could not run the browser. The protocol runs over
// Chromium's --remote-debugging-pipe (fd 3: commands in, fd 4: replies and events out, each
// message NUL-terminated JSON), so any Node from Debian 12's 18.x on will do: no WebSocket
// client (global only from Node 22), no port, no network.
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";

const [chromium, file] = process.argv.slice(2);
if (!chromium || !file) {
  console.error("usage: console_check.mjs CHROMIUM FILE.html");
  process.exit(2);
}
const profile = mkdtempSync(join(tmpdir(), "calib8-report-"));
const browser = spawn(chromium, [
  "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
  "--disable-background-networking", "--disable-component-update", "--disable-sync",
  `--user-data-dir=${profile}`, "--remote-debugging-pipe", "about:blank",
], { stdio: ["ignore", "ignore", "ignore", "pipe", "pipe"] });
const finish = (code) => {
  browser.kill("SIGKILL");
  try { rmSync(profile, { recursive: true, force: true }); } catch {}
  process.exit(code);
};
setTimeout(() => { console.error("console_check: timed out"); finish(2); }, 45000);
browser.on("error", (e) => { console.error(`console_check: cannot start ${chromium}: ${e.message}`); finish(2); });
browser.on("exit", (code) => { console.error(`console_check: Chromium exited (${code})`); finish(2); });

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const toBrowser = browser.stdio[3];
const fromBrowser = browser.stdio[4];
toBrowser.on("error", () => {});
let nextId = 1;
const pending = new Map();
const listeners = [];
let buffered = "";
fromBrowser.setEncoding("utf8");
fromBrowser.on("data", (chunk) => {
  buffered += chunk;
  for (let end = buffered.indexOf("\0"); end >= 0; end = buffered.indexOf("\0")) {
    const text = buffered.slice(0, end);
    buffered = buffered.slice(end + 1);
    onMessage(JSON.parse(text));
  }
});
const onMessage = (msg) => {
  if (msg.id && pending.has(msg.id)) {
    const { ok, fail } = pending.get(msg.id);
    pending.delete(msg.id);
    msg.error ? fail(new Error(JSON.stringify(msg.error))) : ok(msg.result);
  } else if (msg.method) {
    for (const l of listeners) l(msg);
  }
};
const send = (method, params = {}, sessionId) => new Promise((ok, fail) => {
  const id = nextId++;
  pending.set(id, { ok, fail });
  toBrowser.write(JSON.stringify({ id, method, params, ...(sessionId ? { sessionId } : {}) }) + "\0");
});

const errors = [];
let loaded = false;
listeners.push((m) => {
  const p = m.params;
  if (m.method === "Runtime.consoleAPICalled" && (p.type === "error" || p.type === "assert"))
    errors.push(`console.${p.type}: ${p.args.map((a) => a.value ?? a.description).join(" ")}`);
  else if (m.method === "Runtime.exceptionThrown")
    errors.push(`exception: ${p.exceptionDetails.exception?.description ?? p.exceptionDetails.text}`);
  else if (m.method === "Log.entryAdded" && p.entry.level === "error")
    errors.push(`log (${p.entry.source}): ${p.entry.text} ${p.entry.url ?? ""}`);
  else if (m.method === "Network.requestWillBeSent" && !/^(file|data|about):/.test(p.request.url))
    errors.push(`network request: ${p.request.url}`);
  else if (m.method === "Page.loadEventFired") loaded = true;
});

try {
  const { targetId } = await send("Target.createTarget", { url: "about:blank" });
  const { sessionId } = await send("Target.attachToTarget", { targetId, flatten: true });
  for (const domain of ["Runtime", "Log", "Page", "Network"]) await send(`${domain}.enable`, {}, sessionId);
  await send("Page.navigate", { url: pathToFileURL(resolve(file)).href }, sessionId);
  for (let i = 0; i < 200 && !loaded; ++i) await sleep(50);
  if (!loaded) errors.push("page: no load event within 10 s");
  await sleep(500);  // late errors (layout, lazily rendered SVG)
  const { result } = await send("Runtime.evaluate", {
    expression: "document.querySelectorAll('div.plot svg').length", returnByValue: true }, sessionId);
  console.log(`plots rendered: ${result.value}`);
} catch (e) {
  console.error(`console_check: DevTools protocol failed: ${e.message}`);
  finish(2);
}
for (const e of errors) console.log(`ERROR ${e}`);
console.log(errors.length ? `${errors.length} error(s)` : "no console errors");
finish(errors.length ? 1 : 0);
