import * as assert from 'node:assert/strict';
import { statusText } from '../../src/client/statusText';

describe('status item', () => {
  it('says nothing of indexing while the server indexes: its work-done progress is the one indicator', () => {
    const during = statusText({ findings: 2, files: 1, indexing: true });
    assert.equal(during.text, '$(bug) VRL001: 2');
    assert.doesNotMatch(during.text, /index|~spin/);
    assert.match(during.tooltip, /being indexed \(progress in the status bar\)/);
    const after = statusText({ findings: 2, files: 1, indexing: false });
    assert.equal(after.text, during.text);
    assert.doesNotMatch(after.tooltip, /indexed/);
    assert.deepEqual(statusText({ findings: 0, files: 0, indexing: true }).text, '$(check) VRL001: 0');
    assert.equal(
      statusText({ findings: 0, files: 0, indexing: false, message: 'server stopped' }).text,
      '$(warning) virtio: server stopped',
    );
  });
});
