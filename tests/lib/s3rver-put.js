// tests/lib/s3rver-put.js - loaded into s3rver by s3rver.sh (node --require):
// s3rver answers a PUT only once the object is in its file.
//
// s3rver 3.7.1's FilesystemStore.putObject (and putPart) pipe the request
// body through an MD5 transform into a file stream and resolve on the
// transform's 'finish', which says that the transform has seen every byte,
// not that the file stream has written them.  The PUT's answer can then
// leave before the object's bytes are in the file, and a GET right after it
// reads a short object.  efsfs reads back every object it puts before it
// commits a move (tier/move.c, step 3), so now and then (about 1 GET in
// 2000 on a loaded host) a lifecycle run counted a chunk as failed with
// "truncated header" (tests/mount/tier.sh, "the lifecycle run completes
// after the crash").  S3 answers a PUT only once the whole object is
// stored; here both methods resolve once the file stream has finished.
//
// EFSFS_S3RVER_PREFIX: the npm prefix s3rver is installed in (s3rver.sh).
// EFSFS_S3RVER_WRITE_DELAY_MS=N, for tests/lib/s3rver_test.sh only: every
// write of a file stream (object and part files; metadata is written
// otherwise) starts N ms late, so that an answer sent before the object is
// written is seen every time instead of by chance.
'use strict';

const crypto = require('crypto');
const fs = require('fs');
const path = require('path');
const { pipeline, Transform } = require('stream');

const prefix = process.env.EFSFS_S3RVER_PREFIX;
if (!prefix) {
  throw new Error('s3rver-put.js: EFSFS_S3RVER_PREFIX is not set');
}
const Store = require(path.resolve(prefix, 'node_modules', 's3rver', 'lib', 'stores',
  'filesystem.js'));

// Writes content (a Buffer or a readable stream) to file; resolves with
// [size, md5 hex] once every byte is in the file.
async function writeContent(content, file) {
  const md5 = crypto.createHash('md5');

  if (Buffer.isBuffer(content)) {
    await fs.promises.writeFile(file, content);
    md5.update(content);
    return [content.length, md5.digest('hex')];
  }
  let size = 0;
  const count = new Transform({
    transform(chunk, encoding, done) {
      md5.update(chunk);
      size += chunk.length;
      done(null, chunk);
    },
  });
  await new Promise((resolve, reject) => {
    pipeline(content, count, fs.createWriteStream(file),
      err => (err ? reject(err) : resolve()));
  });
  return [size, md5.digest('hex')];
}

Store.prototype.putObject = async function putObject(object) {
  const file = this.getResourcePath(object.bucket, object.key, 'object');

  await fs.promises.mkdir(path.dirname(file), { recursive: true });
  const [size, md5] = await writeContent(object.content, file);
  await this.putMetadata(object.bucket, object.key, object.metadata, md5);
  return { size, md5 };
};

Store.prototype.putPart = async function putPart(bucket, uploadId, partNumber, content) {
  const file = path.join(this.getResourcePath(bucket, undefined, 'uploads'), uploadId,
    partNumber.toString());

  await fs.promises.mkdir(path.dirname(file), { recursive: true });
  const [size, md5] = await writeContent(content, file);
  await fs.promises.writeFile(`${file}.md5`, md5);
  return { size, md5 };
};

const delay = Number(process.env.EFSFS_S3RVER_WRITE_DELAY_MS || 0);
if (delay > 0) {
  const proto = fs.WriteStream.prototype;

  for (const name of ['_write', '_writev']) {
    const write = proto[name];

    if (typeof write === 'function') {
      proto[name] = function delayedWrite(...args) {
        setTimeout(() => write.apply(this, args), delay);
      };
    }
  }
}
