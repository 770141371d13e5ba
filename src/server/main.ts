// Starting the language server on stdio: from dist/server.js (stdio.ts, what the extension runs)
// or from `virtio-race-lint lsp --stdio` (other editors).
import { createConnection, ProposedFeatures, StreamMessageReader, StreamMessageWriter, type Connection } from 'vscode-languageserver/node';
import { VirtioRaceServer, type ServerOptions } from './server';
import { defaultServerOptions } from './services';

export interface StartOptions {
  input?: NodeJS.ReadableStream;
  output?: NodeJS.WritableStream;
  server?: ServerOptions;
  /** A frame that cannot be read (bad or missing Content-Length, a body that never completes). */
  onFatal?: (message: string) => void;
  /** How long a message may stay incomplete before the stream is given up (ms). */
  partialMessageTimeoutMs?: number;
}

/**
 * A frame the reader cannot parse leaves the byte stream at an unknown place: every later
 * message would be misread, or swallowed by a Content-Length too large. The server says why on
 * stderr and exits, so the client sees it and can restart it, rather than waiting forever.
 */
function exitOnFatal(message: string): void {
  process.stderr.write(`virtio-race-lint: ${message}; the connection cannot continue, exiting\n`);
  process.exit(1);
}

export function startServer(o: StartOptions = {}): { connection: Connection; server: VirtioRaceServer } {
  const reader = new StreamMessageReader(o.input ?? process.stdin);
  reader.partialMessageTimeout = o.partialMessageTimeoutMs ?? 10_000;
  const writer = new StreamMessageWriter(o.output ?? process.stdout);
  const onFatal = o.onFatal ?? exitOnFatal;
  const connection = createConnection(ProposedFeatures.all, reader, writer);
  let failed = false;
  const fatal = (message: string) => {
    if (failed) return;
    failed = true;
    // Nothing more is read: no further partial-message timers, no requests served.
    reader.partialMessageTimeout = 0;
    connection.dispose();
    onFatal(message);
  };
  reader.onError(e => fatal(`unreadable message frame: ${e.message.split('\n')[0]}`));
  reader.onPartialMessage(info => fatal(`incomplete message: no complete body after ${info.waitingTime} ms (a wrong Content-Length?)`));
  const server = new VirtioRaceServer(connection, o.server ?? defaultServerOptions());
  connection.listen();
  return { connection, server };
}
