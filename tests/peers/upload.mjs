// Uploads FILE to a tus ENDPOINT in CHUNK-byte PATCHes with tus-js-client
// (the benchmark's JavaScript peer). Exit 0 once the upload succeeded.
import fs from 'node:fs';
import * as tus from 'tus-js-client';

const [file, endpoint, chunk] = process.argv.slice(2);
const size = fs.statSync(file).size;
const upload = new tus.Upload(fs.createReadStream(file), {
  endpoint,
  chunkSize: Number(chunk),
  uploadSize: size,
  retryDelays: [0, 1000],
  onError: (error) => {
    console.error(`tus-js-client failed: ${error}`);
    process.exit(1);
  },
  onSuccess: () => process.exit(0),
});
upload.start();
