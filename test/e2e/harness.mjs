// End-to-end harness: a real VS Code (code-server from npm) in headless Debian chromium, driven
// by playwright-core. Both come from the cache that scripts/e2e-setup.sh fills (.cache/e2e/);
// nothing here downloads anything. See test/e2e/README.md for the API and the flakiness notes.
//
// Plain ESM so that it runs without a build step: `node --test test/e2e/`.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import zlib from 'node:zlib';

const here = path.dirname(fileURLToPath(import.meta.url));

export const paths = {
  repo: path.resolve(here, '../..'),
  cache: process.env.VRL_E2E_CACHE || path.resolve(here, '../../.cache/e2e'),
  screenshots: process.env.VRL_E2E_SCREENSHOTS || path.join(here, 'screenshots'),
  chromium: process.env.VRL_E2E_CHROMIUM || '/usr/bin/chromium',
};
paths.prefix = path.join(paths.cache, 'install');
paths.codeServer = path.join(paths.prefix, 'node_modules/code-server/out/node/entry.js');

// Chromium cannot reach the network here: without these it keeps trying (README, probe notes).
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
  '--disable-dev-shm-usage',
];

// User settings written before the first start. Each one removes a source of nondeterminism.
export const DEFAULT_SETTINGS = {
  'security.workspace.trust.enabled': false, // the trust dialog would cover the workbench
  'workbench.startupEditor': 'none', // no welcome page
  'workbench.tips.enabled': false,
  'workbench.welcomePage.walkthroughs.openOnInstall': false,
  'workbench.enableExperiments': false,
  'workbench.editor.enablePreview': false, // a second openFile must not replace the first tab
  'workbench.reduceMotion': 'on', // no animations between an action and a screenshot
  'workbench.colorTheme': 'Default Dark Modern', // stable screenshots across VS Code versions
  'telemetry.telemetryLevel': 'off',
  'update.mode': 'none',
  'extensions.autoCheckUpdates': false, // the gallery is unreachable; avoid error toasts
  'extensions.autoUpdate': false,
  'extensions.ignoreRecommendations': true,
  'git.enabled': false, // temp workspaces are not repos; keep the SCM view quiet
  'git.autoRepositoryDetection': false,
  'remote.autoForwardPorts': false, // code-server would offer port-forward toasts
  'editor.accessibilitySupport': 'off', // no "screen reader optimized?" prompt
  'files.autoSave': 'off',
  'explorer.compactFolders': false, // one Explorer row per folder, so openFile can click through
  'window.commandCenter': false,
  'chat.commandCenter.enabled': false,
  'npm.autoDetect': 'off',
  'task.autoDetect': 'off',
};

const log = msg => console.log(`# e2e: ${msg}`);
const sleep = ms => new Promise(r => setTimeout(r, ms));
// Resolves with the promise's value, or `fallback` after ms; the timer never keeps Node alive.
function within(promise, ms, fallback = null) {
  let timer;
  const t = new Promise(r => {
    timer = setTimeout(() => r(fallback), ms);
  });
  return Promise.race([promise, t]).finally(() => clearTimeout(timer));
}

// ---- process bookkeeping: whatever happens, nothing we started outlives us -------------------

const liveGroups = new Set(); // pids of detached process groups (code-server and its children)
const tempDirs = new Set();
let exitHooksInstalled = false;

function killGroup(pid, signal) {
  try {
    process.kill(-pid, signal);
    return true;
  } catch {
    return false; // already gone
  }
}

// With VRL_E2E_PID_DIR set (scripts/e2e-run.sh does), each live group is also a file there, so
// the runner can kill what a SIGKILLed test process left behind.
function recordGroup(pid, alive) {
  if (alive) liveGroups.add(pid);
  else liveGroups.delete(pid);
  const dir = process.env.VRL_E2E_PID_DIR;
  if (!dir) return;
  try {
    if (alive) fs.writeFileSync(path.join(dir, String(pid)), '');
    else fs.rmSync(path.join(dir, String(pid)), { force: true });
  } catch {
    // best effort: the reaper in e2e-run.sh cleans up what this misses
  }
}

function cleanupSync() {
  for (const pid of [...liveGroups]) {
    killGroup(pid, 'SIGKILL');
    recordGroup(pid, false);
  }
  if (process.env.VRL_E2E_KEEP !== '1') {
    for (const dir of [...tempDirs]) removeTempDir(dir);
  }
}

function installExitHooks() {
  if (exitHooksInstalled) return;
  exitHooksInstalled = true;
  process.on('exit', cleanupSync);
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.once(sig, () => {
      log(`${sig}: killing code-server and removing temp dirs`);
      cleanupSync();
      process.exit(128 + os.constants.signals[sig]);
    });
  }
}

let watchdog = null;
/** Kills everything and exits 1 if the session is still open after `ms`; a hang becomes a failure. */
export function armWatchdog(ms = Number(process.env.VRL_E2E_WATCHDOG_MS || 240_000)) {
  disarmWatchdog();
  watchdog = setTimeout(() => {
    console.error(`e2e: FAILED: watchdog fired after ${Math.round(ms / 1000)} s; killing code-server and chromium`);
    cleanupSync();
    process.exit(1);
  }, ms);
  watchdog.unref();
}
export function disarmWatchdog() {
  if (watchdog) clearTimeout(watchdog);
  watchdog = null;
}

