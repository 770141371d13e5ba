// The status item's text and tooltip, from the server's status (pure, testable without VS Code).
//
// While the workspace is indexed the one indexing indicator is the server's work-done progress,
// which VS Code shows in the status bar ("virtio-race-lint: indexing 12 of 49 files"); this item
// keeps counting findings (those found so far) and says so in its tooltip, without a second
// spinner or a second "indexing".
import type { StatusParams } from '../shared/protocol';

export function statusText(p: StatusParams): { text: string; tooltip: string } {
  const text = p.message ? `$(warning) virtio: ${p.message}` : p.findings ? `$(bug) VRL001: ${p.findings}` : '$(check) VRL001: 0';
  const counted = p.findings
    ? `${p.findings} work function(s) drain a virtqueue under an IRQ-unsafe lock, in ${p.files} file(s).`
    : 'No VRL001 findings.';
  const tooltip = p.indexing
    ? `${counted} The workspace is being indexed (progress in the status bar): so far the open files' drivers are counted. Click for actions.`
    : `${counted} Click for actions.`;
  return { text, tooltip };
}
