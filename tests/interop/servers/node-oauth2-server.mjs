// @node-oauth/oauth2-server on loopback for tokenprobe's interop run. The
// library is a framework: it answers a token request through a model the
// application writes, and serves no metadata. This file is that
// application, as small as the library's documentation shows it: two
// client-credentials clients (client_secret_basic, client_secret_post),
// tokens kept in memory, the scope a client asked for checked against its
// own (the model's validateScope), errors written as the library's
// express adapter writes them. PORT and the secrets come from the
// environment (scripts/interop.sh).
import { createServer } from 'node:http';
import OAuth2Server from '@node-oauth/oauth2-server';

const { Request, Response } = OAuth2Server;
const port = Number(process.env.PORT);
const clients = new Map(
  [
    ['basic-client', process.env.BASIC_SECRET],
    ['post-client', process.env.POST_SECRET],
  ].map(([id, secret]) => [id, { id, secret, grants: ['client_credentials'], scopes: ['api:read'] }]),
);
const tokens = new Map();
const model = {
  async getClient(id, secret) {
    const client = clients.get(id);
    return client && client.secret === secret ? client : null;
  },
  async getUserFromClient(client) {
    return { id: client.id };
  },
  async saveToken(token, client, user) {
    const saved = { ...token, client, user };
    tokens.set(token.accessToken, saved);
    return saved;
  },
  async validateScope(user, client, scope) {
    const asked = scope ?? [];
    return asked.every((s) => client.scopes.includes(s)) ? asked : false;
  },
};
const oauth = new OAuth2Server({ model, accessTokenLifetime: 3600 });

createServer((req, res) => {
  const url = new URL(req.url, `http://127.0.0.1:${port}`);
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', async () => {
    if (url.pathname !== '/token') {
      res.writeHead(404).end();
      return;
    }
    const form = Object.fromEntries(new URLSearchParams(Buffer.concat(chunks).toString()));
    const request = new Request({
      method: req.method,
      headers: req.headers,
      query: Object.fromEntries(url.searchParams),
      body: form,
    });
    const response = new Response({ headers: {} });
    try {
      await oauth.token(request, response);
      res.writeHead(response.status, { 'content-type': 'application/json', ...response.headers });
      res.end(JSON.stringify(response.body));
    } catch (e) {
      res.writeHead(e.code ?? 500, { 'content-type': 'application/json', ...response.headers });
      res.end(JSON.stringify({ error: e.name, error_description: e.message }));
    }
  });
}).listen(port, '127.0.0.1', () => {
  console.log(`node-oauth2-server listening on http://127.0.0.1:${port}`);
});
