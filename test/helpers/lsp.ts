// An in-process language server on in-memory streams (the ast-grep crates/lsp/tests/basic.rs
// pattern): no VS Code, real JSON-RPC framing both ways.
import { PassThrough } from 'node:stream';
import { createMessageConnection, StreamMessageReader, StreamMessageWriter, type MessageConnection } from 'vscode-jsonrpc/node';
import { createConnection } from 'vscode-languageserver/node';
import type { CodeAction, Diagnostic, PublishDiagnosticsParams, Range } from 'vscode-languageserver-protocol';
import { VirtioRaceServer, type ServerOptions } from '../../src/server/server';

export interface TestClient {
  client: MessageConnection;
  server: VirtioRaceServer;
  diagnostics: Map<string, Diagnostic[]>;
  /** The document version of the last publication per URI (undefined when it carried none). */
  versions: Map<string, number | undefined>;
  /** Resolves when `pred` holds for the diagnostics published so far (or rejects after a timeout). */
  waitFor(pred: (d: Map<string, Diagnostic[]>) => boolean, ms?: number): Promise<void>;
  notifications: { method: string; params: unknown }[];
  applyEdits: unknown[];
  logs: string[];
  /** Work-done progress tokens the server created, in order. */
  progressTokens: (string | number)[];
  /** Logs, diagnostics and progress in the order they arrived. */
  events: (
    | { kind: 'log'; message: string }
    | { kind: 'diagnostics'; uri: string; diagnostics: Diagnostic[] }
    | { kind: 'progress'; value: { kind: string; title?: string; message?: string; percentage?: number } }
  )[];
  close(): void;
}

export async function startServer(
  rootPath: string | undefined,
  opts: ServerOptions = {},
  settings?: Record<string, unknown>,
  beforeInitialized?: (client: MessageConnection) => Promise<void>,
  initializationOptions?: Record<string, unknown>,
  files: unknown = { exclude: { '**/excluded': true } },
  afterInitialized?: (client: MessageConnection) => Promise<void>,
): Promise<TestClient> {
  const up = new PassThrough();
  const down = new PassThrough();
  const serverConn = createConnection(new StreamMessageReader(up), new StreamMessageWriter(down));
  const server = new VirtioRaceServer(serverConn, { workers: 0, ...opts });
  serverConn.listen();
  const client = createMessageConnection(new StreamMessageReader(down), new StreamMessageWriter(up));
  const diagnostics = new Map<string, Diagnostic[]>();
  const versions = new Map<string, number | undefined>();
  const notifications: { method: string; params: unknown }[] = [];
  const applyEdits: unknown[] = [];
  const logs: string[] = [];
  const progressTokens: (string | number)[] = [];
  const events: TestClient['events'] = [];
  const waiters: (() => void)[] = [];
  client.onNotification('textDocument/publishDiagnostics', (p: PublishDiagnosticsParams) => {
    diagnostics.set(p.uri, p.diagnostics);
    versions.set(p.uri, p.version);
    events.push({ kind: 'diagnostics', uri: p.uri, diagnostics: p.diagnostics });
    for (const w of [...waiters]) w();
  });
  client.onNotification('window/logMessage', (p: { message: string }) => {
    logs.push(p.message);
    events.push({ kind: 'log', message: p.message });
  });
  client.onNotification('$/progress', (p: { value: { kind: string } }) => {
    events.push({ kind: 'progress', value: p.value });
  });
  client.onNotification((method: string, params: unknown) => {
    notifications.push({ method, params });
  });
  client.onRequest('workspace/configuration', (p: { items: { section?: string }[] }) =>
    p.items.map(i => (i.section === 'virtioRaceLint' ? (settings ?? null) : i.section === 'files' ? files : null)),
  );
  client.onRequest('window/workDoneProgress/create', (p: { token: string | number }) => {
    progressTokens.push(p.token);
    return null;
  });
  client.onRequest('workspace/applyEdit', (p: unknown) => {
    applyEdits.push(p);
    return { applied: true };
  });
  client.listen();
  const rootUri = rootPath ? `file://${rootPath}` : null;
  await client.sendRequest('initialize', {
    processId: null,
    rootUri,
    workspaceFolders: rootUri ? [{ uri: rootUri, name: 'ws' }] : null,
    capabilities: {
      workspace: { configuration: true, workspaceFolders: true, workspaceEdit: { documentChanges: true } },
      window: { workDoneProgress: true },
    },
    ...(initializationOptions ? { initializationOptions } : {}),
  });
  await beforeInitialized?.(client);
  await client.sendNotification('initialized', {});
  await afterInitialized?.(client);
  await server.indexed;
  const waitFor = (pred: (d: Map<string, Diagnostic[]>) => boolean, ms = 5000) =>
    new Promise<void>((resolve, reject) => {
      if (pred(diagnostics)) {
        resolve();
        return;
      }
      const timer = setTimeout(() => {
        waiters.splice(waiters.indexOf(check), 1);
        reject(
          new Error(
            `timed out waiting for diagnostics: ${JSON.stringify([...diagnostics.entries()].map(([u, d]) => [u, d.map(x => x.message.slice(0, 40))]))}`,
          ),
        );
      }, ms);
      const check = () => {
        if (pred(diagnostics)) {
          clearTimeout(timer);
          waiters.splice(waiters.indexOf(check), 1);
          resolve();
        }
      };
      waiters.push(check);
    });
  return {
    client,
    server,
    diagnostics,
    versions,
    waitFor,
    notifications,
    applyEdits,
    logs,
    progressTokens,
    events,
    close: () => {
      client.dispose();
      up.end();
      down.end();
    },
  };
}

/**
 * `textDocument/codeAction` for `uri`: over `diag`'s range with it as context (`only` kinds
 * if given), or over `range` with the given diagnostics.
 */
export async function codeActions(
  c: TestClient,
  uri: string,
  at: Diagnostic | { range: Range; diagnostics: Diagnostic[] },
  only?: string[],
): Promise<CodeAction[]> {
  const [range, diagnostics] = 'diagnostics' in at ? [at.range, at.diagnostics] : [at.range, [at]];
  return (await c.client.sendRequest('textDocument/codeAction', {
    textDocument: { uri },
    range,
    context: { diagnostics, ...(only ? { only } : {}) },
  })) as CodeAction[];
}
