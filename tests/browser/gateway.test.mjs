// The nginx flow in a real browser: headless Chromium, signed in to nginx's basic auth, reaches
// an app behind Debian's nginx configured with docs/gateways/nginx.conf, is sent to the block
// page once its access has locked, asks again there (automatic approval) and is back in the app.
// Run by scripts/browser (which installs nginx through scripts/proxies); screenshots land in
// SCREENSHOTS as gateway-*.png.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, writeFileSync, rmSync, existsSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

import { freePort, waitFor } from './harness.mjs';

const { chromium } = await import(process.env.PLAYWRIGHT_CORE);
const shots = process.env.SCREENSHOTS;
const repo = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const PASSWORD = 'open sesame';

let dir, demo, nginx, upstream, base, site, env, browser;

async function api(method, path, body) {
  const r = await fetch(base + path, {
    method,
    headers: { Authorization: `Bearer ${env.ADMIN}`, 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  assert.ok(r.status < 300, `${method} ${path}: ${r.status} ${await r.clone().text()}`);
  return r.json();
}

/** docs/gateways/nginx.conf with its example values replaced, each of which must be there. */
function shippedNginx(replace) {
  let text = readFileSync(join(repo, 'docs', 'gateways', 'nginx.conf'), 'utf8');
  for (const [from, to] of replace) {
    assert.ok(text.includes(from), `nginx.conf no longer holds ${from}`);
    text = text.split(from).join(to);
  }
  return text;
}

async function shoot(page, name) {
  await page.screenshot({ path: join(shots, `gateway-${name}.png`), fullPage: true });
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'autolock-gateway-'));
  // nginx's workers (another user when it runs as root) read the password file in it.
  chmodSync(dir, 0o755);
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  demo = spawn(
    process.env.AUTOLOCK_BIN,
    ['serve', '--demo', '--clock', 'manual', '--start', '2026-01-01T00:00:00Z', '--listen', `127.0.0.1:${port}`],
    { cwd: dir, stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, AUTOLOCK_LOG: 'warn' } },
  );
  await waitFor(`${base}/healthz`);
  env = {};
  for (const line of readFileSync(join(dir, 'autolock-demo.env'), 'utf8').split('\n')) {
    const m = line.match(/^export (\w+)=(.*)$/);
    if (m) env[m[1]] = m[2];
  }

  // The app: says who autolock let in.
  const appPort = await freePort();
  upstream = createServer((req, res) => {
    res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
    res.end(`<!doctype html><title>Wiki</title><h1>The wiki</h1><p id="who">Signed in as ${req.headers['x-autolock-user']}</p><p>${req.url}</p>`);
  });
  await new Promise((r) => upstream.listen(appPort, '127.0.0.1', r));

  // nginx, with the shipped configuration.
  const nginxPort = await freePort();
  site = `http://127.0.0.1:${nginxPort}`;
  writeFileSync(join(dir, 'htpasswd'), ['erin', 'bob'].map((u) => `${u}:{PLAIN}${PASSWORD}\n`).join(''));
  writeFileSync(
    join(dir, 'site.conf'),
    shippedNginx([
      ['listen 8000;', `listen 127.0.0.1:${nginxPort};`],
      ['/etc/nginx/wiki.htpasswd', join(dir, 'htpasswd')],
      ['127.0.0.1:3000', `127.0.0.1:${appPort}`],
      ['127.0.0.1:8080', `127.0.0.1:${port}`],
      ['paste-the-gateway-token-here', env.GATEWAY],
    ]),
  );
  writeFileSync(
    join(dir, 'nginx.conf'),
    `worker_processes 1;\npid ${dir}/nginx.pid;\nerror_log ${dir}/error.log;\n` +
      `events { worker_connections 64; }\nhttp {\n  access_log ${dir}/access.log;\n` +
      `  client_body_temp_path ${dir}/body;\n  proxy_temp_path ${dir}/proxy;\n  fastcgi_temp_path ${dir}/fastcgi;\n` +
      `  uwsgi_temp_path ${dir}/uwsgi;\n  scgi_temp_path ${dir}/scgi;\n  include ${dir}/site.conf;\n}\n`,
  );
  const bin = ['/usr/sbin/nginx', '/usr/bin/nginx'].find((p) => existsSync(p));
  assert.ok(bin, 'nginx is installed (scripts/proxies install)');
  nginx = spawn(bin, ['-p', dir, '-e', join(dir, 'error.log'), '-c', join(dir, 'nginx.conf'), '-g', 'daemon off;'], {
    stdio: 'inherit',
  });
  await waitFor(site);

  // The wiki: reached through nginx, automatic approval, locks after a day; erin may use it.
  await api('POST', '/v1/resources', {
    id: 'wiki', name: 'Wiki', address: `${site}/`,
    policy: { auto_lock_after: '1d', approval: 'automatic' },
  });
  await api('POST', '/v1/groups', { id: 'wiki-readers', name: 'Wiki readers' });
  await api('PUT', '/v1/groups/wiki-readers/members/erin');
  await api('POST', '/v1/resources/wiki/grants', { group_id: 'wiki-readers' });

  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM,
    args: ['--no-sandbox', '--disable-background-networking', '--disable-component-update', '--no-first-run'],
  });
});

after(async () => {
  await browser?.close();
  if (nginx) nginx.kill('SIGTERM');
  demo?.kill();
  upstream?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('behind nginx: in, locked out to the block page, asks, back in', async () => {
  const ctx = await browser.newContext({
    viewport: { width: 1280, height: 800 },
    httpCredentials: { username: 'erin', password: PASSWORD },
  });
  const page = await ctx.newPage();
  let r = await page.goto(`${site}/pages/start`);
  assert.equal(r.status(), 200);
  assert.equal(await page.textContent('#who'), 'Signed in as erin');
  await shoot(page, 'nginx-app');

  // Two days without using it: locked.
  await api('POST', '/v1/clock/advance', { by: '2d' });
  r = await page.goto(`${site}/pages/start`);
  assert.ok(page.url().startsWith(`${base}/block/`), page.url());
  const blocked = await page.textContent('body');
  assert.match(blocked, /Wiki/);
  assert.match(blocked, /locked/i);
  await shoot(page, 'nginx-block-page');

  await page.fill('#reason', 'Updating the release notes');
  await page.click('form button[type=submit]');
  // "Access restored", and on to the wiki at once.
  await page.waitForURL((url) => url.href.startsWith(site));
  assert.equal(await page.textContent('#who'), 'Signed in as erin');
  await shoot(page, 'nginx-back-in');

  const right = await api('GET', '/v1/users/erin/rights/wiki');
  assert.equal(right.state.state, 'active', JSON.stringify(right));
  await ctx.close();
});

test('behind nginx: a member without a path is refused', async () => {
  const ctx = await browser.newContext({ httpCredentials: { username: 'bob', password: PASSWORD } });
  const page = await ctx.newPage();
  const r = await page.goto(`${site}/pages/start`);
  assert.equal(r.status(), 403);
  assert.ok(page.url().startsWith(site), page.url());
  await shoot(page, 'nginx-no-access');
  await ctx.close();
});
