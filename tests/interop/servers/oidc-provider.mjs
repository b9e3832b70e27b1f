// panva/node-oidc-provider on loopback for tokenprobe's interop run:
// client-credentials clients for client_secret_basic, client_secret_post,
// client_secret_jwt, private_key_jwt (the stub's public demo keys), and a
// DPoP-bound one (RFC 9449, with nonces). PORT and the secrets come from
// the environment (scripts/interop.sh).
import { createServer } from 'node:http';
import { createPublicKey, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import Provider from 'oidc-provider';

const port = Number(process.env.PORT);
const issuer = `http://127.0.0.1:${port}`;
const publicJwk = (file) => createPublicKey(readFileSync(file)).export({ format: 'jwk' });
const common = {
  grant_types: ['client_credentials'],
  redirect_uris: [],
  response_types: [],
  scope: 'api:read',
};
const provider = new Provider(issuer, {
  clients: [
    { ...common, client_id: 'basic-client', client_secret: process.env.BASIC_SECRET, token_endpoint_auth_method: 'client_secret_basic' },
    { ...common, client_id: 'post-client', client_secret: process.env.POST_SECRET, token_endpoint_auth_method: 'client_secret_post' },
    {
      ...common,
      client_id: 'key-client',
      token_endpoint_auth_method: 'private_key_jwt',
      jwks: { keys: [publicJwk(process.env.ES256_PUB), publicJwk(process.env.RS256_PUB)] },
    },
    { ...common, client_id: 'jwt-client', client_secret: process.env.JWT_SECRET, token_endpoint_auth_method: 'client_secret_jwt' },
    {
      ...common,
      client_id: 'dpop-client',
      client_secret: process.env.DPOP_SECRET,
      token_endpoint_auth_method: 'client_secret_basic',
      dpop_bound_access_tokens: true,
    },
  ],
  scopes: ['api:read'],
  features: {
    clientCredentials: { enabled: true },
    // A nonce secret makes the server ask every proof for its nonce (§8).
    dPoP: { enabled: true, nonceSecret: randomBytes(32) },
    devInteractions: { enabled: false },
  },
});
createServer(provider.callback()).listen(port, '127.0.0.1', () => {
  console.log(`oidc-provider listening on ${issuer}`);
});
