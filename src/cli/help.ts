// The help text, generated from the option declarations (specs.ts).
import { VERSION } from '../version';
import { COMMANDS, commandSpec, type CommandSpec, type OptionDoc } from './specs';

export { VERSION };

const WIDTH = 96;

function optionText(o: OptionDoc): string {
  return `--${o.name}${o.value ? ` ${o.value}` : ''}`;
}

/** `check [--format text|json|sarif] [--related] ... PATH...`, wrapped at WIDTH. */
function usage(c: CommandSpec): string {
  const words = [
    `virtio-race-lint ${c.name}`,
    ...c.options.filter(o => o.inUsage).map(o => `[${o.alias ? `${o.alias}|` : ''}${optionText(o)}]`),
  ];
  if (c.operands) words.push(c.operands);
  const lines: string[] = [];
  let line = '  ';
  for (const w of words) {
    if (line.trim() && line.length + 1 + w.length > WIDTH) {
      lines.push(line);
      line = '      ';
    }
    line += (line.trim() ? ' ' : '') + w;
  }
  lines.push(line);
  return lines.join('\n');
}

/** `text` split at spaces into lines of at most `width` characters (a longer word stays whole). */
function wrap(text: string, width: number): string[] {
  const out: string[] = [];
  let line = '';
  for (const w of text.split(' ')) {
    if (line && line.length + 1 + w.length > width) {
      out.push(line);
      line = w;
    } else line = line ? `${line} ${w}` : w;
  }
  out.push(line);
  return out;
}

function indent(text: string, by: string): string {
  return text
    .split('\n')
    .map(l => (l ? by + l : l))
    .join('\n');
}

/** One command's help: usage, what it does, every option it accepts. */
export function commandHelp(c: CommandSpec): string {
  const out = [usage(c), indent(c.about, '      ')];
  if (c.options.length) {
    const names = c.options.map(o => `${o.alias ? `${o.alias}, ` : ''}${optionText(o)}`);
    const col = Math.min(34, Math.max(...names.map(n => n.length)) + 2);
    c.options.forEach((o, i) => {
      const [first, ...rest] = wrap(o.help.replace(/\s*\n\s*/g, ' '), WIDTH - 8 - col);
      const head = names[i].length < col ? names[i].padEnd(col) : `${names[i]}\n${' '.repeat(8 + col)}`;
      out.push(`        ${head}${first}`);
      for (const r of rest) out.push(`        ${' '.repeat(col)}${r}`);
    });
  }
  return out.join('\n');
}

export const HELP = `virtio-race-lint ${VERSION}: find the vring-callback / work / spin_lock drain IRQ race
in Linux virtio drivers, apply the spin_lock_irqsave() fix, and simulate what it changes.

Usage:
${COMMANDS.map(commandHelp).join('\n')}

Options:
  -h, --help       this text (after a command: that command's help)
  -V, --version    print the version
`;

/** `virtio-race-lint CMD --help`. */
export function helpFor(name: string): string {
  return `${commandHelp(commandSpec(name))}\n`;
}
