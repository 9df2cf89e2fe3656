// A real OpenID provider on loopback for the browser tests: npm's `oidc-provider` (a certified
// implementation), with its development login and consent pages. Any login name signs in as the
// account of that name, whose address is `<name>@example.com` (verified); a login name ending in
// `.unverified` has the address of the name before it, not verified. Its signing key is made
// at each start, RSA (RS256) or P-256 (ES256): starting it again on the same port is a key
// rotation as the console sees it.

import { generateKeyPairSync, randomUUID } from 'node:crypto';

const { default: Provider } = await import(process.env.OIDC_PROVIDER);

export const CLIENT_ID = 'autolock-console';
export const CLIENT_SECRET = 'a-client-secret-for-the-browser-tests';

/** A fresh signing key as a private JWK: `RS256` or `ES256`. */
function signingKey(alg) {
  const { privateKey } =
    alg === 'ES256'
      ? generateKeyPairSync('ec', { namedCurve: 'P-256' })
      : generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { ...privateKey.export({ format: 'jwk' }), kid: randomUUID(), alg, use: 'sig' };
}

/**
 * Starts the provider at `http://127.0.0.1:<port>` for a client that returns to `redirectUri`,
 * signing ID tokens with a new key of `alg`. Resolves to {issuer, kid, close()}.
 */
export async function startProvider({ port, redirectUri, alg = 'RS256' }) {
  const issuer = `http://127.0.0.1:${port}`;
  const key = signingKey(alg);
  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: CLIENT_ID,
        client_secret: CLIENT_SECRET,
        redirect_uris: [redirectUri],
        response_types: ['code'],
        grant_types: ['authorization_code'],
        token_endpoint_auth_method: 'client_secret_basic',
        id_token_signed_response_alg: alg,
      },
    ],
    jwks: { keys: [key] },
    pkce: { methods: ['S256'], required: () => true },
    claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'] },
    // The scopes' claims in the ID token too, as Okta, Entra ID, Google and Keycloak put them.
    conformIdTokenClaims: false,
    findAccount: async (_ctx, id) => {
      const name = id.replace(/\.unverified$/, '');
      return {
        accountId: id,
        claims: async () => ({
          sub: `sub-${id}`,
          email: `${name}@example.com`,
          email_verified: name === id,
          name,
        }),
      };
    },
    cookies: { keys: ['a-cookie-key-for-the-browser-tests'] },
    features: { devInteractions: { enabled: true } },
    ttl: { AuthorizationCode: 60, IdToken: 300, AccessToken: 300, Interaction: 600, Session: 600, Grant: 600 },
  });
  // The development pages warn on stderr; the tests read their own output.
  provider.on('server_error', (_ctx, err) => process.stderr.write(`oidc-provider: ${err}\n`));
  const server = provider.listen(port, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  return {
    issuer,
    kid: key.kid,
    close: () =>
      new Promise((resolve) => {
        server.close(resolve);
        server.closeAllConnections();
      }),
  };
}

/**
 * Signs in at the provider's development pages as `login` (any password) and gives consent:
 * `page` is on the provider's login page when called.
 */
export async function signInAtProvider(page, login) {
  await page.fill('input[name=login]', login);
  await page.fill('input[name=password]', 'any password');
  await Promise.all([page.waitForNavigation(), page.click('button[type=submit]')]);
  // Consent, the first time this client asks for these scopes.
  if (await page.isVisible('button:has-text("Continue")')) {
    await Promise.all([page.waitForNavigation(), page.click('button:has-text("Continue")')]);
  }
}
