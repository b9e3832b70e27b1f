// panva/node-oidc-provider on loopback for tokenprobe's interop run:
// client-credentials clients for client_secret_basic, client_secret_post,
// client_secret_jwt, private_key_jwt (the stub's public demo keys), a
// DPoP-bound one (RFC 9449, with nonces), and a tls_client_auth one (RFC
// 8705) served on a second, HTTPS port that asks for client certificates,
// published as the mtls_endpoint_aliases token endpoint. PORT, MTLS_PORT,
// the secrets and the certificate files come from the environment
// (scripts/interop.sh).
import { createServer } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import { createPublicKey, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import Provider from 'oidc-provider';

const port = Number(process.env.PORT);
const mtlsPort = Number(process.env.MTLS_PORT);
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
    {
      ...common,
      client_id: 'mtls-client',
      token_endpoint_auth_method: 'tls_client_auth',
      tls_client_auth_subject_dn: 'CN=tokenprobe-demo-mtls',
      tls_client_certificate_bound_access_tokens: true,
    },
  ],
  discovery: {
    mtls_endpoint_aliases: { token_endpoint: `https://127.0.0.1:${mtlsPort}/token` },
  },
  scopes: ['api:read'],
  clientAuthMethods: ['client_secret_basic', 'client_secret_post', 'client_secret_jwt', 'private_key_jwt', 'tls_client_auth', 'none'],
  features: {
    clientCredentials: { enabled: true },
    // A nonce secret makes the server ask every proof for its nonce (§8).
    dPoP: { enabled: true, nonceSecret: randomBytes(32) },
    mTLS: {
      enabled: true,
      tlsClientAuth: true,
      certificateBoundAccessTokens: true,
      // The certificate the TLS socket verified against the client CA.
      getCertificate(ctx) {
        const peer = ctx.socket.getPeerCertificate?.();
        if (!peer?.raw) return undefined;
        const b64 = peer.raw.toString('base64').match(/.{1,64}/g).join('\n');
        return `-----BEGIN CERTIFICATE-----\n${b64}\n-----END CERTIFICATE-----\n`;
      },
      certificateAuthorized(ctx) {
        return ctx.socket.authorized === true;
      },
      certificateSubjectMatches(ctx, property, expected) {
        const subject = ctx.socket.getPeerCertificate?.()?.subject ?? {};
        return property === 'tls_client_auth_subject_dn' && expected === `CN=${subject.CN}`;
      },
    },
    devInteractions: { enabled: false },
  },
});
createServer(provider.callback()).listen(port, '127.0.0.1', () => {
  console.log(`oidc-provider listening on ${issuer}`);
});
createTlsServer(
  {
    key: readFileSync(process.env.SERVER_KEY),
    cert: readFileSync(process.env.SERVER_CERT),
    ca: readFileSync(process.env.CLIENT_CA),
    requestCert: true,
    rejectUnauthorized: false,
  },
  provider.callback(),
).listen(mtlsPort, '127.0.0.1');
