// The server's heavier services, kept out of server.ts so tests can inject their own: the
// simulator in a worker thread (cancellable, with a time limit), the patch writer (with the
// kernel tree's tools) and git am (both src/api/patch.ts).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { applyPatch, createPatch } from '../api/patch';
import { simulateForView, type CodeModel, type SimulateOptions } from '../api/simulate';
import type { SimulationResult } from '../shared/simulation';
import type { ServerOptions } from './server';

// The patch writer and git am are src/api/patch.ts's (the CLI builds its patches there too).
export { applyPatch, createPatch };
import type { SimReply, SimRequest } from './simWorker';

/** Runs simulations in one worker thread; a cancelled or overlong run terminates it. */
export class SimRunner {
  private worker?: Worker;
  private nextId = 0;

  constructor(private script = path.join(__dirname, 'simWorker.js')) {}

  async run(
    model: CodeModel,
    options: SimulateOptions,
    timeoutMs: number,
    token: { isCancellationRequested: boolean },
  ): Promise<SimulationResult | { error: string }> {
    if (!fs.existsSync(this.script)) {
      // Unbundled (tests): run in-process.
      return simulateForView(model, options);
    }
    if (!this.worker) {
      this.worker = new Worker(this.script);
      // Idle, it must not keep the process alive (the connection does that for the server).
      this.worker.unref();
    }
    const w = this.worker;
    const id = this.nextId++;
    return new Promise(resolve => {
      const started = Date.now();
      const poll = setInterval(() => {
        const timedOut = Date.now() - started > timeoutMs;
        if (!token.isCancellationRequested && !timedOut) return;
        finish({
          error: timedOut
            ? `simulation stopped after ${timeoutMs} ms (virtioRaceLint.simulator.timeoutMs); try fewer buffers`
            : 'simulation cancelled',
        });
        void w.terminate();
        if (this.worker === w) this.worker = undefined;
      }, 50);
      const onMessage = (r: SimReply) => {
        if (r.id === id) finish('result' in r ? r.result : { error: r.error });
      };
      const onError = (e: Error) => {
        finish({ error: `simulator failed: ${e.message}` });
        this.worker = undefined;
      };
      const finish = (v: SimulationResult | { error: string }) => {
        clearInterval(poll);
        w.off('message', onMessage);
        w.off('error', onError);
        resolve(v);
      };
      w.on('message', onMessage);
      w.on('error', onError);
      w.postMessage({ id, model, options } satisfies SimRequest);
    });
  }

  async close(): Promise<void> {
    await this.worker?.terminate();
    this.worker = undefined;
  }
}

export function defaultServerOptions(): ServerOptions {
  const runner = new SimRunner();
  return { simulate: (req, token) => runner.run(req.model, req.options, req.timeoutMs, token), createPatch, applyPatch };
}
