import * as K from '@aws-sdk/client-kms';
const url = process.argv[2]!;
const kms = new K.KMSClient({ endpoint: url, region: 'us-east-1', credentials: { accessKeyId: 'AKIASTORM00000000001', secretAccessKey: 'storm-secret-storm-secret-storm-secret-1' }, maxAttempts: 1 });
try { console.log((await kms.send(new K.CreateKeyCommand({ Description: 'x' }), { abortSignal: AbortSignal.timeout(5000) as any })).KeyMetadata?.KeyId); } catch (e) { console.log('err', (e as Error).name, (e as Error).message); }
