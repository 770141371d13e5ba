import { startServer } from '../server/main';
import { CliError, parseArgs, type Io } from './common';
import { parserSpec } from './specs';

/** `virtio-race-lint lsp --stdio`: the same language server the VS Code extension starts. */
export async function lspCommand(args: string[], _io: Io): Promise<number> {
  const a = parseArgs(args, parserSpec('lsp'));
  if (!a.flags.has('stdio')) throw new CliError('lsp: only --stdio is supported (try: virtio-race-lint lsp --stdio)');
  startServer();
  // The connection keeps the process alive; exit follows the client's exit notification.
  return new Promise<number>(() => {});
}
