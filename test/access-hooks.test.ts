import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { AccessHooks } from '../src/core/access-hooks';
import type { Extension } from '../src/core/host';
import type { SwarmNode } from '../src/node';
import { JsonClient } from './helpers/client';
import { FakeConnection } from './helpers/fake-connection';
import { eventsUrl, startNode } from './helpers/nodes';
import { upgradeStatus } from './yjs/yjs-helpers';

const req = {} as IncomingMessage;
const url = (query = '') => new URL(`http://localhost/events${query}`);

describe('access hooks', () => {
  it('lets the first authenticator that decides win, in registration order', async () => {
    const hooks = new AccessHooks();
    const ran: string[] = [];
    hooks.addAuthenticator(async () => {
      ran.push('passes');
      return undefined;
    });
    hooks.addAuthenticator(async () => {
      ran.push('refuses');
      return { ok: false, status: 403, message: 'no' };
    });
    hooks.addAuthenticator(async () => {
      ran.push('never asked');
      return { ok: true, identity: { user: 'late' } };
    });
    assert.deepEqual(await hooks.authenticate(req, url(), undefined), {
      ok: false,
      status: 403,
      message: 'no',
    });
    assert.deepEqual(ran, ['passes', 'refuses']);
  });

  it('makes each connection its own anonymous user when no authenticator decides', async () => {
    const hooks = new AccessHooks();
    hooks.addAuthenticator(async () => undefined);
    const first = await hooks.authenticate(req, url(), undefined);
    const second = await hooks.authenticate(req, url(), undefined);
    assert.ok(first.ok && second.ok);
    assert.match(first.identity.user, /^anon-/);
    assert.notEqual(first.identity.user, second.identity.user);
  });

  it('allows only what every authorizer allows, and everything with none', () => {
    const hooks = new AccessHooks();
    const conn = new FakeConnection();
    assert.equal(hooks.authorize(conn, 'write', 'r'), true);
    hooks.addAuthorizer((_conn, access) => access !== 'write');
    hooks.addAuthorizer((_conn, _access, room) => room !== 'secret');
    assert.equal(hooks.authorize(conn, 'read', 'r'), true);
    assert.equal(hooks.authorize(conn, 'write', 'r'), false);
    assert.equal(hooks.authorize(conn, 'read', 'secret'), false);
  });
});

describe('modules registering access hooks on one node', () => {
  let node: SwarmNode;
  /** Two modules, each with its own say; neither replaces the other's. */
  const gate = (name: string, param: string): Extension => ({
    name,
    install(host) {
      host.addAuthenticator(async (_req, requestUrl) =>
        requestUrl.searchParams.has(param)
          ? { ok: false, status: 403, message: `${name} says no` }
          : undefined,
      );
    },
  });

  before(async () => {
    node = await startNode({ extensions: [gate('first', 'a'), gate('second', 'b')] });
  });
  after(() => node.close());

  it('refuses an upgrade either module refuses, and lets in one neither does', async () => {
    assert.equal(await upgradeStatus(eventsUrl(node, '?a=1')), 403);
    assert.equal(await upgradeStatus(eventsUrl(node, '?b=1')), 403);
    const client = await JsonClient.connect(eventsUrl(node));
    assert.ok(client.welcome.conn);
    client.socket.close();
  });
});
