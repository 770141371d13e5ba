// Workspace settings as the client sends them, checked: a value of the wrong type or out of
// range falls back to the default with a message that names it (`timeoutMs: "x"` once
// disabled the simulator's time limit).
import { parseIdent } from '../api/patch';
import { parseRuleSetting } from '../api/rules';
import { MAX_N } from '../api/simulate';
import { DEFAULT_SETTINGS, type Settings } from '../shared/protocol';

export function validateSettings(raw: unknown): { settings: Settings; problems: string[] } {
  const problems: string[] = [];
  const s = isObject(raw) ? raw : {};
  if (raw !== undefined && raw !== null && !isObject(raw))
    problems.push('virtioRaceLint: expected an object of settings; using the defaults');
  const sim = isObject(s.simulator) ? s.simulator : {};
  const patch = isObject(s.patch) ? s.patch : {};
  const index = isObject(s.index) ? s.index : {};
  if (s.index !== undefined && s.index !== null && !isObject(s.index))
    problems.push(`virtioRaceLint.index: expected an object such as { "cache": true }, not ${JSON.stringify(s.index)}; using the defaults`);
  const bool = (name: string, v: unknown, def: boolean) => {
    if (v === undefined || v === null) return def;
    if (typeof v === 'boolean') return v;
    problems.push(`virtioRaceLint.${name}: expected true or false, not ${JSON.stringify(v)}; using ${def}`);
    return def;
  };
  const int = (name: string, v: unknown, def: number, min: number, max: number) => {
    if (v === undefined || v === null) return def;
    if (typeof v === 'number' && Number.isSafeInteger(v) && v >= min && v <= max) return v;
    problems.push(`virtioRaceLint.${name}: expected a whole number from ${min} to ${max}, not ${JSON.stringify(v)}; using ${def}`);
    return def;
  };
  let run: Settings['run'] = DEFAULT_SETTINGS.run;
  if (s.run === 'onType' || s.run === 'onSave') run = s.run;
  else if (s.run !== undefined && s.run !== null)
    problems.push(`virtioRaceLint.run: expected "onType" or "onSave", not ${JSON.stringify(s.run)}; using "${run}"`);
  let signoff = DEFAULT_SETTINGS.patch.signoff;
  if (typeof patch.signoff === 'string' && (patch.signoff.trim() === '' || parseIdent(patch.signoff)))
    signoff = patch.signoff.trim() === '' ? '' : patch.signoff;
  else if (patch.signoff !== undefined && patch.signoff !== null)
    problems.push(`virtioRaceLint.patch.signoff: expected "Name <mail@example.org>", not ${JSON.stringify(patch.signoff)}; ignored`);
  let directory = DEFAULT_SETTINGS.patch.directory;
  if (typeof patch.directory === 'string') directory = patch.directory.trim();
  else if (patch.directory !== undefined && patch.directory !== null)
    problems.push(`virtioRaceLint.patch.directory: expected a folder path, not ${JSON.stringify(patch.directory)}; using the tree's root`);
  // virtioRaceLint.rules: { "VRL002": "off" | "information" | "warning" }; a wrong entry is dropped.
  const rules: NonNullable<Settings['rules']> = {};
  if (isObject(s.rules)) {
    for (const [id, level] of Object.entries(s.rules)) {
      const r =
        typeof level === 'string'
          ? parseRuleSetting(`${id}=${level}`)
          : { error: `${id}: expected "off", "information" or "warning", not ${JSON.stringify(level)}` };
      if ('error' in r) problems.push(`virtioRaceLint.rules: ${r.error}; ignored`);
      else rules[r.id] = r.level;
    }
  } else if (s.rules !== undefined && s.rules !== null) {
    problems.push(`virtioRaceLint.rules: expected an object such as { "VRL002": "warning" }, not ${JSON.stringify(s.rules)}; ignored`);
  }
  const settings: Settings = {
    enable: bool('enable', s.enable, DEFAULT_SETTINGS.enable),
    run,
    simulator: {
      buffers: int('simulator.buffers', sim.buffers, DEFAULT_SETTINGS.simulator.buffers, 1, MAX_N),
      maxStates: int('simulator.maxStates', sim.maxStates, DEFAULT_SETTINGS.simulator.maxStates, 1000, 100_000_000),
      timeoutMs: int('simulator.timeoutMs', sim.timeoutMs, DEFAULT_SETTINGS.simulator.timeoutMs, 1000, 3_600_000),
    },
    patch: { signoff, directory },
    index: { cache: bool('index.cache', index.cache, DEFAULT_SETTINGS.index.cache) },
    ...(Object.keys(rules).length ? { rules } : {}),
  };
  return { settings, problems };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