/** A fresh directory under the OS temp dir, removed at close or process exit (unless VRL_E2E_KEEP=1). */
export function makeTempDir(prefix = 'vrl-e2e-') {
  installExitHooks();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  tempDirs.add(dir);
  return dir;
}

export function removeTempDir(dir) {
  tempDirs.delete(dir);
  if (process.env.VRL_E2E_KEEP === '1') log(`kept ${dir}`);
  else fs.rmSync(dir, { recursive: true, force: true });
}

// ---- environment ----------------------------------------------------------------------------

/** Throws one clear line when the cache is not ready: run scripts/e2e-setup.sh first. */
export function checkEnvironment() {
  if (!fs.existsSync(path.join(paths.cache, 'stamp')) || !fs.existsSync(paths.codeServer)) {
    throw new Error(`e2e cache not ready at ${paths.cache}: run scripts/e2e-setup.sh`);
  }
  if (!fs.existsSync(paths.chromium)) {
    throw new Error(`chromium not found at ${paths.chromium}: apt-get install -y chromium`);
  }
}

/**
 * Proves the machine can run the suite: cache ready, playwright-core loads, chromium starts and
 * renders a page. Throws one clear line otherwise. Takes about a second.
 */
export async function preflight() {
  checkEnvironment();
  let browser;
  try {
    browser = await launchBrowser({ timeoutMs: 20_000 });
    const page = await browser.newPage();
    await page.setContent('<p id="ok">ok</p>');
    if ((await page.textContent('#ok')) !== 'ok') throw new Error('chromium rendered nothing');
  } catch (e) {
    throw new Error(`chromium (${paths.chromium}) does not start under playwright-core: ${String(e.message).split('\n')[0]}`, { cause: e });
  } finally {
    await browser?.close().catch(() => {});
  }
}

let playwright = null;
/** playwright-core from the cache (the repo's package.json does not depend on it). */
export function loadPlaywright() {
  if (!playwright) {
    checkEnvironment();
    const req = createRequire(path.join(paths.prefix, 'package.json'));
    playwright = req('playwright-core');
  }
  return playwright;
}

// Child processes must not attach to a VS Code that may be running this test (VSCODE_IPC_HOOK_CLI
// would make code-server forward the folder to it) or inherit node:test's markers.
function childEnv(extra = {}) {
  const env = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (k.startsWith('VSCODE_') || k === 'NODE_TEST_CONTEXT' || k === 'NODE_OPTIONS' || k === 'ELECTRON_RUN_AS_NODE') continue;
    env[k] = v;
  }
  return { ...env, VRL_E2E: '1', ...extra };
}

// ---- (a) user data dir ------------------------------------------------------------------------

/** Writes <dir>/User/settings.json (DEFAULT_SETTINGS + `settings`) and returns dir. */
export function prepareUserDataDir(dir, settings = {}) {
  fs.mkdirSync(path.join(dir, 'User'), { recursive: true });
  const all = { ...DEFAULT_SETTINGS, ...settings };
  fs.writeFileSync(path.join(dir, 'User', 'settings.json'), JSON.stringify(all, null, 2) + '\n');
  return dir;
}

/** Polls until `file` exists and returns its text: for test-only commands that dump state to a file. */
export async function waitForFile(file, timeoutMs = 15_000) {
  const deadline = Date.now() + timeoutMs;
  while (!fs.existsSync(file)) {
    if (Date.now() > deadline) throw new Error(`waitForFile: ${file} did not appear within ${timeoutMs} ms`);
    await sleep(200);
  }
  return fs.readFileSync(file, 'utf8');
}

/** Writes `files` ({ 'rel/path.c': 'text' }) under dir and returns dir. */
export function writeWorkspace(dir, files = {}) {
  for (const [rel, text] of Object.entries(files)) {
    const file = path.join(dir, rel);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, text);
  }
  return dir;
}

