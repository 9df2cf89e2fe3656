// The admin console in a real browser: headless Chromium drives `autolock serve --demo` (manual
// clock, SQLite, emails spooled to files) as its users would. Run by scripts/browser, which
// installs Chromium and the driver and sets AUTOLOCK_BIN, CHROMIUM, PLAYWRIGHT_CORE and
// SCREENSHOTS. Every page visited is saved as a screenshot in SCREENSHOTS.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { freePort, waitFor } from './harness.mjs';

const { chromium } = await import(process.env.PLAYWRIGHT_CORE);
const shots = process.env.SCREENSHOTS;

let dir, server, base, env, browser;

/** The demo's environment file: tokens and sign-in links. */
function demoEnv() {
  const out = {};
  for (const line of readFileSync(join(dir, 'autolock-demo.env'), 'utf8').split('\n')) {
    const m = line.match(/^export (\w+)=(.*)$/);
    if (m) out[m[1]] = m[2];
  }
  return out;
}

/** The spooled emails, decoded: {to, subject, text}. */
function emails() {
  const spool = join(dir, 'autolock-mail');
  return readdirSync(spool).sort().map((name) => {
    const raw = readFileSync(join(spool, name), 'utf8').replace(/\r\n/g, '\n');
    const header = (h) => (raw.match(new RegExp(`^${h}: (.*)$`, 'm')) || [])[1];
    // The text part, quoted-printable: from the blank line after its headers to the boundary.
    const start = raw.indexOf('\n\n', raw.indexOf('Content-Type: text/plain')) + 2;
    const qp = raw.slice(start, raw.indexOf('\n--', start)).replace(/=\n/g, '');
    const bytes = [];
    for (let i = 0; i < qp.length; i++) {
      if (qp[i] === '=' && /^[0-9A-F]{2}$/.test(qp.slice(i + 1, i + 3))) {
        bytes.push(parseInt(qp.slice(i + 1, i + 3), 16));
        i += 2;
      } else {
        bytes.push(...Buffer.from(qp[i], 'utf8'));
      }
    }
    return { to: header('To'), subject: header('Subject'), text: Buffer.from(bytes).toString('utf8') };
  });
}

async function api(path, token) {
  const r = await fetch(base + path, { headers: { Authorization: `Bearer ${token}` } });
  assert.equal(r.status, 200, `${path}: ${r.status}`);
  return r.json();
}

/** A fresh browser context (its own cookies), at a laptop's or a phone's size. */
async function context(phone = false) {
  return browser.newContext(
    phone
      ? { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2 }
      : { viewport: { width: 1280, height: 800 } },
  );
}

async function shoot(page, name) {
  await page.screenshot({ path: join(shots, `${name}.png`), fullPage: true });
}

/**
 * A one-time sign-in link for `user`: the one `serve --demo` printed the first time, then one
 * from `autolock sign-in-link` (a link works once).
 */
const printedUsed = new Set();
function signInLink(user) {
  const printed = env[`SIGN_IN_${user.toUpperCase()}`];
  if (printed && !printedUsed.has(user)) {
    printedUsed.add(user);
    return printed;
  }
  return execFileSync(
    process.env.AUTOLOCK_BIN,
    ['sign-in-link', '--user', user, '--db', 'autolock.db', '--console-base-url', base],
    { cwd: dir, encoding: 'utf8', env: { ...process.env, AUTOLOCK_LOG: 'warn' } },
  ).trim();
}

/** Signs in as `user` through a sign-in link: the confirmation page, then its button. */
async function signIn(ctx, user, name) {
  const page = await ctx.newPage();
  await page.goto(signInLink(user));
  await shoot(page, `sign-in-confirm-${name}`);
  await Promise.all([page.waitForNavigation(), page.click('button[type=submit]')]);
  return page;
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'autolock-browser-'));
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  server = spawn(
    process.env.AUTOLOCK_BIN,
    [
      'serve', '--demo', '--clock', 'manual', '--start', '2026-01-01T00:00:00Z',
      '--listen', `127.0.0.1:${port}`, '--sweep-interval', '1s',
    ],
    { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, AUTOLOCK_LOG: 'warn' } },
  );
  let printed = '';
  server.stdout.on('data', (d) => (printed += d));
  server.stderr.on('data', (d) => process.stderr.write(d));
  await waitFor(`${base}/v1/openapi.json`);
  assert.match(printed, /rita\s+http:\/\/127\.0\.0\.1:\d+\/sign-in\//, 'serve --demo prints sign-in links');
  env = demoEnv();
  browser = await chromium.launch({ executablePath: process.env.CHROMIUM, args: ['--no-sandbox'] });
});

