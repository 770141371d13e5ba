// The simulation view: a webview with a strict Content-Security-Policy (nothing remote, one
// nonce'd script) that shows the before/after verdicts, each counterexample as swimlanes whose
// steps open the source line they stand for, and the timed mode's unhandled fraction against
// note_interrupt()'s threshold. All HTML is built here, escaped; the script only posts clicks.
import { randomBytes } from 'node:crypto';
import * as vscode from 'vscode';
import type { SimulationResult } from '../shared/simulation';
import { renderSimulationHtml } from './simulationHtml';

export type { SimulationResult };

export class SimulationPanel {
  private static current?: SimulationPanel;

  static show(context: vscode.ExtensionContext, result: SimulationResult): void {
    if (SimulationPanel.current) {
      SimulationPanel.current.update(result);
      SimulationPanel.current.panel.reveal(vscode.ViewColumn.Beside, true);
      return;
    }
    const panel = vscode.window.createWebviewPanel('virtioRaceLint.simulation', 'Virtio race simulation', { viewColumn: vscode.ViewColumn.Beside, preserveFocus: true }, {
      enableScripts: true,
      localResourceRoots: [],
      retainContextWhenHidden: true,
    });
    SimulationPanel.current = new SimulationPanel(panel, context);
    SimulationPanel.current.update(result);
  }

  private constructor(private panel: vscode.WebviewPanel, context: vscode.ExtensionContext) {
    panel.onDidDispose(() => { SimulationPanel.current = undefined; }, null, context.subscriptions);
    panel.webview.onDidReceiveMessage(async (m: { type?: string; file?: string; line?: number }) => {
      if (m.type !== 'reveal' || typeof m.file !== 'string' || typeof m.line !== 'number') return;
      const uri = m.file.includes('://') ? vscode.Uri.parse(m.file) : vscode.Uri.file(m.file);
      const doc = await vscode.workspace.openTextDocument(uri);
      const pos = new vscode.Position(Math.max(0, m.line - 1), 0);
      await vscode.window.showTextDocument(doc, { viewColumn: vscode.ViewColumn.One, selection: new vscode.Range(pos, pos) });
    }, null, context.subscriptions);
  }

  private update(result: SimulationResult): void {
    this.panel.title = `Simulation: ${result.handler}()`;
    const nonce = randomBytes(16).toString('base64');
    this.panel.webview.html = renderSimulationHtml(result, { nonce, cspSource: this.panel.webview.cspSource });
  }
}