// ---- (b) extensions -----------------------------------------------------------------------------

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();
function crc32(buf) {
  let c = 0xffffffff;
  for (const b of buf) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** Writes a zip (deflate) of `entries` ([{ name, data: Buffer }]) to outFile. */
export function writeZip(outFile, entries) {
  const locals = [];
  const centrals = [];
  let offset = 0;
  for (const { name, data } of entries) {
    const nameBuf = Buffer.from(name, 'utf8');
    const packed = zlib.deflateRawSync(data);
    const crc = crc32(data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4); // version needed
    local.writeUInt16LE(0x0800, 6); // UTF-8 names
    local.writeUInt16LE(8, 8); // deflate
    local.writeUInt32LE(0, 10); // time, date
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(packed.length, 18);
    local.writeUInt32LE(data.length, 22);
    local.writeUInt16LE(nameBuf.length, 26);
    local.writeUInt16LE(0, 28);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(20, 4);
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(0x0800, 8);
    central.writeUInt16LE(8, 10);
    central.writeUInt32LE(0, 12);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(packed.length, 20);
    central.writeUInt32LE(data.length, 24);
    central.writeUInt16LE(nameBuf.length, 28);
    central.writeUInt32LE(0, 30); // extra, comment lengths
    central.writeUInt32LE(0, 34); // disk, internal attrs
    central.writeUInt32LE(0, 38); // external attrs
    central.writeUInt32LE(offset, 42);
    locals.push(local, nameBuf, packed);
    centrals.push(central, nameBuf);
    offset += local.length + nameBuf.length + packed.length;
  }
  const cdSize = centrals.reduce((n, b) => n + b.length, 0);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(cdSize, 12);
  end.writeUInt32LE(offset, 16);
  fs.writeFileSync(outFile, Buffer.concat([...locals, ...centrals, end]));
  return outFile;
}

const xml = s => String(s ?? '').replace(/[<>&"]/g, c => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;' })[c]);
const CONTENT_TYPES = {
  '.json': 'application/json',
  '.js': 'application/javascript',
  '.cjs': 'application/javascript',
  '.mjs': 'application/javascript',
  '.md': 'text/markdown',
  '.txt': 'text/plain',
  '.wasm': 'application/wasm',
  '.png': 'image/png',
  '.vsixmanifest': 'text/xml',
};

/**
 * Packs an unpacked extension folder into a .vsix the way vsce lays it out
 * ([Content_Types].xml, extension.vsixmanifest, extension/**), without vsce or network.
 * Meant for test fixtures; ship real builds with `vsce package`.
 */
export function packVsix(folder, outFile) {
  const manifest = JSON.parse(fs.readFileSync(path.join(folder, 'package.json'), 'utf8'));
  const files = [];
  (function walk(rel) {
    for (const ent of fs.readdirSync(path.join(folder, rel), { withFileTypes: true })) {
      const r = rel ? `${rel}/${ent.name}` : ent.name;
      if (ent.name === '.git' || ent.name.endsWith('.vsix')) continue;
      if (ent.isDirectory()) walk(r);
      else if (ent.isFile()) files.push(r);
    }
  })('');
  files.sort();
  const exts = new Set(files.map(f => path.extname(f).toLowerCase()).filter(Boolean));
  exts.add('.vsixmanifest');
  const types =
    '<?xml version="1.0" encoding="utf-8"?>\n<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">' +
    [...exts]
      .sort()
      .map(e => `<Default Extension="${xml(e)}" ContentType="${CONTENT_TYPES[e] || 'application/octet-stream'}"/>`)
      .join('') +
    '</Types>\n';
  const vsixManifest = `<?xml version="1.0" encoding="utf-8"?>
<PackageManifest Version="2.0.0" xmlns="http://schemas.microsoft.com/developer/vsx-schema/2011" xmlns:d="http://schemas.microsoft.com/developer/vsx-schema-design/2011">
  <Metadata>
    <Identity Language="en-US" Id="${xml(manifest.name)}" Version="${xml(manifest.version)}" Publisher="${xml(manifest.publisher)}"/>
    <DisplayName>${xml(manifest.displayName || manifest.name)}</DisplayName>
    <Description xml:space="preserve">${xml(manifest.description)}</Description>
    <Tags></Tags>
    <Categories>${xml((manifest.categories || ['Other']).join(','))}</Categories>
    <GalleryFlags>Public</GalleryFlags>
    <Properties>
      <Property Id="Microsoft.VisualStudio.Code.Engine" Value="${xml(manifest.engines?.vscode || '*')}"/>
      <Property Id="Microsoft.VisualStudio.Code.ExtensionDependencies" Value="${xml((manifest.extensionDependencies || []).join(','))}"/>
      <Property Id="Microsoft.VisualStudio.Code.ExtensionPack" Value="${xml((manifest.extensionPack || []).join(','))}"/>
      <Property Id="Microsoft.VisualStudio.Code.ExtensionKind" Value="${xml([].concat(manifest.extensionKind || 'workspace').join(','))}"/>
    </Properties>
  </Metadata>
  <Installation>
    <InstallationTarget Id="Microsoft.VisualStudio.Code"/>
  </Installation>
  <Dependencies/>
  <Assets>
    <Asset Type="Microsoft.VisualStudio.Code.Manifest" Path="extension/package.json" Addressable="true"/>
  </Assets>
</PackageManifest>
`;
  return writeZip(outFile, [
    { name: '[Content_Types].xml', data: Buffer.from(types) },
    { name: 'extension.vsixmanifest', data: Buffer.from(vsixManifest) },
    ...files.map(f => ({ name: `extension/${f}`, data: fs.readFileSync(path.join(folder, f)) })),
  ]);
}

/** Runs `node code-server.js args` to completion; rejects with its output on failure or timeout. */
function runCodeServerCli(args, { timeoutMs = 90_000 } = {}) {
  const res = spawnSync(process.execPath, [paths.codeServer, ...args], {
    env: childEnv(),
    encoding: 'utf8',
    timeout: timeoutMs,
    killSignal: 'SIGKILL',
  });
  const out = `${res.stdout || ''}${res.stderr || ''}`.trim();
  if (res.error || res.status !== 0) {
    const why = res.error?.code === 'ETIMEDOUT' ? `timed out after ${timeoutMs} ms` : `exit ${res.status}`;
    throw new Error(`code-server ${args.join(' ')}: ${why}\n${out}`);
  }
  return out;
}

/**
 * Installs an extension (.vsix file, or an unpacked folder that is packed with packVsix first)
 * into extensionsDir. Returns the installer's output.
 */
export function installExtension({ extension, extensionsDir, userDataDir }) {
  let vsix = path.resolve(extension);
  let tmp = null;
  if (fs.statSync(vsix).isDirectory()) {
    tmp = makeTempDir('vrl-e2e-vsix-');
    vsix = packVsix(vsix, path.join(tmp, `${path.basename(vsix)}.vsix`));
  }
  let out;
  try {
    out = runCodeServerCli(['--user-data-dir', userDataDir, '--extensions-dir', extensionsDir, '--force', '--install-extension', vsix]);
  } finally {
    if (tmp) removeTempDir(tmp);
  }
  if (!/successfully installed/i.test(out)) throw new Error(`installing ${extension} did not report success:\n${out}`);
  return out;
}

// ---- (c) code-server ---------------------------------------------------------------------------

/**
 * Starts code-server on 127.0.0.1 with a port the kernel picks (bind-addr :0) and resolves once
 * its log says where it listens. Returns { url, port, pid, logFile, logText(), stop() }.
 */
export async function startCodeServer({ folder, userDataDir, extensionsDir, logFile, env = {}, timeoutMs = 45_000 }) {
  installExitHooks();
  checkEnvironment();
  const configFile = path.join(userDataDir, 'code-server-config.yaml');
  fs.writeFileSync(configFile, 'bind-addr: 127.0.0.1:0\nauth: none\ncert: false\n');
  const args = [
    paths.codeServer,
    '--config',
    configFile, // never read or create ~/.config/code-server/config.yaml
    '--bind-addr',
    '127.0.0.1:0',
    '--auth',
    'none',
    '--disable-telemetry',
    '--disable-update-check',
    '--disable-workspace-trust',
    '--disable-getting-started-override',
    '--ignore-last-opened',
    '--user-data-dir',
    userDataDir,
    '--extensions-dir',
    extensionsDir,
    folder,
  ];
  logFile ??= path.join(userDataDir, 'code-server.log');
  const logFd = fs.openSync(logFile, 'a');
  const proc = spawn(process.execPath, args, {
    cwd: folder,
    env: childEnv(env),
    detached: true, // own process group: stop() kills the extension host and pty host too
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  recordGroup(proc.pid, true);
  let text = '';
  let exited = null;
  const exitPromise = new Promise(resolve => {
    proc.once('exit', (code, signal) => {
      exited = { code, signal };
      resolve(exited);
    });
  });
  const onData = chunk => {
    text += chunk;
    try {
      fs.writeSync(logFd, chunk);
    } catch {
      // the log is closed: the process outlived its test
    }
  };
  proc.stdout.on('data', onData);
  proc.stderr.on('data', onData);
  const logText = () => text;
  const stop = async () => {
    if (!exited) {
      killGroup(proc.pid, 'SIGTERM');
      const done = await within(exitPromise, 5000);
      if (!done) killGroup(proc.pid, 'SIGKILL');
      await within(exitPromise, 2000);
    }
    killGroup(proc.pid, 'SIGKILL'); // children that outlived the leader
    recordGroup(proc.pid, false);
    try {
      fs.closeSync(logFd);
    } catch {
      // closed already
    }
  };

  const deadline = Date.now() + timeoutMs;
  let url = null;
  while (!url) {
    const m = /HTTP server listening on (https?:\/\/[^\s]+)/.exec(text);
    if (m) url = m[1].replace(/\/?$/, '/');
    else if (exited) {
      await stop();
      throw new Error(`code-server exited (${JSON.stringify(exited)}) before listening:\n${tail(text)}`);
    } else if (Date.now() > deadline) {
      await stop();
      throw new Error(`code-server did not listen within ${timeoutMs} ms:\n${tail(text)}`);
    } else await sleep(100);
  }
  const port = Number(new URL(url).port);
  return { url, port, pid: proc.pid, logFile, logText, stop, exited: () => exited };
}

function tail(text, lines = 30) {
  return text.split('\n').slice(-lines).join('\n');
}

// ---- (d) browser and workbench -------------------------------------------------------------------

/** Launches Debian's chromium, headless, through playwright-core. */
export async function launchBrowser({ timeoutMs = 30_000 } = {}) {
  const { chromium } = loadPlaywright();
  return chromium.launch({ executablePath: paths.chromium, headless: true, args: CHROMIUM_ARGS, timeout: timeoutMs });
}

/**
 * Opens the workbench for `folder` in a new page and waits until it is usable: `.monaco-workbench`,
 * the Explorer showing the folder, and the status bar. Returns a Workbench page object.
 */
export async function openWorkbench(
  browser,
  server,
  { folder, viewport = { width: 1440, height: 900 }, timeoutMs = 60_000, consoleLog } = {},
) {
  // colorScheme dark: the first paint matches the dark theme in DEFAULT_SETTINGS (no light flash).
  const context = await browser.newContext({ viewport, deviceScaleFactor: 1, colorScheme: 'dark' });
  const page = await context.newPage();
  page.setDefaultTimeout(15_000);
  if (consoleLog) {
    const write = line => fs.appendFileSync(consoleLog, line + '\n');
    page.on('console', m => write(`[${m.type()}] ${m.text()}`));
    page.on('pageerror', e => write(`[pageerror] ${e.stack || e}`));
  }
  const url = folder ? `${server.url}?folder=${encodeURIComponent(folder)}` : server.url;
  await page.goto(url, { timeout: timeoutMs, waitUntil: 'domcontentloaded' });
  const wb = new Workbench(page);
  await page.locator('.monaco-workbench').waitFor({ state: 'visible', timeout: timeoutMs });
  await page.locator('.part.statusbar').waitFor({ state: 'visible', timeout: timeoutMs });
  // The first paint uses a built-in fallback theme; the configured theme (and file icons) come
  // from extensions once they are scanned, about 2 s later. Screenshots before that look wrong.
  await page.locator('.monaco-workbench[class*="vscode-theme-"]').waitFor({ state: 'attached', timeout: timeoutMs });
  if (folder) {
    await wb.showExplorer({ timeoutMs });
    // The file tree arrives over the server connection after the first paint.
    if (fs.readdirSync(folder).length > 0) {
      await page.locator('.explorer-folders-view .monaco-list-row').first().waitFor({ state: 'visible', timeout: timeoutMs });
    }
  }
  return wb;
}

const escapeRe = s => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

// ---- (e) page object ----------------------------------------------------------------------------

export class Workbench {
  constructor(page, { screenshotsDir = paths.screenshots } = {}) {
    this.page = page;
    this.screenshotsDir = screenshotsDir;
  }

  /** Saves <screenshotsDir>/<name>.png, prints its path, returns it. */
  async screenshot(name) {
    fs.mkdirSync(this.screenshotsDir, { recursive: true });
    const file = path.join(this.screenshotsDir, `${name.replace(/[^\w.-]+/g, '-')}.png`);
    await this.page.screenshot({ path: file, timeout: 10_000 });
    log(`screenshot ${path.relative(process.cwd(), file)}`);
    return file;
  }

  /** Polls the inner text of all `selector` matches until it matches `regex`; returns the text. */
  async waitForText(selector, regex, timeoutMs = 15_000) {
    const deadline = Date.now() + timeoutMs;
    let last;
    for (;;) {
      try {
        last = (await this.page.locator(selector).allInnerTexts()).join('\n');
      } catch (e) {
        last = `<${e.message.split('\n')[0]}>`;
      }
      if (regex.test(last)) return last;
      if (Date.now() > deadline) {
        throw new Error(
          `waitForText: ${selector} did not match ${regex} within ${timeoutMs} ms; last text: ${JSON.stringify(last.slice(0, 600))}`,
        );
      }
      await sleep(250);
    }
  }

  /**
   * Gives keyboard focus back to the workbench after a lost focus, a toast or a stuck widget:
   * Escape, then the active editor (without moving its cursor) or the document body.
   */
  async refocus() {
    await this.page.keyboard.press('Escape').catch(() => {});
    if (
      !(await this.focusEditor().then(
        () => true,
        () => false,
      ))
    ) {
      await this.page.evaluate(() => document.activeElement?.blur?.()).catch(() => {});
    }
  }

  /** Puts keyboard focus in the active editor without moving its cursor (openFile leaves it in the Explorer). */
  async focusEditor() {
    const input = this.page.locator('.part.editor .editor-group-container.active .monaco-editor textarea.inputarea').first();
    await input.focus({ timeout: 3000 });
  }

  /** Saves the active editor (Ctrl+S) and waits until its tab is no longer dirty. */
  async saveActiveFile({ timeoutMs = 10_000 } = {}) {
    await this.focusEditor();
    await this.page.keyboard.press('Control+S');
    await this.page.locator('.tabs-container .tab.active.dirty').waitFor({ state: 'detached', timeout: timeoutMs });
  }

  /** Moves the active editor's cursor with Go to Line (Ctrl+G, ':line:column', column in characters). */
  async goToLine(line, column = 1, { attempts = 3 } = {}) {
    const widget = this.page.locator('.quick-input-widget');
    // The status bar shows the visual column (tabs expanded), so only the line is checked.
    const status = this.page.locator('.statusbar-item', { hasText: new RegExp(`^\\s*Ln ${line}, Col \\d+`) });
    let lastError;
    for (let i = 1; i <= attempts; i++) {
      try {
        await this.focusEditor();
        await this.page.keyboard.press('Control+G');
        const input = widget.locator('.quick-input-box input');
        await input.waitFor({ state: 'visible', timeout: 3000 });
        await input.fill(`:${line}:${column}`);
        await this.page.keyboard.press('Enter');
        await widget.waitFor({ state: 'hidden', timeout: 3000 });
        await status.first().waitFor({ state: 'visible', timeout: 3000 });
        return;
      } catch (e) {
        lastError = e;
        log(`retrying after attempt ${i}/${attempts} failed: ${e.message.split('\n')[0]}`);
        await this.refocus();
      }
    }
    throw new Error(`goToLine(${line}, ${column}) failed after ${attempts} attempts: ${lastError?.message.split('\n')[0]}`);
  }

  /**
   * Opens the quick fix menu (Ctrl+.) at the cursor and applies the action labelled exactly
   * `label`, choosing it with the keyboard (a pointer-block overlay swallows clicks until the
   * mouse moves). Use goToLine first. `onMenu` runs while the menu is open (e.g. a screenshot).
   * Returns the labels the menu offered.
   */
  async quickFix(label, { attempts = 3, timeoutMs = 8000, onMenu } = {}) {
    const page = this.page;
    const menu = page.locator('.action-widget');
    const rows = menu.locator('.monaco-list-row.action');
    let lastError;
    for (let i = 1; i <= attempts; i++) {
      try {
        await this.focusEditor();
        await page.keyboard.press('Control+.');
        await menu.waitFor({ state: 'visible', timeout: timeoutMs });
        await rows.first().waitFor({ state: 'visible', timeout: timeoutMs });
        const offered = (await rows.evaluateAll(els => els.map(e => e.getAttribute('aria-label') || ''))).map(t => t.trim());
        const index = offered.indexOf(label);
        if (index < 0) throw new Error(`quick fix menu has no ${JSON.stringify(label)}; offered: ${JSON.stringify(offered)}`);
        if (onMenu) await onMenu();
        for (let k = 0; k < index; k++) await page.keyboard.press('ArrowDown');
        const focused = (await menu.locator('.monaco-list-row.action.focused').getAttribute('aria-label', { timeout: 3000 }))?.trim();
        if (focused !== label) throw new Error(`quick fix menu focus is on ${JSON.stringify(focused)}, not ${JSON.stringify(label)}`);
        await page.keyboard.press('Enter');
        await menu.waitFor({ state: 'hidden', timeout: 5000 });
        return offered;
      } catch (e) {
        lastError = e;
        log(`retrying after attempt ${i}/${attempts} failed: ${e.message.split('\n')[0]}`);
        await this.refocus();
      }
    }
    throw new Error(`quickFix(${JSON.stringify(label)}) failed after ${attempts} attempts: ${lastError?.message.split('\n')[0]}`);
  }

  async showExplorer({ timeoutMs = 15_000 } = {}) {
    const view = this.page.locator('.explorer-folders-view');
    if (await view.isVisible().catch(() => false)) return;
    await this.page.keyboard.press('Control+Shift+E');
    try {
      await view.waitFor({ state: 'visible', timeout: Math.min(5000, timeoutMs) });
    } catch {
      await this.runCommand('View: Show Explorer');
      await view.waitFor({ state: 'visible', timeout: timeoutMs });
    }
  }

  explorerRow(name) {
    return this.page
      .locator('.explorer-folders-view .monaco-list-row')
      .filter({ has: this.page.locator('.label-name', { hasText: new RegExp(`^\\s*${escapeRe(name)}\\s*$`) }) })
      .first();
  }

  /**
   * Opens a workspace file by clicking through the Explorer ('dir/sub/a.c' expands folders),
   * then waits for its editor tab to be active. Clicking proved more reliable than Quick Open.
   */
  async openFile(relPath, { timeoutMs = 20_000, attempts = 3 } = {}) {
    const parts = relPath.split('/').filter(Boolean);
    const name = parts[parts.length - 1];
    const tab = this.page
      .locator('.tabs-container .tab.active')
      .filter({ has: this.page.locator('.label-name', { hasText: new RegExp(`^\\s*${escapeRe(name)}\\s*$`) }) });
    let lastError;
    for (let i = 1; i <= attempts; i++) {
      try {
        await this.showExplorer({ timeoutMs });
        for (const dir of parts.slice(0, -1)) {
          const row = this.explorerRow(dir);
          await row.waitFor({ state: 'visible', timeout: timeoutMs });
          if ((await row.getAttribute('aria-expanded')) === 'false') await row.click();
        }
        const row = this.explorerRow(name);
        await row.waitFor({ state: 'visible', timeout: timeoutMs });
        await row.click();
        await tab.waitFor({ state: 'visible', timeout: 5000 });
        await this.page.locator('.part.editor .monaco-editor').first().waitFor({ state: 'visible', timeout: 5000 });
        return;
      } catch (e) {
        lastError = e;
        log(`retrying after attempt ${i}/${attempts} failed: ${e.message.split('\n')[0]}`);
        await this.refocus();
      }
    }
    throw new Error(`openFile(${relPath}) failed after ${attempts} attempts: ${lastError?.message.split('\n')[0]}`);
  }

  /**
   * Opens a workspace file with Quick Open (Ctrl+P, or "Go to File..." on alternate attempts),
   * typing its workspace-relative path and picking the row for that file. For large trees, where
   * the Explorer renders only the rows on screen and openFile cannot click through.
   */
  async quickOpen(relPath, { timeoutMs = 30_000, attempts = 3 } = {}) {
    const page = this.page;
    const name = path.posix.basename(relPath);
    const dir = path.posix.dirname(relPath);
    const widget = page.locator('.quick-input-widget');
    const input = widget.locator('.quick-input-box input');
    const row = widget
      .locator('.quick-input-list .monaco-list-row')
      .filter({ has: page.locator('.label-name', { hasText: new RegExp(`^\\s*${escapeRe(name)}\\s*$`) }) })
      .filter({ has: page.locator('.label-description', { hasText: new RegExp(`^\\s*${escapeRe(dir)}\\s*$`) }) })
      .first();
    const tab = page
      .locator('.tabs-container .tab.active')
      .filter({ has: page.locator('.label-name', { hasText: new RegExp(`^\\s*${escapeRe(name)}\\s*$`) }) });
    let lastError;
    for (let i = 1; i <= attempts; i++) {
      try {
        if (await widget.isVisible().catch(() => false)) await page.keyboard.press('Escape');
        if (i % 2) {
          // Not refocus() on the first attempt: Escape would also clear a filter input that has
          // the focus (the Problems panel's, for example).
          if (i > 1) await this.refocus();
          await page.keyboard.press('Control+P');
          await input.waitFor({ state: 'visible', timeout: 3000 });
        } else {
          await this.runCommand('Go to File...', { keepOpen: true });
        }
        await input.fill(relPath);
        await row.waitFor({ state: 'visible', timeout: timeoutMs });
        await row.click();
        await widget.waitFor({ state: 'hidden', timeout: 5000 });
        await tab.waitFor({ state: 'visible', timeout: 5000 });
        await page.locator('.part.editor .monaco-editor').first().waitFor({ state: 'visible', timeout: 5000 });
        return;
      } catch (e) {
        lastError = e;
        log(`retrying after attempt ${i}/${attempts} failed: ${e.message.split('\n')[0]}`);
        await this.refocus();
      }
    }
    throw new Error(`quickOpen(${relPath}) failed after ${attempts} attempts: ${lastError?.message.split('\n')[0]}`);
  }

  /**
   * Runs a command by its palette title ("Category: Title"), picking the row whose label is exactly
   * `title`. Retries when the palette does not open (focus lost) or the row is not listed yet.
   * With keepOpen, does not wait for the palette to close (for commands that open a quick pick).
   */
  async runCommand(title, { attempts = 4, timeoutMs = 8000, keepOpen = false } = {}) {
    const page = this.page;
    const widget = page.locator('.quick-input-widget');
    const input = widget.locator('.quick-input-box input');
    const row = widget
      .locator('.quick-input-list .monaco-list-row')
      .filter({ has: page.locator('.label-name', { hasText: new RegExp(`^\\s*${escapeRe(title)}\\s*$`) }) })
      .first();
    let lastError;
    for (let i = 1; i <= attempts; i++) {
      try {
        if (await widget.isVisible().catch(() => false)) await page.keyboard.press('Escape');
        await page.keyboard.press(i % 2 ? 'F1' : 'Control+Shift+P');
        await input.waitFor({ state: 'visible', timeout: 3000 });
        await input.fill(`>${title}`);
        try {
          await row.waitFor({ state: 'visible', timeout: timeoutMs });
        } catch {
          const seen = await widget
            .locator('.quick-input-list .monaco-list-row .label-name')
            .allInnerTexts()
            .catch(() => []);
          throw new Error(
            `no palette row labelled exactly ${JSON.stringify(title)} within ${timeoutMs} ms; rows: ${JSON.stringify(seen.slice(0, 8))}`,
          );
        }
        await row.click();
        if (!keepOpen) await widget.waitFor({ state: 'hidden', timeout: 5000 });
        return;
      } catch (e) {
        lastError = e;
        log(`retrying after attempt ${i}/${attempts} failed: ${e.message.split('\n')[0]}`);
        await this.refocus();
      }
    }
    throw new Error(`runCommand(${JSON.stringify(title)}) failed after ${attempts} attempts: ${lastError?.message.split('\n')[0]}`);
  }

  /** Shows the Problems panel (Ctrl+Shift+M, falling back to the palette). */
  async openProblems({ timeoutMs = 10_000 } = {}) {
    const panel = this.page.locator('.markers-panel');
    if (await panel.isVisible().catch(() => false)) return;
    await this.page.keyboard.press('Control+Shift+M');
    try {
      await panel.waitFor({ state: 'visible', timeout: 4000 });
    } catch {
      await this.runCommand('Problems: Focus on Problems View');
      await panel.waitFor({ state: 'visible', timeout: timeoutMs });
    }
  }

  /** Types `text` into the Problems panel's filter (its list renders only the rows on screen). */
  async filterProblems(text) {
    await this.openProblems();
    const input = this.page.locator('.panel .viewpane-filter input, .panel .markers-panel-action-filter input').first();
    await input.fill(text);
    await sleep(500);
  }

  /** The Problems panel's text (opens it first). */
  async problemsText() {
    await this.openProblems();
    return (await this.page.locator('.markers-panel').allInnerTexts()).join('\n');
  }

  /** Waits until the Problems panel's text matches regex; returns the text. */
  async waitForProblem(regex, timeoutMs = 20_000) {
    await this.openProblems();
    return this.waitForText('.markers-panel', regex, timeoutMs);
  }

  /** Waits until the Problems panel shows no problems at all. */
  async waitForNoProblems(timeoutMs = 20_000) {
    return this.waitForProblem(/No problems have been detected/, timeoutMs);
  }

  /** Waits for a notification toast whose text matches regex; returns the text. */
  async waitForNotification(regex, timeoutMs = 15_000) {
    return this.waitForText('.notifications-toasts .notification-toast', regex, timeoutMs);
  }

  /** The rendered lines of the active editor, in order (Monaco renders only what is on screen). */
  async activeEditorText() {
    const lines = this.page.locator('.part.editor .editor-group-container.active .monaco-editor .view-lines').first();
    return lines.evaluate(el =>
      [...el.querySelectorAll(':scope > .view-line')]
        .sort((a, b) => parseFloat(a.style.top) - parseFloat(b.style.top))
        .map(l => l.textContent.replace(/\u00a0/g, ' '))
        .join('\n'),
    );
  }
}

/**
 * The text of an extension's output channel as VS Code writes it to the session's logs
 * (<user-data-dir>/logs/<time>/exthost<k>/output_logging_<time>/<n>-<name>.log), or '' before the channel
 * has written anything. The file is the channel's content, lines as the extension appended them.
 */
export function outputChannelText(userDataDir, name) {
  const logs = path.join(userDataDir, 'logs');
  if (!fs.existsSync(logs)) return '';
  const suffix = `-${name}.log`;
  const found = fs
    .readdirSync(logs, { recursive: true })
    .map(String)
    .filter(f => /(^|\/)output_logging_[^/]+\/\d+-/.test(f) && f.endsWith(suffix))
    .sort();
  return found.map(f => fs.readFileSync(path.join(logs, f), 'utf8')).join('');
}

// ---- (f) one call for all of it, and a clean shutdown -----------------------------------------------

/**
 * Steps of a node:test suite that share one session: `steps.step(n, title, slug, fn)` defines a
 * test that runs `fn` and screenshots its end state as <name>-<n>-<slug>.png, or on failure
 * <name>-FAIL-<n>-<slug>.png and sets `steps.failed` (pass it to session.close to keep the logs).
 * `workbench()` returns the session's Workbench once the before hook has made it.
 */
export function defineSteps(name, it, workbench, defaultTimeout = 60_000) {
  const steps = { failed: false };
  steps.step = (n, title, slug, fn, timeout = defaultTimeout) => {
    it(title, { timeout }, async () => {
      const wb = workbench();
      if (!wb) throw new Error('the session did not start (see the before hook error)');
      try {
        await fn();
        await wb.screenshot(`${name}-${n}-${slug}`);
      } catch (e) {
        steps.failed = true;
        await wb.screenshot(`${name}-FAIL-${n}-${slug}`).catch(() => {});
        throw e;
      }
    });
  };
  return steps;
}

/**
 * Starts a whole session: temp workspace (`files`, or an existing `folder`), user data dir with
 * DEFAULT_SETTINGS + `settings`, `extensions` installed (.vsix paths or folders), code-server,
 * chromium, the workbench. Always pair with `await session.close()` (use try/finally or after()).
 * `userDataDir`: reuse that profile (kept after close) instead of a new one in the session's tmp.
 * Returns { workbench, page, browser, server, workspace, userDataDir, extensionsDir, tmp, close }.
 */
export async function startSession({
  files = {},
  folder,
  extensions = [],
  settings = {},
  env = {},
  viewport,
  watchdogMs,
  userDataDir: keptUserData,
} = {}) {
  checkEnvironment();
  armWatchdog(watchdogMs);
  const tmp = makeTempDir();
  const workspace = folder ?? writeWorkspace(path.join(tmp, 'workspace'), files);
  fs.mkdirSync(workspace, { recursive: true });
  // `userDataDir`: a profile that outlives the session (the caller removes it), so a second
  // session finds what the first left there (an extension's global storage, say).
  const userDataDir =
    keptUserData && fs.existsSync(path.join(keptUserData, 'User'))
      ? keptUserData
      : prepareUserDataDir(keptUserData ?? path.join(tmp, 'user-data'), settings);
  const extensionsDir = path.join(tmp, 'extensions');
  fs.mkdirSync(extensionsDir, { recursive: true });
  const session = { tmp, workspace, userDataDir, extensionsDir, server: null, browser: null, workbench: null, page: null };
  let closed = false;
  session.close = async ({ failed = false } = {}) => {
    if (closed) return;
    closed = true;
    if (failed && session.server) {
      console.error(
        `# code-server log (last lines), full log ${session.server.logFile}:\n${tail(session.server.logText(), 40).replace(/^/gm, '#   ')}`,
      );
    }
    if (session.browser)
      await within(
        session.browser.close().catch(() => {}),
        10_000,
      );
    if (session.server) await session.server.stop();
    disarmWatchdog();
    if (failed && process.env.VRL_E2E_KEEP !== '1') log('set VRL_E2E_KEEP=1 to keep the temp dirs and logs');
    removeTempDir(tmp);
  };
  try {
    const t0 = Date.now();
    for (const ext of extensions) installExtension({ extension: ext, extensionsDir, userDataDir });
    const t1 = Date.now();
    session.server = await startCodeServer({ folder: workspace, userDataDir, extensionsDir, env });
    const t2 = Date.now();
    session.browser = await launchBrowser();
    const t3 = Date.now();
    session.workbench = await openWorkbench(session.browser, session.server, {
      folder: workspace,
      viewport,
      consoleLog: path.join(tmp, 'browser-console.log'),
    });
    session.page = session.workbench.page;
    const s = (a, b) => ((b - a) / 1000).toFixed(1);
    const t4 = Date.now();
    log(
      `session up in ${s(t0, t4)} s (extensions ${s(t0, t1)}, code-server ${s(t1, t2)}, chromium ${s(t2, t3)}, workbench ${s(t3, t4)}) at ${session.server.url}`,
    );
    return session;
  } catch (e) {
    await session.close({ failed: true });
    throw e;
  }
}
