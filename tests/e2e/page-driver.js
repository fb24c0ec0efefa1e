// Drives headless Chromium over the DevTools protocol on a pipe (--remote-debugging-pipe, so no
// WebSocket client is needed: Node 18 and 20 have none built in). Reads commands from stdin, one a
// line, and answers each with one line on stdout: "ok JSON" or "err MESSAGE".
//
//   node page-driver.js PROFILE_DIR
//   open URL              navigates and waits (at most 20 s) for the document to be complete
//   eval EXPR             the value of a JavaScript expression in the page (promises awaited)
//   wait SECONDS EXPR     evaluates EXPR every 0.25 s until it is truthy; err after SECONDS
//   shot FILE             a PNG screenshot of the whole page
//   console               the page's console errors, uncaught exceptions and policy violations
//   quit                  closes the browser
//
// CHROMIUM names the browser (default: chromium). It runs with --no-sandbox: the tests run as
// root, where Chromium's sandbox refuses to start. Every command is bounded in time, and the
// browser is killed when stdin closes or the driver exits.
'use strict';

const { spawn } = require('child_process');
const fs = require('fs');
const readline = require('readline');

const profile = process.argv[2];
const CALL_MS = 20000;
const browser = spawn(process.env.CHROMIUM || 'chromium', [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--no-first-run',
  '--no-default-browser-check', '--disable-extensions', '--disable-background-networking',
  '--remote-debugging-pipe', '--user-data-dir=' + profile, '--window-size=1280,1000', 'about:blank',
], { stdio: ['ignore', 'ignore', 'pipe', 'pipe', 'pipe'] });
const toBrowser = browser.stdio[3];
const fromBrowser = browser.stdio[4];
let browserLog = '';
browser.stdio[2].on('data', (d) => { browserLog = (browserLog + d).slice(-4000); });

let nextId = 0;
const pending = new Map();
const problems = [];
let session = null;

function call(method, params = {}, sessionId = session) {
  return new Promise((resolve, reject) => {
    const id = ++nextId;
    const msg = { id, method, params };
    if (sessionId) msg.sessionId = sessionId;
    const t = setTimeout(() => {
      pending.delete(id);
      reject(new Error(method + ': no answer in ' + CALL_MS + ' ms'));
    }, CALL_MS);
    pending.set(id, { resolve, reject, t });
    toBrowser.write(JSON.stringify(msg) + '\0');
  });
}

function onEvent(m) {
  const p = m.params || {};
  if (m.method === 'Runtime.exceptionThrown') {
    problems.push('exception: ' + (p.exceptionDetails.exception?.description || p.exceptionDetails.text));
  } else if (m.method === 'Runtime.consoleAPICalled' && (p.type === 'error' || p.type === 'assert')) {
    problems.push('console: ' + p.args.map((a) => a.value ?? a.description ?? '').join(' '));
  } else if (m.method === 'Log.entryAdded' && p.entry.level === 'error') {
    problems.push(p.entry.source + ': ' + p.entry.text + (p.entry.url ? ' (' + p.entry.url + ')' : ''));
  }
}

let inbuf = Buffer.alloc(0);
fromBrowser.on('data', (d) => {
  inbuf = Buffer.concat([inbuf, d]);
  let i;
  while ((i = inbuf.indexOf(0)) >= 0) {
    const m = JSON.parse(inbuf.subarray(0, i).toString('utf8'));
    inbuf = inbuf.subarray(i + 1);
    if (m.id && pending.has(m.id)) {
      const w = pending.get(m.id);
      pending.delete(m.id);
      clearTimeout(w.t);
      if (m.error) w.reject(new Error(m.error.message));
      else w.resolve(m.result);
    } else if (m.method) {
      onEvent(m);
    }
  }
});

async function evaluate(expr) {
  const r = await call('Runtime.evaluate', { expression: expr, returnByValue: true, awaitPromise: true });
  if (r.exceptionDetails) throw new Error('evaluation failed: ' + (r.exceptionDetails.exception?.description || r.exceptionDetails.text));
  return r.result.value;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function waitFor(seconds, expr) {
  const end = Date.now() + seconds * 1000;
  let last;
  for (;;) {
    try {
      last = await evaluate(expr);
      if (last) return last;
    } catch (e) {
      last = e.message;
    }
    if (Date.now() >= end) throw new Error('not true within ' + seconds + ' s: ' + expr + ' (last: ' + JSON.stringify(last) + ')');
    await sleep(250);
  }
}

async function setup() {
  const { targetId } = await call('Target.createTarget', { url: 'about:blank' }, null);
  ({ sessionId: session } = await call('Target.attachToTarget', { targetId, flatten: true }, null));
  await call('Page.enable');
  await call('Runtime.enable');
  await call('Log.enable');
  await call('Emulation.setDeviceMetricsOverride', { width: 1280, height: 1000, deviceScaleFactor: 1, mobile: false });
}

const commands = {
  async open(arg) {
    await call('Page.navigate', { url: arg });
    await waitFor(20, 'document.readyState === "complete"');
    return arg;
  },
  eval: (arg) => evaluate(arg),
  async wait(arg) {
    const sp = arg.indexOf(' ');
    return waitFor(Number(arg.slice(0, sp)), arg.slice(sp + 1));
  },
  async shot(arg) {
    const { data } = await call('Page.captureScreenshot', { format: 'png', captureBeyondViewport: true });
    fs.writeFileSync(arg, Buffer.from(data, 'base64'));
    return arg;
  },
  console: async () => problems.slice(),
  async quit() {
    await call('Browser.close', {}, null).catch(() => {});
    return 'bye';
  },
};

function answer(ok, v) {
  process.stdout.write((ok ? 'ok ' + JSON.stringify(v === undefined ? null : v) : 'err ' + String(v).replace(/\n/g, ' ')) + '\n');
}

browser.on('exit', (code) => {
  for (const w of pending.values()) w.reject(new Error('the browser exited (' + code + '): ' + browserLog));
  pending.clear();
});
process.on('exit', () => browser.kill('SIGKILL'));
for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP']) process.on(sig, () => process.exit(1));

(async () => {
  const ready = setup().catch((e) => e);
  const rl = readline.createInterface({ input: process.stdin });
  let queue = Promise.resolve();
  rl.on('line', (line) => {
    queue = queue.then(async () => {
      const sp = line.indexOf(' ');
      const name = sp < 0 ? line : line.slice(0, sp);
      const arg = sp < 0 ? '' : line.slice(sp + 1);
      const up = await ready;
      if (up instanceof Error) return answer(false, 'the browser did not start: ' + up.message + ' ' + browserLog);
      if (!commands[name]) return answer(false, 'unknown command: ' + name);
      try {
        answer(true, await commands[name](arg));
      } catch (e) {
        answer(false, e.message);
      }
      if (name === 'quit') process.exit(0);
    });
  });
  rl.on('close', () => queue.then(() => process.exit(0)));
})();
