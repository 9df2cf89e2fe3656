// Single sign-on to the console in a real browser, against a real OpenID provider: npm's
// `oidc-provider` on loopback (tests/browser/oidc-provider.mjs), and `autolock serve --demo`
// configured with AUTOLOCK_OIDC_ISSUER, AUTOLOCK_OIDC_CLIENT_ID and
// AUTOLOCK_OIDC_CLIENT_SECRET_FILE. Run by scripts/browser, which also sets OIDC_PROVIDER.
// Screenshots land in SCREENSHOTS as `sso-*.png`.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { freePort, waitFor } from './harness.mjs';
import { CLIENT_ID, CLIENT_SECRET, signInAtProvider, startProvider } from './oidc-provider.mjs';

const { chromium } = await import(process.env.PLAYWRIGHT_CORE);
const shots = process.env.SCREENSHOTS;

let dir, server, base, env, browser, provider, providerPort, callback;

function demoEnv() {
  const out = {};
  for (const line of readFileSync(join(dir, 'autolock-demo.env'), 'utf8').split('\n')) {
    const m = line.match(/^export (\w+)=(.*)$/);
    if (m) out[m[1]] = m[2];
  }
  return out;
}

async function api(path, token, init = {}) {
  const r = await fetch(base + path, {
    ...init,
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json', ...(init.headers || {}) },
  });
  return { status: r.status, body: await r.json().catch(() => null) };
}

async function shoot(page, name) {
  await page.screenshot({ path: join(shots, `sso-${name}.png`), fullPage: true });
}

/** From the console's sign-in page through "Sign in with SSO" to the provider's login page. */
async function toProvider(ctx) {
  const page = await ctx.newPage();
  await page.goto(`${base}/sign-in`);
  await Promise.all([page.waitForNavigation(), page.click('#sso')]);
  assert.ok(page.url().startsWith(provider.issuer), `at the provider: ${page.url()}`);
  return page;
}

/** Where the console's `/sign-in/oidc` sends `ctx` (its flow cookie kept in `ctx`). */
async function authorizeUrl(ctx) {
  const r = await ctx.request.get(`${base}/sign-in/oidc`, { maxRedirects: 0 });
  assert.equal(r.status(), 303);
  return new URL(r.headers().location);
}

/**
 * At the provider's consent page: gives consent without following the provider back, and
 * returns the callback URL (with its code and state) the browser would be sent to.
 */
async function answerFor(ctx, page) {
  const action = await page.$eval('form', (f) => f.action);
  let r = await ctx.request.post(action, { form: { prompt: 'consent' }, maxRedirects: 0 });
  let location = r.headers().location;
  while (location && !location.startsWith(callback)) {
    r = await ctx.request.get(new URL(location, provider.issuer).toString(), { maxRedirects: 0 });
    location = r.headers().location;
  }
  assert.ok(location, 'the provider sends the browser back');
  return new URL(location);
}

/** Logs in at the provider as `login` and stops at its consent page. */
async function loginOnly(page, login) {
  await page.fill('input[name=login]', login);
  await page.fill('input[name=password]', 'any password');
  await Promise.all([page.waitForNavigation(), page.click('button[type=submit]')]);
  assert.ok(await page.isVisible('button:has-text("Continue")'), 'the consent page');
}

/** Signs in with SSO as `login` in a fresh browser context; the page where it lands. */
async function signInWithSso(login) {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await toProvider(ctx);
  await signInAtProvider(page, login);
  return { ctx, page };
}

