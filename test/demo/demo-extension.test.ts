import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { demoExtension } from '../../src/demo/demo-extension';
import type { SwarmNode } from '../../src/node';
import { startNode } from '../helpers/nodes';

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

/** A raw GET, so the test sees the bytes on the wire (fetch would gunzip them). */
function get(port: number, pathname: string, headers: Record<string, string> = {}, method = 'GET') {
  return new Promise<Answer>((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: pathname, headers, method }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
      );
    });
    req.on('error', reject);
    req.end();
  });
}

describe('the demo extension', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'swarmcast-demo-'));
  const script = `console.log(${JSON.stringify('x'.repeat(2000))});`;
  let node: SwarmNode;

  before(async () => {
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, 'index.html'), '<!doctype html><title>demo</title>');
    writeFileSync(path.join(dir, 'app.js'), script);
    writeFileSync(path.join(dir, 'app.css'), 'body{}');
    writeFileSync(path.join(dir, 'notes.txt'), 'not part of the page');
    node = await startNode({ extensions: [demoExtension({ dir })] });
  });

  after(async () => {
    await node.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves the page at GET / with a content security policy that allows only itself', async () => {
    const res = await get(node.port, '/?room=foo');
    assert.equal(res.status, 200);
    assert.equal(res.headers['content-type'], 'text/html; charset=utf-8');
    assert.equal(res.body.toString(), '<!doctype html><title>demo</title>');
    assert.match(String(res.headers['content-security-policy']), /default-src 'self'/);
  });

  it('serves the bundle under /demo/ with its content type, gzipped when the client accepts it', async () => {
    const plain = await get(node.port, '/demo/app.js');
    assert.equal(plain.status, 200);
    assert.equal(plain.headers['content-type'], 'text/javascript; charset=utf-8');
    assert.equal(plain.body.toString(), script);
    const zipped = await get(node.port, '/demo/app.js', { 'accept-encoding': 'gzip, br' });
    assert.equal(zipped.headers['content-encoding'], 'gzip');
    assert.ok(zipped.body.length < plain.body.length);
    assert.equal(gunzipSync(zipped.body).toString(), script);
    assert.equal((await get(node.port, '/demo/app.css')).headers['content-type'], 'text/css; charset=utf-8');
  });

  it('answers 304 when the browser already has the same file', async () => {
    const first = await get(node.port, '/demo/app.js');
    const again = await get(node.port, '/demo/app.js', { 'if-none-match': String(first.headers.etag) });
    assert.equal(again.status, 304);
    assert.equal(again.body.length, 0);
  });

  it('answers HEAD with the headers only', async () => {
    const res = await get(node.port, '/', {}, 'HEAD');
    assert.equal(res.status, 200);
    assert.equal(res.body.length, 0);
  });

  it('refuses files that are not part of the page and paths out of its folder with 404', async () => {
    for (const pathname of [
      '/demo/notes.txt',
      '/demo/missing.js',
      '/demo/index.html',
      '/demo/..%2Fpackage.json',
    ]) {
      assert.equal((await get(node.port, pathname)).status, 404, pathname);
    }
  });

  it('answers 503 with how to build the page when it was never built', async () => {
    const unbuilt = await startNode({ extensions: [demoExtension({ dir: path.join(dir, 'missing') })] });
    try {
      const res = await get(unbuilt.port, '/');
      assert.equal(res.status, 503);
      assert.match(res.body.toString(), /npm run build/);
    } finally {
      await unbuilt.close();
    }
  });
});
