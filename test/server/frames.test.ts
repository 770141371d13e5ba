// A frame the server cannot read is not silently swallowed: it says why and gives the stream
// up (the real server exits, and the client can restart it) (issue 9).
import * as assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { PassThrough } from 'node:stream';
import { startServer } from '../../src/server/main';

function frame(body: object): string {
  const s = JSON.stringify(body);
  return `Content-Length: ${Buffer.byteLength(s)}\r\n\r\n${s}`;
}

describe('language server: bad frames', function () {
  this.timeout(10000);

  for (const [name, bad] of [
    ['a Content-Length that is not a number', 'Content-Length: abc\r\n\r\n{}'],
    ['no Content-Length', 'Content-Type: application/vscode-jsonrpc\r\n\r\n{}'],
    ['a Content-Length larger than the body', 'Content-Length: 99999\r\n\r\n{"jsonrpc":"2.0","method":"initialized","params":{}}'],
  ] as const) {
    it(`gives the connection up with a message on ${name}`, async () => {
      const input = new PassThrough();
      const output = new PassThrough();
      const fatal = new Promise<string>(resolve => {
        startServer({ input, output, server: { workers: 0 }, onFatal: resolve, partialMessageTimeoutMs: 100 });
      });
      input.write(bad);
      input.write(frame({ jsonrpc: '2.0', id: 1, method: 'shutdown' }));
      const message = await fatal;
      assert.match(
        message,
        /^(unreadable message frame: .*(Content-Length).*|incomplete message: no complete body after \d+ ms \(a wrong Content-Length\?\))$/,
      );
      input.end();
    });
  }

  it('the real server exits with a message on stderr, its stdin still open', async function () {
    const script = path.join(__dirname, '../../../dist/server.js');
    if (!fs.existsSync(script)) this.skip();
    const child = spawn(process.execPath, [script, '--stdio'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    const exited = new Promise<number | null>(resolve => child.on('exit', code => resolve(code)));
    child.stdin.write('Content-Length: abc\r\n\r\n{}');
    const guard = setTimeout(() => child.kill('SIGKILL'), 8000);
    const code = await exited;
    clearTimeout(guard);
    assert.equal(code, 1, 'exited by itself, not killed');
    assert.match(
      stderr,
      /virtio-race-lint: unreadable message frame: Content-Length value must be a number\. Got abc; the connection cannot continue, exiting/,
    );
  });
});
