// Worker thread entry for ScanPool: one UnitProcessor, fed one unit at a time. The parser is
// loaded on first need: a worker that only walks and reads (ParseSite 'caller') never loads it,
// nor does one that finds every file it parses in the facts cache.
import { parentPort } from 'node:worker_threads';
import { initParser } from './parser';
import { UnitProcessor, type WorkRequest } from './scan';

const port = parentPort;
if (port) {
  const processor = new UnitProcessor(undefined, true);
  let loaded = false;
  port.on('message', async (req: WorkRequest) => {
    if (!req.returnBytes && !req.cacheFile && !loaded) {
      await initParser();
      loaded = true;
    }
    processor.parserReady = loaded;
    const reply = processor.process(req);
    if (processor.deferred.length) {
      await initParser();
      loaded = processor.parserReady = true;
      processor.parseDeferred(reply);
    }
    port.postMessage(reply);
  });
}
