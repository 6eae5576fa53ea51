import { defineConfig } from '@playwright/test';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';

// Playwright loads this file in the runner process and again in every worker
// process. The runner picks the port and the data directory once and records
// them in process.env; the workers inherit that environment and reuse the values,
// so baseURL in the workers matches the server the runner started.

/** Ask the kernel for a free TCP port: listen on port 0, read the port, close. */
function freePort(): string {
  const script =
    "const s=require('node:net').createServer();" +
    "s.listen(0,'127.0.0.1',()=>{process.stdout.write(String(s.address().port));s.close();});";
  const port = execFileSync(process.execPath, ['-e', script], { encoding: 'utf8' }).trim();
  if (!/^\d+$/.test(port)) throw new Error(`could not pick a free port (got ${JSON.stringify(port)})`);
  return port;
}

if (!process.env.SHOP_E2E_PORT) process.env.SHOP_E2E_PORT = freePort();
if (!process.env.SHOP_E2E_DATA_DIR) {
  const dir = mkdtempSync(join(tmpdir(), 'shop-e2e-'));
  process.env.SHOP_E2E_DATA_DIR = dir;
  // Only the process that created the directory removes it, after the server is gone.
  process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
}

const port = process.env.SHOP_E2E_PORT;
const dataDir = process.env.SHOP_E2E_DATA_DIR;
const baseURL = `http://127.0.0.1:${port}`;
const shopBin = process.env.SHOP_BIN || join(homedir(), '.cache', 'shop-target', 'release', 'shop');
const chromiumPath = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
// The client bundle scripts/wasm builds (the "js-on" project's live widgets need it).
const siteRoot = process.env.SHOP_SITE_ROOT || join(__dirname, '..', 'target', 'site');

const chromium = {
  browserName: 'chromium' as const,
  launchOptions: {
    executablePath: chromiumPath,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--disable-dev-shm-usage',
    ],
  },
};

export default defineConfig({
  testDir: './tests',
  fullyParallel: false,
  forbidOnly: !!process.env.CI,
  retries: 0,
  workers: 2,
  reporter: 'list',
  timeout: 30_000,
  expect: { timeout: 5_000 },
  use: {
    baseURL,
    trace: 'retain-on-failure',
  },
  projects: [
    { name: 'js-on', use: { ...chromium, javaScriptEnabled: true } },
    { name: 'js-off', use: { ...chromium, javaScriptEnabled: false } },
  ],
  webServer: {
    // SHOP_BIN reaches the shell through the environment, so odd characters in
    // the path need no quoting here.
    command:
      'if [ ! -x "$SHOP_BIN" ]; then echo "shop binary not found or not executable: $SHOP_BIN (build it with: cargo build --release -p shop)" >&2; exit 127; fi; exec "$SHOP_BIN"',
    env: {
      SHOP_BIN: shopBin,
      SHOP_ADDR: `127.0.0.1:${port}`,
      SHOP_DATA_DIR: dataDir!,
      SHOP_SEED: 'true',
      LEPTOS_SITE_ROOT: siteRoot,
      RUST_LOG: 'warn',
      // Every test browser connects from 127.0.0.1: one IP for all signups and logins.
      SHOP_AUTH_ATTEMPTS_PER_MINUTE: '100000',
      SHOP_WRITES_PER_MINUTE_PER_IP: '0',
      // Metrics on a port of their own (the default 9464 may be taken on a shared machine).
      SHOP_METRICS_ADDR: '127.0.0.1:0',
      // The saga runs in this server. An order can be cancelled until its parcel is handed
      // to the carrier, so the payment takes 12 s here (a wide "cancel" window); parcels ship
      // 20 s after packing and arrive 5 s later.
      SHOP_CARRIER_IN_TRANSIT_MS: '20000',
      SHOP_CARRIER_DELIVERED_MS: '25000',
      SHOP_PAYMENT_LATENCY_MS: '12000',
      SHOP_PAYMENT_TIMEOUT_MS: '25000',
    },
    url: `${baseURL}/healthz`,
    reuseExistingServer: false,
    timeout: 60_000,
    stdout: 'pipe',
    stderr: 'pipe',
    gracefulShutdown: { signal: 'SIGTERM', timeout: 5_000 },
  },
});
