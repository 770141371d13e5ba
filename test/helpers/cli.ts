import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Io } from '../../src/cli/common';
import { main } from '../../src/cli/main';

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the CLI in-process with `cwd` as its working directory (`hooks`: the tests' points in a fix). */
export async function runCli(args: string[], cwd: string, hooks?: Io['hooks']): Promise<RunResult> {
  let stdout = '';
  let stderr = '';
  const code = await main(args, {
    out: s => {
      stdout += s;
    },
    err: s => {
      stderr += s;
    },
    cwd,
    ...(hooks ? { hooks } : {}),
  });
  return { code, stdout, stderr };
}

export function tempDir(prefix = 'vrl-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

export function copyDir(from: string, to: string): void {
  fs.mkdirSync(to, { recursive: true });
  for (const e of fs.readdirSync(from, { withFileTypes: true })) {
    const s = path.join(from, e.name);
    const d = path.join(to, e.name);
    if (e.isDirectory()) copyDir(s, d);
    else fs.copyFileSync(s, d);
  }
}