/** Whether the context has a console session: `/` answers a console page, not the sign-in. */
async function signedIn(page) {
  await page.goto(`${base}/access-requests`);
  return new URL(page.url()).pathname === '/access-requests';
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'autolock-sso-'));
  const port = await freePort();
  providerPort = await freePort();
  base = `http://127.0.0.1:${port}`;
  callback = `${base}/sign-in/oidc/callback`;
  provider = await startProvider({ port: providerPort, redirectUri: callback });
  writeFileSync(join(dir, 'client-secret'), `${CLIENT_SECRET}\n`, { mode: 0o600 });
  server = spawn(
    process.env.AUTOLOCK_BIN,
    [
      'serve', '--demo', '--clock', 'manual', '--start', '2026-01-01T00:00:00Z',
      '--listen', `127.0.0.1:${port}`, '--sweep-interval', '1s',
    ],
    {
      cwd: dir,
      stdio: ['ignore', 'ignore', 'pipe'],
      env: {
        ...process.env,
        AUTOLOCK_LOG: 'warn',
        AUTOLOCK_OIDC_ISSUER: provider.issuer,
        AUTOLOCK_OIDC_CLIENT_ID: CLIENT_ID,
        AUTOLOCK_OIDC_CLIENT_SECRET_FILE: join(dir, 'client-secret'),
      },
    },
  );
  server.stderr.on('data', (d) => process.stderr.write(d));
  await waitFor(`${base}/v1/openapi.json`);
  for (let i = 0; i < 100; i++) {
    try {
      env = demoEnv();
      if (env.ADMIN) break;
    } catch {}
    await new Promise((r) => setTimeout(r, 100));
  }
  browser = await chromium.launch({ executablePath: process.env.CHROMIUM, args: ['--no-sandbox'] });
});

