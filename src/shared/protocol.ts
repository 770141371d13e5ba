// Names shared by the language server and the VS Code client: commands, custom notifications,
// settings. Declared once, as vscode-eslint's $shared does.

import type { SimulationResult } from './simulation';

export const SOURCE = 'virtio-race-lint';

/** Editor commands (what code actions and the command palette run). */
export const Commands = {
  simulate: 'virtioRaceLint.simulate',
  createPatch: 'virtioRaceLint.createPatch',
  /** Applies a created patch with `git am` (arguments: [ApplyPatchArgs], or the active .patch file). */
  applyPatch: 'virtioRaceLint.applyPatch',
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
export interface SuppressArgs {
  uri: string;
  version: number;
  line: number;
  indent: string;
  rule: string;
  function: string;
}

/** A rule's README anchor (the section heading's GitHub slug), as the docs links use. */
export const RULE_ANCHORS: Record<string, string> = { VRL001: 'vrl001-irq-unsafe-vq-drain', VRL003: 'vrl003-irq-flags-mismatch' };

/**
 * The server's workspace/executeCommand commands. They have their own names because
 * vscode-languageclient registers every command the server advertises as a VS Code command,
 * which would clash with the editor commands above; the server also answers to those names, so
 * a client that sends a code action's command to the server (Neovim) gets the same result.
 */
export const ServerCommands = {
  simulate: 'virtioRaceLint.server.simulate',
  createPatch: 'virtioRaceLint.server.createPatch',
  applyPatch: 'virtioRaceLint.server.applyPatch',
  fixAll: 'virtioRaceLint.server.fixAll',
  listFindings: 'virtioRaceLint.server.listFindings',
  reindex: 'virtioRaceLint.server.reindex',
} as const;

/** Server -> client: the number of findings and whether the workspace index is being built. */
export const StatusNotification = 'virtioRaceLint/status';
export interface StatusParams {
  findings: number;
  files: number;
  indexing: boolean;
  message?: string;
}

/**
 * Client -> server: whether the workspace is trusted (VS Code's workspace trust). Also sent as
 * `trusted` in initializationOptions. In an untrusted workspace the server starts no process
 * (no git for patches). Clients that say nothing are trusted, as a command line is.
 */
export const TrustNotification = 'virtioRaceLint/didChangeTrust';
export interface TrustParams {
  trusted: boolean;
}

export const FIX_ALL_KIND = 'source.fixAll.virtio-race-lint';
export const FIX_ALL_TITLE = 'Fix all VRL001 in file';

export interface Settings {
  enable: boolean;
  run: 'onType' | 'onSave';
  simulator: { buffers: number; maxStates: number; timeoutMs: number };
  /** `directory`: where patch files are written; '' is the root of the tree holding the file. */
  patch: { signoff: string; directory: string };
  /**
   * `cache`: keep the facts of the files the workspace index parses in a cache file (under the
   * directory the client gives, initializationOptions.cacheDir), so the next start parses only
   * what changed. Read at the start of each index.
   */
  index: { cache: boolean };
  /** Rules set off or to another severity than their default (`{ "VRL002": "warning" }`). */
  rules?: Record<string, 'off' | 'information' | 'warning'>;
}

export const DEFAULT_SETTINGS: Settings = {
  enable: true,
  run: 'onType',
  simulator: { buffers: 4, maxStates: 2_000_000, timeoutMs: 30_000 },
  patch: { signoff: '', directory: '' },
  index: { cache: true },
};

/**
 * What the createPatch command returns: the patch written as a file (`path`) or, when it could
 * not be written, only its text; what the kernel tree's tools said (trusted workspaces only).
 */
export interface CreatePatchResult {
  /** The name `git format-patch` would give the patch. */
  fileName: string;
  /** Where the patch was written (never over an existing file); absent when it could not be. */
  path?: string;
  text: string;
  /** One sentence for the notification: what was not run or not written, and why. */
  note?: string;
  /** What ran, what it gave, and what was skipped, one line each (for the output channel). */
  log: string[];
  /** scripts/checkpatch.pl --strict on the written patch, when it ran. */
  checkpatch?: { total: string; clean: boolean; messages: string[] } | { error: string };
  /** `git am` may be offered: a trusted workspace, the file in a git repository, the patch on disk. */
  canApply: boolean;
}

/** Arguments of the applyPatch command: the patch file, and the source file it was made for. */
export interface ApplyPatchArgs {
  /** Absolute path of the .patch file. */
  patch: string;
  /** The source file's URI; without it the repository is the one holding the patch file. */
  uri?: string;
}

/** What the applyPatch command returns. */
export type ApplyPatchResult = { ok: true; message: string } | { ok: false; reason: string };

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

/** A command that could not run, and why (one line for the user). */
export interface CommandError {
  error: string;
}

/** What the fixAll command returns. */
export interface FixAllResult {
  applied: boolean;
  /** Why nothing was applied (not open, nothing to fix, every fix refused). */
  message?: string;
  fixed?: number;
  /** The reasons of the fixes that were refused. */
  refused?: string[];
}

/**
 * Each server command's arguments and result: the server's handlers are checked against these
 * (`satisfies CommandResult<...>`), and the client's one call site (`serverCommand`) returns them
 * typed, so neither side casts.
 */
export interface ServerCommandTypes {
  [ServerCommands.simulate]: { args: [SimulateArgs]; result: SimulationResult | CommandError | null };
  [ServerCommands.createPatch]: { args: [{ uri: string }]; result: CreatePatchResult | CommandError };
  [ServerCommands.applyPatch]: { args: [ApplyPatchArgs]; result: ApplyPatchResult };
  [ServerCommands.fixAll]: { args: [{ uri: string }]; result: FixAllResult | CommandError };
  [ServerCommands.listFindings]: { args: []; result: FindingSummary[] };
  [ServerCommands.reindex]: { args: []; result: { started: boolean } };
}
export type ServerCommand = (typeof ServerCommands)[keyof typeof ServerCommands];
export type CommandArgs<K extends ServerCommand> = ServerCommandTypes[K]['args'];
export type CommandResult<K extends ServerCommand> = ServerCommandTypes[K]['result'];
/** Compile-time check: every server command has its types above. */
export const EVERY_COMMAND_TYPED: Exclude<ServerCommand, keyof ServerCommandTypes> extends never ? true : never = true;
