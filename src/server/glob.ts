// files.exclude for the server: the matching itself is src/analysis/glob.ts (linear, no regular
// expressions), shared with the scan workers.
export { excludeMatcher, excludeRules, type ExcludeRule } from '../analysis/glob';
