// `npm run test:vscode`: the standard desktop suite. @vscode/test-electron downloads VS Code and
// runs test/vscode/suite inside its extension host with this repository as the extension under
// development. Where VS Code cannot be downloaded (no network, as on the CI machines), it stops
// with one line; the end-to-end suite in code-server (npm run test:e2e) is what CI runs instead.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { downloadAndUnzipVSCode, runTests } from '@vscode/test-electron';

async function main(): Promise<number> {
  const root = path.resolve(__dirname, '../../..');
  let executable: string;
  try {
    executable = await downloadAndUnzipVSCode({ version: process.env.VSCODE_VERSION ?? 'stable', timeout: 20_000 });
  } catch (e) {
    console.error(`test:vscode: cannot download VS Code here (${(e as Error).message.split('\n')[0]}); run npm run test:e2e instead`);
    return 1;
  }
  const workspace = fs.mkdtempSync(path.join(os.tmpdir(), 'vrl-vscode-'));
  for (const f of fs.readdirSync(path.join(root, 'test/fixtures/vrl001/gpu-helper-binding'))) {
    fs.copyFileSync(path.join(root, 'test/fixtures/vrl001/gpu-helper-binding', f), path.join(workspace, f));
  }
  return runTests({
    vscodeExecutablePath: executable,
    extensionDevelopmentPath: root,
    extensionTestsPath: path.join(__dirname, 'suite', 'index.js'),
    launchArgs: [workspace, '--disable-extensions'],
    extensionTestsEnv: { VIRTIO_RACE_LINT_E2E: '1' },
  });
}

main().then(
  code => {
    process.exitCode = code;
  },
  e => {
    console.error(`test:vscode: ${(e as Error).message}`);
    process.exitCode = 1;
  },
);
