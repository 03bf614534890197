// A real OpenID provider for the sign-in tests: npm's oidc-provider (installed, pinned, by
// `make oidc-provider` into var/oidc-provider/), started by tests/support/oidc.py.
//
// It is the published provider, unmodified: discovery, the authorization endpoint, the token
// endpoint (client_secret_basic), signed ID tokens (RS256, a key made at start), JWKS and
// userinfo are all its own. The only project code here is its configuration: one
// confidential client, and the accounts, read from a JSON file on every look-up so a test
// can change someone's groups between two sign-ins:
//   {"alice": {"groups": ["sre-approvers"], "email": "alice@example.test"}, ...}
// The login page is the provider's own development sign-in form (any password); an
// unknown login is refused.
//
// Environment: OIDC_TEST_PORT, OIDC_TEST_CLIENT_ID, OIDC_TEST_CLIENT_SECRET,
// OIDC_TEST_REDIRECT_URIS (space-separated), OIDC_TEST_ACCOUNTS (the JSON file),
// OIDC_PROVIDER_DIR (where make installed the package).

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const dir = process.env.OIDC_PROVIDER_DIR;
const load = (pkg, file) => import(pathToFileURL(join(dir, 'node_modules', pkg, file)).href);
const { default: Provider } = await load('oidc-provider', 'lib/index.js');
const jose = await load('jose', 'dist/webapi/index.js');

const port = Number(process.env.OIDC_TEST_PORT);
const issuer = `http://127.0.0.1:${port}`;

function accounts() {
  return JSON.parse(readFileSync(process.env.OIDC_TEST_ACCOUNTS, 'utf8'));
}

const { privateKey } = await jose.generateKeyPair('RS256', { extractable: true });
const signingKey = { ...(await jose.exportJWK(privateKey)), kid: 'test-signing', use: 'sig', alg: 'RS256' };

const provider = new Provider(issuer, {
  clients: [
    {
      client_id: process.env.OIDC_TEST_CLIENT_ID,
      client_secret: process.env.OIDC_TEST_CLIENT_SECRET,
      redirect_uris: process.env.OIDC_TEST_REDIRECT_URIS.split(' '),
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_post',
    },
  ],
  jwks: { keys: [signingKey] },
  cookies: { keys: ['test-cookie-key-not-a-secret'] },
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['name', 'preferred_username'],
    groups: ['groups'],
  },
  scopes: ['openid', 'email', 'profile', 'groups'],
  pkce: { required: () => false },
  features: { devInteractions: { enabled: true } },
  // First-party client: its scopes need no consent screen (the provider's documented way).
  async loadExistingGrant(ctx) {
    const grantId = ctx.oidc.result?.consent?.grantId
      || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
    if (grantId) {
      return ctx.oidc.provider.Grant.find(grantId);
    }
    const grant = new ctx.oidc.provider.Grant({
      clientId: ctx.oidc.client.clientId,
      accountId: ctx.oidc.session.accountId,
    });
    grant.addOIDCScope('openid email profile groups');
    grant.addOIDCClaims(['email', 'email_verified', 'name', 'preferred_username', 'groups']);
    await grant.save();
    return grant;
  },
  async findAccount(ctx, id) {
    const account = accounts()[id];
    if (!account) {
      return undefined;
    }
    return {
      accountId: id,
      async claims() {
        return {
          sub: id,
          email: account.email,
          email_verified: true,
          name: account.name || id,
          preferred_username: account.preferred_username || id,
          groups: account.groups,
        };
      },
    };
  },
});
provider.on('server_error', (ctx, err) => console.error('server_error', err));

provider.listen(port, '127.0.0.1', () => {
  console.log(`oidc-provider ${issuer} ready`);
});
