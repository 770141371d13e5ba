// Language server entry: `node dist/server.js --stdio` (the extension), or
// `virtio-race-lint lsp --stdio` (other editors).
import { createConnection, ProposedFeatures } from 'vscode-languageserver/node';
import { VirtioRaceServer } from './server';
import { defaultServerOptions } from './services';

export function startServer(): void {
  const connection = createConnection(ProposedFeatures.all);
  new VirtioRaceServer(connection, defaultServerOptions());
  connection.listen();
}

if (require.main === module) startServer();
