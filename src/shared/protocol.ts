// Names shared by the language server and the VS Code client: commands, custom notifications,
// settings. Declared once, as vscode-eslint's $shared does.

export const SOURCE = 'virtio-race-lint';

/** Editor commands (what code actions and the command palette run). */
export const Commands = {
  simulate: 'virtioRaceLint.simulate',
  createPatch: 'virtioRaceLint.createPatch',
  fixAll: 'virtioRaceLint.fixAll',
  showOutput: 'virtioRaceLint.showOutput',
  restart: 'virtioRaceLint.restart',
  /** Opens the bundled README at a rule's section (arguments: [{ rule }]); works offline. */
  showDocs: 'virtioRaceLint.showDocs',
  /** Inserts a suppression comment as a snippet with the reason selected (arguments: [SuppressArgs]). */
  insertSuppression: 'virtioRaceLint.insertSuppression',
  /** The status item's menu: re-index, show findings, simulate current, show output. */
  menu: 'virtioRaceLint.menu',
  /** Indexes the workspace again. */
  reindex: 'virtioRaceLint.reindex',
} as const;

/** Arguments of the insertSuppression command. */
export interface SuppressArgs { uri: string; version: number; line: number; indent: string; rule: string; function: string }

/** A rule's README anchor (the section heading's GitHub slug), as the docs links use. */
export const RULE_ANCHORS: Record<string, string> = {
  VRL001: 'vrl001-irq-unsafe-vq-drain',
  VRL003: 'vrl003-irq-flags-mismatch',
};

/**
 * The server's workspace/executeCommand commands. They have their own names because
 * vscode-languageclient registers every command the server advertises as a VS Code command,
 * which would clash with the editor commands above; the server also answers to those names, so
 * a client that sends a code action's command to the server (Neovim) gets the same result.
 */
export const ServerCommands = {
  simulate: 'virtioRaceLint.server.simulate',
  createPatch: 'virtioRaceLint.server.createPatch',
  fixAll: 'virtioRaceLint.server.fixAll',
  listFindings: 'virtioRaceLint.server.listFindings',
  reindex: 'virtioRaceLint.server.reindex',
} as const;

/** Server -> client: the number of findings and whether the workspace index is being built. */
export const StatusNotification = 'virtioRaceLint/status';
export interface StatusParams { findings: number; files: number; indexing: boolean; message?: string }

/**
 * Client -> server: whether the workspace is trusted (VS Code's workspace trust). Also sent as
 * `trusted` in initializationOptions. In an untrusted workspace the server starts no process
 * (no git for patches). Clients that say nothing are trusted, as a command line is.
 */
export const TrustNotification = 'virtioRaceLint/didChangeTrust';
export interface TrustParams { trusted: boolean }

export const FIX_ALL_KIND = 'source.fixAll.virtio-race-lint';
export const FIX_ALL_TITLE = 'Fix all VRL001 in file';

export interface Settings {
  enable: boolean;
  run: 'onType' | 'onSave';
  simulator: { buffers: number; maxStates: number; timeoutMs: number };
  patch: { signoff: string };
  /** Rules set off or to another severity than their default (`{ "VRL002": "warning" }`). */
  rules?: Record<string, 'off' | 'information' | 'warning'>;
}

export const DEFAULT_SETTINGS: Settings = {
  enable: true,
  run: 'onType',
  simulator: { buffers: 4, maxStates: 2_000_000, timeoutMs: 30_000 },
  patch: { signoff: '' },
};

/** Arguments of the simulate command: a document and a line (0-based), or a finding's position. */
export interface SimulateArgs {
  uri: string;
  line?: number;
  options?: Record<string, unknown>;
}

/** One finding, as the client lists them in a quick pick. */
export interface FindingSummary {
  uri: string;
  line: number;
  character: number;
  handler: string;
  callback: string;
  lock: string;
  message: string;
}
