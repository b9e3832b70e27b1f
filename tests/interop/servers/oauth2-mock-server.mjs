// axa-group/oauth2-mock-server on loopback for tokenprobe's interop run: a
// development server that signs JWT access tokens with an RS256 key it
// generates, and publishes discovery and a JWKS. PORT from the environment.
import { OAuth2Server } from 'oauth2-mock-server';

const server = new OAuth2Server();
await server.issuer.keys.generate('RS256');
await server.start(Number(process.env.PORT), '127.0.0.1');
console.log(`oauth2-mock-server listening on ${server.issuer.url}`);
