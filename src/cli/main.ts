// virtio-race-lint command line: check, fix, patch, simulate, lsp.
// Exit status: 0 no findings, 1 findings, 2 usage or I/O error.
import * as v8 from 'node:v8';
import { checkCommand } from './check';
import { CliError, EXIT_USAGE, type Io } from './common';
import { HELP, helpFor, VERSION } from './help';
import { batchV8Flags } from './v8Flags';

type Command = (args: string[], io: Io) => Promise<number>;

// Commands other than check load their modules on first use (the language server, the simulator).
/* eslint-disable @typescript-eslint/no-require-imports */
const commands: Record<string, () => Promise<Command>> = {
  check: async () => checkCommand,
  fix: async () => (require('./fix') as typeof import('./fix')).fixCommand,
  patch: async () => (require('./fix') as typeof import('./fix')).patchCommand,
  lsp: async () => (require('./lsp') as typeof import('./lsp')).lspCommand,
  simulate: async () => (require('./simulate') as typeof import('./simulate')).simulateCommand,
};

export async function main(argv: string[], io: Io): Promise<number> {
  const [cmd, ...rest] = argv;
  if (!cmd || cmd === '-h' || cmd === '--help' || cmd === 'help') {
    io.out(HELP);
    return cmd ? 0 : EXIT_USAGE;
  }
  if (cmd === '--version' || cmd === '-V') {
    io.out(`virtio-race-lint ${VERSION}\n`);
    return 0;
  }
  const load = commands[cmd];
  if (!load) {
    io.err(`virtio-race-lint: unknown command '${cmd}' (try 'virtio-race-lint --help')\n`);
    return EXIT_USAGE;
  }
  // `--` ends the options: `check -- -h` checks a file named -h.
  const options = rest.includes('--') ? rest.slice(0, rest.indexOf('--')) : rest;
  if (options.includes('--help') || options.includes('-h')) {
    io.out(helpFor(cmd));
    return 0;
  }
  try {
    return await (
      await load()
    )(rest, io);
  } catch (e) {
    if (e instanceof CliError) {
      io.err(`virtio-race-lint: ${e.message}\n`);
      return e.exitCode;
    }
    throw e;
  }
}

const BATCH_COMMANDS = new Set(['check', 'fix', 'patch']);

if (require.main === module) {
  // Set before any code is warm or any wasm is compiled (v8Flags.ts).
  if (BATCH_COMMANDS.has(process.argv[2] ?? '')) for (const flag of batchV8Flags(process.versions.v8)) v8.setFlagsFromString(flag);
  // A reader that goes away (`| head`) is not an error worth a stack trace: stop quietly. Any
  // other output error is one line, exit 2.
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code !== 'EPIPE' && stream === process.stdout) {
        try {
          process.stderr.write(`virtio-race-lint: cannot write the output: ${e.message}\n`);
        } catch {
          /* nowhere to say it */
        }
      }
      process.exit(EXIT_USAGE);
    });
  }
  const io: Io = {
    out: s => {
      process.stdout.write(s);
    },
    err: s => {
      process.stderr.write(s);
    },
    cwd: process.cwd(),
  };
  main(process.argv.slice(2), io).then(
    code => {
      process.exitCode = code;
    },
    e => {
      // One line; the stack only when asked for (VRL_DEBUG=1).
      const err = e as Error;
      process.stderr.write(
        `virtio-race-lint: internal error: ${process.env.VRL_DEBUG ? (err.stack ?? err) : String(err?.message ?? err).split('\n')[0]}\n`,
      );
      process.exitCode = EXIT_USAGE;
    },
  );
}
