// Worker thread for simulations, so the language server keeps answering while a model is
// explored. Entry of dist/simWorker.js.
import { parentPort } from 'node:worker_threads';
import { simulateForView, type CodeModel, type SimulateOptions } from '../api/simulate';

export interface SimRequest {
  id: number;
  model: CodeModel;
  options: SimulateOptions;
}
export type SimReply = { id: number; result: ReturnType<typeof simulateForView> } | { id: number; error: string };

const port = parentPort;
if (port) {
  port.on('message', (req: SimRequest) => {
    try {
      port.postMessage({ id: req.id, result: simulateForView(req.model, req.options) } satisfies SimReply);
    } catch (e) {
      port.postMessage({ id: req.id, error: (e as Error).message } satisfies SimReply);
    }
  });
}
