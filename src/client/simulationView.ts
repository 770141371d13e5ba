// The simulation view: a webview with a strict Content-Security-Policy (nothing remote, one
// nonce'd script) that leads with the verdict, shows the before/after table, lets the user change
// the environment (the extension re-runs the simulation for the same position with those
// options), draws the timed mode against note_interrupt()'s threshold, and shows each
// counterexample as swimlanes whose steps open their source line. All HTML is built in
// simulationHtml.ts, escaped; the script only posts clicks and the chosen options.
import { randomBytes } from 'node:crypto';
import * as vscode from 'vscode';
import type { SimulateArgs } from '../shared/protocol';
import type { SimulationResult } from '../shared/simulation';
import { renderSimulationHtml, sanitizeOptions } from './simulationHtml';

export type { SimulationResult };

/** Runs the server's simulate command; the result, or a refusal's one line. */
export type SimulationRunner = (args: SimulateArgs) => Promise<SimulationResult | { error: string }>;

type ViewMessage =
  { type: 'reveal'; file?: unknown; line?: unknown } | { type: 'openDoc'; anchor?: unknown } | { type: 'rerun'; options?: unknown };

export class SimulationPanel {
  private static current?: SimulationPanel;
  /** The arguments of the result on show: a re-run keeps uri and line and replaces the options. */
  private args: SimulateArgs;
  private runs = 0;

  static show(context: vscode.ExtensionContext, result: SimulationResult, args: SimulateArgs, run: SimulationRunner): void {
    if (SimulationPanel.current) {
      const p = SimulationPanel.current;
      p.args = args;
      p.run = run;
      p.update(result);
      p.panel.reveal(p.panel.viewColumn ?? vscode.ViewColumn.Beside, true);
      return;
    }
    const single = vscode.window.tabGroups.all.length === 1;
    const panel = vscode.window.createWebviewPanel(
      'virtioRaceLint.simulation',
      'Virtio race simulation',
      { viewColumn: vscode.ViewColumn.Beside, preserveFocus: true },
      { enableScripts: true, localResourceRoots: [], retainContextWhenHidden: true },
    );
    SimulationPanel.current = new SimulationPanel(panel, context, args, run);
    SimulationPanel.current.update(result);
    // Beside a single editor group the view would get half the width: give it 60%, which keeps
    // the swimlanes and the table readable at a 1400-pixel window with the side bar open.
    if (single) widenBeside(panel);
  }

  private constructor(
    private panel: vscode.WebviewPanel,
    private context: vscode.ExtensionContext,
    args: SimulateArgs,
    private run: SimulationRunner,
  ) {
    this.args = args;
    panel.onDidDispose(
      () => {
        SimulationPanel.current = undefined;
      },
      null,
      context.subscriptions,
    );
    panel.webview.onDidReceiveMessage((m: ViewMessage) => this.onMessage(m), null, context.subscriptions);
  }

  private async onMessage(m: ViewMessage): Promise<void> {
    if (!m || typeof m !== 'object') return;
    if (m.type === 'reveal') {
      if (typeof m.file !== 'string' || typeof m.line !== 'number' || !Number.isInteger(m.line)) return;
      const uri = m.file.includes('://') ? vscode.Uri.parse(m.file) : vscode.Uri.file(m.file);
      const doc = await vscode.workspace.openTextDocument(uri);
      const pos = new vscode.Position(Math.max(0, m.line - 1), 0);
      // The group that already shows the file, else the first one (the view stays where it is).
      const shown = vscode.window.visibleTextEditors.find(e => e.document.uri.toString() === doc.uri.toString());
      const column =
        shown?.viewColumn ?? (this.panel.viewColumn === vscode.ViewColumn.One ? vscode.ViewColumn.Beside : vscode.ViewColumn.One);
      await vscode.window.showTextDocument(doc, { viewColumn: column, selection: new vscode.Range(pos, pos) });
    } else if (m.type === 'openDoc') {
      const anchor = typeof m.anchor === 'string' && /^[a-z0-9-]*$/.test(m.anchor) ? m.anchor : '';
      await openModelDoc(this.context, anchor);
    } else if (m.type === 'rerun') {
      const options = sanitizeOptions(m.options);
      const args: SimulateArgs = {
        uri: this.args.uri,
        ...(this.args.line !== undefined ? { line: this.args.line } : {}),
        options: { ...options },
      };
      const run = ++this.runs;
      void this.panel.webview.postMessage({ type: 'running' });
      let result: SimulationResult | { error: string };
      try {
        result = await this.run(args);
      } catch (e) {
        result = { error: (e as Error).message };
      }
      if (run !== this.runs) return; // a newer request superseded this one
      if ('error' in result) {
        void this.panel.webview.postMessage({ type: 'error', message: result.error.split('\n')[0] });
        return;
      }
      this.args = args;
      this.update(result);
    }
  }

  private update(result: SimulationResult): void {
    this.panel.title = `Simulation: ${result.handler}()`;
    const nonce = randomBytes(16).toString('base64');
    this.panel.webview.html = renderSimulationHtml(result, { nonce, cspSource: this.panel.webview.cspSource });
  }
}

/**
 * When the view opened as the second of two editor groups, gives it 60% of the width (the layout
 * arrives in the extension host a moment after the panel is created).
 */
function widenBeside(panel: vscode.WebviewPanel): void {
  const groups = vscode.window.tabGroups;
  let done = false;
  const fit = () => {
    if (done || groups.all.length !== 2 || panel.viewColumn !== vscode.ViewColumn.Two) return;
    done = true;
    void vscode.commands
      .executeCommand('vscode.setEditorLayout', { orientation: 0, groups: [{ size: 0.4 }, { size: 0.6 }] })
      .then(undefined, () => undefined);
  };
  fit();
  if (done) return;
  const sub = groups.onDidChangeTabGroups(() => {
    fit();
    if (done) sub.dispose();
  });
  const sub2 = panel.onDidChangeViewState(() => {
    fit();
    if (done) sub2.dispose();
  });
  setTimeout(() => {
    fit();
    sub.dispose();
    sub2.dispose();
  }, 2000);
}

/** Opens the bundled docs/model.md in the markdown preview, at a heading when one is given. */
export async function openModelDoc(context: vscode.ExtensionContext, anchor = ''): Promise<void> {
  const uri = vscode.Uri.joinPath(context.extensionUri, 'docs', 'model.md');
  try {
    await vscode.commands.executeCommand('markdown.showPreview', anchor ? uri.with({ fragment: anchor }) : uri);
  } catch {
    // No markdown extension: the text itself.
    await vscode.window.showTextDocument(uri, { preview: true });
  }
}
