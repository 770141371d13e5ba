// Entry of dist/server.js: the VS Code extension starts this with `--stdio`.
import { startServer } from './main';

startServer();