after(async () => {
  await browser?.close();
  server?.kill();
  await provider?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('a reviewer signs in with SSO and approves erin\'s request; the sign-in is audited', async () => {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await ctx.newPage();
  await page.goto(`${base}/sign-in`);
  assert.ok(await page.isVisible('a#sso:has-text("Sign in with SSO")'));
  assert.ok(await page.isVisible('button:has-text("Email me a sign-in link")'), 'links stay the fallback');
  await shoot(page, 'sign-in-page');
  await Promise.all([page.waitForNavigation(), page.click('#sso')]);
  const authorize = new URL(page.url());
  assert.equal(authorize.origin, provider.issuer);
  await shoot(page, 'provider-login');
  // What goes to the provider: the code flow with PKCE S256, a state and a nonce.
  const probe = await browser.newContext();
  const sent = await authorizeUrl(probe);
  await probe.close();
  assert.equal(sent.searchParams.get('response_type'), 'code');
  assert.equal(sent.searchParams.get('code_challenge_method'), 'S256');
  assert.equal(sent.searchParams.get('client_id'), CLIENT_ID);
  assert.equal(sent.searchParams.get('redirect_uri'), callback);
  assert.match(sent.searchParams.get('scope'), /openid/);
  assert.ok(sent.searchParams.get('state')?.length >= 16 && sent.searchParams.get('nonce')?.length >= 16);

  await signInAtProvider(page, 'rita');
  assert.equal(new URL(page.url()).pathname, '/access-requests');
  assert.match(await page.textContent('header .who'), /Rita Reviewer · access reviewer/);
  const row = page.locator('tr', { hasText: 'Investigating the overnight replication alert' }).first();
  await shoot(page, 'signed-in');
  await Promise.all([page.waitForNavigation(), row.getByRole('button', { name: /Approve/ }).click()]);
  assert.match(await page.textContent('.flash'), /The request was approved/);
  await shoot(page, 'approved');

  const rights = await api('/v1/users/erin/rights', env.REVIEWER);
  assert.equal(rights.body.items.find((r) => r.resource === 'prod-db').state.state, 'active');
  const audit = await api('/v1/audit?action=session.signed_in&limit=50', env.ADMIN);
  const entry = audit.body.items.find((e) => e.user === 'rita' && e.details?.method === 'oidc');
  assert.ok(entry, JSON.stringify(audit.body.items.slice(0, 3)));
  assert.equal(entry.details.issuer, provider.issuer);
  await ctx.close();
});

test('someone the directory does not know is told so and gets no session', async () => {
  const { ctx, page } = await signInWithSso('nobody');
  assert.match(await page.textContent('h1'), /No autolock account/);
  assert.match(await page.textContent('main, body'), /no autolock user has the address nobody@example\.com/);
  await shoot(page, 'unknown');
  assert.equal(await signedIn(page), false);
  await ctx.close();
});

test('an address the provider does not vouch for, and a deactivated user, are refused', async () => {
  const unverified = await signInWithSso('carol.unverified');
  assert.match(await unverified.page.textContent('h1'), /No autolock account/);
  assert.match(await unverified.page.textContent('body'), /does not vouch for the address carol@example\.com/);
  await shoot(unverified.page, 'unverified');
  assert.equal(await signedIn(unverified.page), false);
  await unverified.ctx.close();

  const off = await api('/v1/users/dave', env.ADMIN, { method: 'PATCH', body: JSON.stringify({ active: false }) });
  assert.equal(off.status, 200, JSON.stringify(off.body));
  const dave = await signInWithSso('dave');
  assert.match(await dave.page.textContent('h1'), /Account deactivated/);
  await shoot(dave.page, 'deactivated');
  assert.equal(await signedIn(dave.page), false);
  await dave.ctx.close();
  await api('/v1/users/dave', env.ADMIN, { method: 'PATCH', body: JSON.stringify({ active: true }) });
});

test('after the first sign-in, the provider\'s subject finds the user even when the addresses differ; an admin ends that session', async () => {
  const first = await signInWithSso('bob');
  assert.match(await first.page.textContent('header .who'), /Bob Builder · member/);
  await first.ctx.close();
  const moved = await api('/v1/users/bob', env.ADMIN, {
    method: 'PATCH',
    body: JSON.stringify({ email: 'bob.b@example.com' }),
  });
  assert.equal(moved.status, 200, JSON.stringify(moved.body));
  // The provider still says bob@example.com, which is nobody's address in autolock now.
  const again = await signInWithSso('bob');
  assert.equal(new URL(again.page.url()).pathname, '/me', await again.page.textContent('body'));
  assert.match(await again.page.textContent('header .who'), /Bob Builder · member/);
  // An admin ends bob's sessions: this one, opened by single sign-on, ends too.
  const ended = await api('/v1/users/bob/sessions/end', env.ADMIN, { method: 'POST' });
  assert.ok(ended.status < 300, JSON.stringify(ended));
  assert.equal(await signedIn(again.page), false, 'signed out by the admin');
  await again.ctx.close();
  await api('/v1/users/bob', env.ADMIN, { method: 'PATCH', body: JSON.stringify({ email: 'bob@example.com' }) });
});

test('a tampered state is refused', async () => {
  const ctx = await browser.newContext();
  const page = await ctx.newPage();
  await page.goto((await authorizeUrl(ctx)).toString());
  await loginOnly(page, 'rita');
  const answer = await answerFor(ctx, page);
  answer.searchParams.set('state', 'a-state-of-somebody-else');
  await page.goto(answer.toString());
  assert.match(await page.textContent('h1'), /Sign-in not completed/);
  assert.match(await page.textContent('body'), /its state differs/);
  await shoot(page, 'tampered-state');
  assert.equal(await signedIn(page), false);
  await ctx.close();
});

test('a replayed code is refused: the answer used again, and the code in another sign-in', async () => {
  const ctx = await browser.newContext();
  const page = await ctx.newPage();
  await page.goto((await authorizeUrl(ctx)).toString());
  const flow = (await ctx.cookies()).find((c) => c.name === 'autolock_sign_on');
  assert.ok(flow, 'the flow is kept in a cookie');
  await loginOnly(page, 'rita');
  const answer = await answerFor(ctx, page);
  await page.goto(answer.toString());
  assert.equal(new URL(page.url()).pathname, '/access-requests', 'the first use signs in');

  // The same answer again, even with the flow's cookie put back: refused before the provider
  // is asked, and no session.
  const other = await browser.newContext();
  await other.addCookies([flow]);
  const again = await other.newPage();
  await again.goto(answer.toString());
  assert.match(await again.textContent('h1'), /Sign-in already completed/);
  await shoot(again, 'replayed-answer');
  assert.equal(await signedIn(again), false);

  // The code in a sign-in started afresh (its own state and verifier): the provider refuses it.
  const third = await browser.newContext();
  const state = (await authorizeUrl(third)).searchParams.get('state');
  const replay = new URL(callback);
  replay.searchParams.set('code', answer.searchParams.get('code'));
  replay.searchParams.set('state', state);
  const second = await third.newPage();
  await second.goto(replay.toString());
  assert.match(await second.textContent('h1'), /Sign-in refused/);
  assert.match(await second.textContent('body'), /refused the code/);
  await shoot(second, 'replayed-code');
  assert.equal(await signedIn(second), false);
  await third.close();
  await other.close();
  await ctx.close();
});

test('an ID token with another nonce is refused', async () => {
  const ctx = await browser.newContext();
  const page = await ctx.newPage();
  // The authorization request is changed on its way to the provider: the ID token it issues
  // carries a nonce that is not the one this browser's sign-in kept.
  const authorize = await authorizeUrl(ctx);
  authorize.searchParams.set('nonce', 'a-nonce-of-somebody-else');
  await page.goto(authorize.toString());
  await signInAtProvider(page, 'rita');
  assert.match(await page.textContent('h1'), /Sign-in refused/);
  assert.match(await page.textContent('body'), /nonce/i);
  await shoot(page, 'wrong-nonce');
  assert.equal(await signedIn(page), false);
  await ctx.close();
});

test('a key rotation at the provider is followed (RS256 to ES256), and sign out everywhere ends SSO sessions', async () => {
  const first = await signInWithSso('rita');
  assert.equal(new URL(first.page.url()).pathname, '/access-requests');
  const oldKid = provider.kid;
  await provider.close();
  provider = await startProvider({ port: providerPort, redirectUri: callback, alg: 'ES256' });
  assert.notEqual(provider.kid, oldKid);
  const second = await signInWithSso('rita');
  assert.equal(new URL(second.page.url()).pathname, '/access-requests', await second.page.textContent('body'));
  await shoot(second.page, 'after-rotation');

  // Signing out everywhere from one browser ends the other's session too.
  await second.page.goto(`${base}/me`);
  await Promise.all([
    second.page.waitForNavigation(),
    second.page.click('button:has-text("Sign out everywhere")'),
  ]);
  assert.equal(await signedIn(first.page), false, 'the first browser is signed out');
  await first.ctx.close();
  await second.ctx.close();
});

test('an admin turns sign-in links off: the sign-in page offers SSO alone, and links are refused', async () => {
  // A sign-in page opened before the change.
  const early = await browser.newContext();
  const before = await early.newPage();
  await before.goto(`${base}/sign-in`);
  const put = await api('/v1/settings/sign-in', env.ADMIN, {
    method: 'PUT',
    body: JSON.stringify({ email_links: false }),
  });
  assert.equal(put.status, 200, JSON.stringify(put.body));
  const ctx = await browser.newContext();
  const page = await ctx.newPage();
  await page.goto(`${base}/sign-in`);
  assert.ok(await page.isVisible('#sso'));
  assert.equal(await page.isVisible('button:has-text("Email me a sign-in link")'), false);
  await shoot(page, 'links-off');
  await before.fill('#email', 'rita@example.com');
  await Promise.all([before.waitForNavigation(), before.click('button:has-text("Email me a sign-in link")')]);
  assert.match(await before.textContent('h1'), /Sign-in links are off/);
  await early.close();
  const audit = await api('/v1/audit?action=settings.sign_in_changed', env.ADMIN);
  assert.equal(audit.body.items[0]?.details?.after?.email_links, false);
  const back = await api('/v1/settings/sign-in', env.ADMIN, {
    method: 'PUT',
    body: JSON.stringify({ email_links: true }),
  });
  assert.equal(back.status, 200);
  await ctx.close();
});
