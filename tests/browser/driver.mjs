// Headless Chromium for the Python tests, driven with playwright-core: one JSON command per line on
// stdin, one JSON answer per line on stdout ({ok: true, value} or {ok: false, error}).
//
//   node driver.mjs USER_DATA_DIR [WIDTH HEIGHT] [--autoplay] [--no-webgl]
//
// Commands: open {url} · eval {expr} · wait {expr, timeout} · click {selector} · visible {selector}
// · screenshot {path} · media {reducedMotion} · requests · console · heap · close. Every request the page makes, and every
// console error, is recorded from the start, so a test can prove nothing left the page's origin.
import { createRequire } from 'node:module';
import { createInterface } from 'node:readline';

// playwright-core is a devDependency of web/ (web/node_modules), not of this folder.
const require = createRequire(new URL('../../web/package.json', import.meta.url));
const { chromium } = require('playwright-core');

const [userDataDir, width = '1280', height = '720', ...flags] = process.argv.slice(2);
if (!userDataDir) {
  process.stderr.write('usage: node driver.mjs USER_DATA_DIR [WIDTH HEIGHT] [--autoplay] [--no-webgl]\n');
  process.exit(2);
}

const args = [
  '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
  '--disable-sync', '--no-first-run', '--disable-quic',
  // WebGL on the CPU (SwiftShader): there is no GPU here, and Chromium asks for this opt-in now.
  '--enable-unsafe-swiftshader',
  // Keep timers and rendering going in a headless window nobody looks at.
  '--disable-background-timer-throttling', '--disable-renderer-backgrounding',
  '--disable-backgrounding-occluded-windows',
];
// Only a fallback: the tests click "listen" like a person would.
if (flags.includes('--autoplay')) args.push('--autoplay-policy=no-user-gesture-required');
// A browser with no WebGL at all, like an old or locked-down machine: getContext('webgl2') is null.
if (flags.includes('--no-webgl')) args.push('--disable-3d-apis', '--disable-webgl');

const context = await chromium.launchPersistentContext(userDataDir, {
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  args,
  viewport: { width: Number(width), height: Number(height) },
});
const page = context.pages()[0] || await context.newPage();
const requests = [];
const consoleErrors = [];
context.on('request', (r) => requests.push(r.url()));
page.on('console', (m) => { if (m.type() === 'error') consoleErrors.push(m.text()); });
page.on('pageerror', (e) => consoleErrors.push(`pageerror: ${e.message}`));
const cdp = await context.newCDPSession(page);

const commands = {
  open: async ({ url }) => { await page.goto(url, { waitUntil: 'load' }); return page.url(); },
  eval: async ({ expr }) => page.evaluate(expr),
  // Polled from here, not page.waitForFunction: that evaluates strings inside the page, which the
  // page's Content-Security-Policy (no 'unsafe-eval') rightly refuses.
  wait: async ({ expr, timeout = 10000 }) => {
    const end = Date.now() + timeout;
    for (;;) {
      const value = await page.evaluate(expr);
      if (value) return value;
      if (Date.now() > end) throw new Error(`timed out after ${timeout} ms waiting for ${expr}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  },
  click: async ({ selector }) => { await page.click(selector); return true; },
  visible: async ({ selector }) => page.isVisible(selector),
  screenshot: async ({ path }) => { await page.screenshot({ path }); return path; },
  // What the page's media queries see: {reducedMotion: 'reduce' | 'no-preference'}, as a system setting would.
  media: async ({ reducedMotion }) => { await page.emulateMedia({ reducedMotion }); return true; },
  requests: async () => requests.slice(),
  console: async () => consoleErrors.slice(),
  // After a full collection, so the number is what the page keeps, not what it has not freed yet.
  heap: async () => {
    await cdp.send('HeapProfiler.collectGarbage');
    const { usedSize, totalSize } = await cdp.send('Runtime.getHeapUsage');
    return { usedSize, totalSize };
  },
  close: async () => { await context.close(); return true; },
};

const lines = createInterface({ input: process.stdin });
for await (const line of lines) {
  if (!line.trim()) continue;
  let answer;
  try {
    const { cmd, ...rest } = JSON.parse(line);
    if (!commands[cmd]) throw new Error(`unknown command ${cmd}`);
    answer = { ok: true, value: await commands[cmd](rest) };
    if (cmd === 'close') { process.stdout.write(JSON.stringify(answer) + '\n'); break; }
  } catch (err) {
    answer = { ok: false, error: String(err && err.message || err) };
  }
  process.stdout.write(JSON.stringify(answer === undefined ? null : answer) + '\n');
}
await context.close().catch(() => {});
process.exit(0);
