// The server's heavier services, kept out of server.ts so tests can inject their own.
import type { ServerOptions } from './server';

export function defaultServerOptions(): ServerOptions {
  return {};
}
