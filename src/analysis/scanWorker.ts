// Worker thread entry for ScanPool: one UnitProcessor, fed one unit at a time. The parser is
// loaded on first need: a worker that only walks and reads (ParseSite 'caller') never loads it.
import { parentPort } from 'node:worker_threads';
import { initParser } from './parser';
import { UnitProcessor, type WorkRequest } from './scan';

const port = parentPort;
if (port) {
  const processor = new UnitProcessor();
  port.on('message', async (req: WorkRequest) => {
    if (!req.returnBytes) await initParser();
    port.postMessage(processor.process(req));
  });
}
