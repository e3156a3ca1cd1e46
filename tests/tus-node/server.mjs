// An independent tus 1.0 server for the interop suite: @tus/server with
// @tus/file-store, on 127.0.0.1. Usage: node server.mjs PORT DIR
// Prints "listening on URL" once ready.
import http from 'node:http';
import { Server } from '@tus/server';
import { FileStore } from '@tus/file-store';

const [portArg, directory] = process.argv.slice(2);
if (!directory) {
  console.error('usage: node server.mjs PORT DIR');
  process.exit(2);
}
// An expiration period makes the server offer the expiration extension, so a
// client starts an upload over when it vanishes (the soak campaign relies on it).
const tus = new Server({
  path: '/files',
  datastore: new FileStore({ directory, expirationPeriodInMilliseconds: 24 * 3600 * 1000 }),
});
const server = http.createServer((req, res) => tus.handle(req, res));
server.listen(Number(portArg), '127.0.0.1', () => {
  const { port } = server.address();
  console.log(`listening on http://127.0.0.1:${port}/files`);
});
const stop = () => server.close(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
