// Starting the language server on stdio: from dist/server.js (stdio.ts, what the extension runs)
// or from `virtio-race-lint lsp --stdio` (other editors).
import { createConnection, ProposedFeatures } from 'vscode-languageserver/node';
import { VirtioRaceServer } from './server';
import { defaultServerOptions } from './services';

export function startServer(): void {
  const connection = createConnection(ProposedFeatures.all);
  new VirtioRaceServer(connection, defaultServerOptions());
  connection.listen();
}
