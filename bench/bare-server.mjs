// The reference: a bare Node http server answering a fixed JSON body, reading the request first.
import { createServer } from 'node:http';
const body = JSON.stringify({ CiphertextBlob: 'A'.repeat(1400), KeyId: 'arn:aws:kms:us-east-1:111122223333:key/00000000-0000-0000-0000-000000000000', EncryptionAlgorithm: 'SYMMETRIC_DEFAULT' });
const server = createServer((req, res) => {
  req.on('data', () => {});
  req.on('end', () => {
    res.writeHead(200, { 'content-type': 'application/x-amz-json-1.1', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  });
});
server.keepAliveTimeout = 65_000;
server.listen(0, '127.0.0.1', () => process.send?.({ port: server.address().port }));
