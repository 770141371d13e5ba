// Replaced at build time with package.json's version (scripts/build.mjs).
declare const __VRL_VERSION__: string;

export const VERSION: string = typeof __VRL_VERSION__ === 'string' ? __VRL_VERSION__ : '0.0.0-dev';