after(async () => {
  await browser?.close();
  server?.kill();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('a reviewer signs in by link, opens the request from the approver email and approves it', async () => {
  const ctx = await context();
  const page = await signIn(ctx, 'rita', 'rita');
  assert.equal(new URL(page.url()).pathname, '/access-requests');
  assert.equal((await page.textContent('a.bell')).trim(), '1', 'the bell counts erin\'s open request');
  assert.match(await page.textContent('header .who'), /Rita Reviewer · access reviewer/);
  await shoot(page, 'requests');

  const approverEmail = emails().find((m) => m.subject.startsWith('Access request: Erin'));
  assert.ok(approverEmail, 'the approvers were emailed about erin\'s request');
  const link = approverEmail.text.match(/Review the request: (\S+)/)[1];
  assert.ok(link.startsWith(base + '/access-requests?user_id=erin&access_request_id='), link);
  await page.goto(link);
  const row = page.locator('tr.highlight').first();
  assert.match(await row.textContent(), /Investigating the overnight replication alert/);
  await shoot(page, 'request-from-email');
  await Promise.all([page.waitForNavigation(), row.getByRole('button', { name: /Approve/ }).click()]);
  assert.match(await page.textContent('.flash'), /The request was approved/);
  assert.equal((await page.textContent('a.bell')).trim(), '0');
  await shoot(page, 'request-approved');

  const rights = await api('/v1/users/erin/rights', env.REVIEWER);
  const prod = rights.items.find((r) => r.resource === 'prod-db');
  assert.equal(prod.state.state, 'active', JSON.stringify(prod));
  // The outcome email goes out with the next tick of the runtime (every second here).
  let outcome;
  for (let i = 0; i < 50 && !outcome; i++) {
    outcome = emails().find((m) => m.to === 'erin@example.com' && /restored/.test(m.subject));
    if (!outcome) await new Promise((r) => setTimeout(r, 200));
  }
  assert.ok(outcome, 'erin is emailed the outcome');
  assert.match(outcome.text, /approved/);
  await ctx.close();
});

test('an admin previews a new duration with the picker, saves it, and finds it in the audit log', async () => {
  const ctx = await context();
  const page = await signIn(ctx, 'ada', 'ada');
  await page.goto(`${base}/resources/gitlab`);
  await shoot(page, 'resource');
  await page.selectOption('#auto_lock_after', { label: '1 day' });
  await Promise.all([page.waitForNavigation(), page.click('button:has-text("Preview the change")')]);
  assert.ok(await page.isVisible('h2:has-text("Preview of the change")'));
  assert.match(await page.textContent('main'), /would lock within a day/);
  // Nothing is saved yet.
  const before = await api('/v1/resources/gitlab', env.ADMIN);
  assert.equal(before.policy.auto_lock_after, '30d');
  await shoot(page, 'resource-preview');
  await Promise.all([page.waitForNavigation(), page.click('button:has-text("Save the change")')]);
  assert.match(await page.textContent('.flash'), /Saved: the new policy is in force/);
  const saved = await api('/v1/resources/gitlab', env.ADMIN);
  assert.equal(saved.policy.auto_lock_after, '1d');

  await page.goto(`${base}/audit?target=gitlab`);
  const changed = page.locator('tbody tr', { hasText: 'policy.duration_changed' }).last();
  assert.match(await changed.textContent(), /30d → 1d/);
  assert.match(await changed.textContent(), /ada/);
  await shoot(page, 'audit');
  await ctx.close();
});

test("a group's options menu sets an override and an expiry", async () => {
  const ctx = await context();
  const page = await signIn(ctx, 'ada', 'ada-options');
  await page.goto(`${base}/resources/prod-db`);
  await page.click('summary[aria-label="Options of oncall"]');
  await page.selectOption('#g-oncall-approval', 'automatic');
  await page.fill('#g-oncall-expires', '2026-06-30');
  await shoot(page, 'resource-group-options');
  await Promise.all([
    page.waitForNavigation(),
    page.locator('form[action="/resources/prod-db/grants/oncall"] button[value=save]').click(),
  ]);
  assert.match(await page.textContent('.flash'), /Saved the group's access/);
  const row = await page.locator('tr', { hasText: 'oncall' }).first().textContent();
  assert.match(row, /automatic/);
  assert.doesNotMatch(row, /automatic\s*inherited/);
  assert.match(row, /2026-06-30/);
  const grant = await api('/v1/resources/prod-db/grants/oncall', env.ADMIN);
  assert.equal(grant.policy_override.approval, 'automatic');
  assert.equal(grant.expires_at, '2026-06-30T00:00:00Z');
  await ctx.close();
});

test('a member sees only their own access and is refused the Requests page', async () => {
  const ctx = await context(true);
  const page = await signIn(ctx, 'bob', 'bob');
  assert.equal(new URL(page.url()).pathname, '/me');
  const nav = await page.locator('header nav a').allTextContents();
  assert.deepEqual(nav, ['My access']);
  assert.equal(await page.locator('a.bell').count(), 0);
  const main = await page.textContent('main');
  assert.match(main, /prod-db/);
  for (const other of ['erin', 'dave', 'Investigating']) assert.ok(!main.includes(other), other);
  await shoot(page, 'me-phone');
  const refused = await page.goto(`${base}/access-requests`);
  assert.ok([403, 404].includes(refused.status()), `status ${refused.status()}`);
  assert.ok(!(await page.content()).includes('Investigating'));
  await shoot(page, 'member-refused');
  await ctx.close();
});

test('a locked member asks for access from My access: automatic goes on, manual waits', async () => {
  const ctx = await context();
  const page = await signIn(ctx, 'dave', 'dave');
  assert.equal(new URL(page.url()).pathname, '/me');
  await shoot(page, 'me-locked');
  // grafana: automatic approval.
  await page.fill('#reason-grafana', 'Checking the dashboards after the release');
  await Promise.all([page.waitForNavigation(), page.click('form:has(#reason-grafana) button')]);
  assert.match(await page.textContent('.flash'), /Access is restored: reconnect to continue/);
  // gitlab: manual approval.
  await page.fill('#reason-gitlab', 'Reviewing a merge request');
  await Promise.all([page.waitForNavigation(), page.click('form:has(#reason-gitlab) button')]);
  assert.match(await page.textContent('.flash'), /sent to the approvers/);
  const row = await page.locator('tr', { hasText: 'Reviewing a merge request' }).textContent();
  assert.match(row, /open/);
  assert.match(await page.textContent('main'), /Your request is waiting for an approver/);
  await shoot(page, 'me-requested');
  const rights = await api('/v1/users/dave/rights', env.REVIEWER);
  assert.equal(rights.items.find((r) => r.resource === 'grafana').state.state, 'active');
  assert.equal(rights.items.find((r) => r.resource === 'gitlab').state.state, 'locked');
  await ctx.close();
});

test('a form posted without its CSRF token changes nothing', async () => {
  const ctx = await context();
  const page = await signIn(ctx, 'ada', 'ada-csrf');
  await page.goto(`${base}/users/carol`);
  await page.evaluate(() => document.querySelector('form[action="/users/carol/active"] input[name=csrf]').remove());
  const [answer] = await Promise.all([page.waitForNavigation(), page.click('button:has-text("Deactivate")')]);
  assert.equal(answer.status(), 403);
  assert.match(await page.textContent('main'), /nothing was changed/);
  await shoot(page, 'csrf-refused');
  const carol = await api('/v1/users/carol', env.ADMIN);
  assert.equal(carol.active, true);
  await ctx.close();
});

test('every page renders for an admin, on a laptop and on a phone', async () => {
  for (const phone of [false, true]) {
    const ctx = await context(phone);
    const page = await signIn(ctx, 'ada', phone ? 'ada-phone' : 'ada-pages');
    for (const [name, path] of [
      ['requests', '/access-requests'],
      ['resources', '/resources'],
      ['resource-prod-db', '/resources/prod-db'],
      ['groups', '/groups'],
      ['group', '/groups/oncall'],
      ['users', '/users'],
      ['user', '/users/erin'],
      ['settings', '/settings/notifications'],
      ['audit-all', '/audit'],
      ['me-admin', '/me'],
      ['policies', '/policies'],
    ]) {
      const answer = await page.goto(base + path);
      assert.equal(answer.status(), 200, path);
      // No control without a label, no element wider than the screen.
      const unlabelled = await page.$$eval('main select, main input:not([type=hidden]), main textarea', (els) =>
        els.filter((e) => !(e.labels && e.labels.length) && !e.getAttribute('aria-label')).map((e) => e.outerHTML),
      );
      assert.deepEqual(unlabelled, [], `${path}: controls without a label`);
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      assert.ok(overflow <= 1, `${path} is ${overflow}px wider than the screen`);
      await shoot(page, phone ? `${name}-phone` : name);
    }
    await ctx.close();
  }
  // The sign-in page, without a session.
  const ctx = await context();
  const page = await ctx.newPage();
  await page.goto(`${base}/sign-in`);
  await shoot(page, 'sign-in');
  await ctx.close();
});

test('a DevOps admin exempts a user from auto-lock until a date and ends it early', async () => {
  const ctx = await context();
  const page = await signIn(ctx, 'dev', 'dev-exempt');
  await page.goto(`${base}/users/carol`);
  await page.click('summary:has-text("Exempt from auto-lock")');
  await page.selectOption('#ex-resource', 'gitlab');
  await page.fill('#ex-until', '2026-02-15T18:00');
  await page.fill('#ex-reason', 'Auditing the release pipeline until mid-February');
  await shoot(page, 'user-exemption-form');
  await Promise.all([page.waitForNavigation(), page.click('form[action="/exemptions"] button[type=submit]')]);
  assert.match(await page.textContent('.flash'), /The exemption is set/);
  const access = await page.locator('tr', { hasText: 'contractors' }).first().textContent();
  assert.match(access, /exempt until 2026-02-15 18:00 UTC/);
  await shoot(page, 'user-exempt');
  const listed = await api('/v1/exemptions?user_id=carol', env.REVIEWER);
  assert.equal(listed.items.length, 1);
  assert.equal(listed.items[0].reason, 'Auditing the release pipeline until mid-February');

  await page.goto(`${base}/resources/gitlab`);
  await shoot(page, 'resource-exemptions');
  await Promise.all([
    page.waitForNavigation(),
    page.click('button[aria-label^="End the exemption"]'),
  ]);
  assert.match(await page.textContent('.flash'), /Exemption ended/);
  assert.equal((await api('/v1/exemptions?user_id=carol', env.REVIEWER)).items.length, 0);
  await ctx.close();
});
