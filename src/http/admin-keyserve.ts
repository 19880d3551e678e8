// Admin routes of keyserve (/v1/keyserve): keyrings of MariaDB keys under KMS keys and the Vault
// tokens that read them (src/keyserve, docs/MARIADB.md; `rekey keyserve ...`, `rekey db mariadb-config`).
// Mutations pass the audit gate inside the domain before their first write (gate "operation");
// the issued token is in the response only, never in the audit event.
import type { AdminInput, AdminRoute } from './admin-routes.ts';
import type { KeyserveService } from '../keyserve/service.ts';

const NAME = { type: 'string', pattern: '^[a-z][a-z0-9-]{0,62}$' };
const NAME_PARAMS = { type: 'object', required: ['name'], properties: { name: NAME } };

export function keyserveRoutes(ks: KeyserveService): AdminRoute[] {
  const name = (i: AdminInput) => String(i['name'] ?? '');
  const resource = (i: AdminInput) => ks.arnOf(name(i));
  return [
    {
      method: 'POST', url: '/v1/keyserve/keyrings', action: 'rekey:CreateMariaDbKeyring', resource, gate: 'operation',
      summary: 'Create a keyring of MariaDB keys (default key ids 1 and 2) under a KMS key',
      schema: { body: { type: 'object', required: ['name', 'kmsKeyId'], additionalProperties: false, properties: {
        name: NAME, kmsKeyId: { type: 'string', minLength: 1, maxLength: 2048 },
        keyIds: { type: 'array', minItems: 1, maxItems: 64, items: { type: 'integer', minimum: 1, maximum: 4294967295 } },
      } } },
      audit: ['name', 'kmsKeyId', 'keyIds'],
      run: (i, call) => ks.createKeyring(name(i), String(i['kmsKeyId']), i['keyIds'] as number[] | undefined, call),
    },
    {
      method: 'GET', url: '/v1/keyserve/keyrings', action: 'rekey:ListMariaDbKeyrings', resource: () => ks.arnOf('*'),
      summary: 'List keyrings', audit: [], run: async () => ({ keyrings: await ks.list() }),
    },
    {
      method: 'GET', url: '/v1/keyserve/keyrings/:name', action: 'rekey:DescribeMariaDbKeyring', resource,
      summary: 'A keyring: its KMS key, keys and their latest versions', schema: { params: NAME_PARAMS }, audit: ['name'],
      run: (i) => ks.describe(name(i)),
    },
    {
      method: 'POST', url: '/v1/keyserve/keyrings/:name/keys', action: 'rekey:CreateMariaDbKey', resource, gate: 'operation',
      summary: 'Add a key id (version 1) to a keyring',
      schema: { params: NAME_PARAMS, body: { type: 'object', required: ['keyId'], additionalProperties: false, properties: { keyId: { type: 'integer', minimum: 1, maximum: 4294967295 } } } },
      audit: ['name', 'keyId'],
      run: (i, call) => ks.createKey(name(i), i['keyId'], call),
    },
    {
      method: 'POST', url: '/v1/keyserve/keyrings/:name/sync', action: 'rekey:SyncMariaDbKeyring', resource, gate: 'operation',
      summary: 'Add a version to every key made under an older KMS key material (a rotation does it on its own)',
      schema: { params: NAME_PARAMS }, audit: ['name'], status: 200,
      run: async (i, call) => ({ added: await ks.sync(name(i), call), keyring: await ks.describe(name(i)) }),
    },
    {
      method: 'POST', url: '/v1/keyserve/keyrings/:name/tokens', action: 'rekey:CreateMariaDbToken', resource, gate: 'operation',
      summary: 'Issue an X-Vault-Token for this keyring, acting as the caller (each read checks rekey:GetMariaDbKey)',
      schema: { params: NAME_PARAMS, body: { type: 'object', additionalProperties: false, properties: { description: { type: 'string', maxLength: 256 } } } },
      audit: ['name', 'description'],
      run: (i, call) => ks.issueToken(name(i), typeof i['description'] === 'string' ? i['description'] : undefined, call),
    },
    {
      method: 'GET', url: '/v1/keyserve/keyrings/:name/tokens', action: 'rekey:ListMariaDbTokens', resource,
      summary: 'The keyring\'s tokens (accessors, principals, revocation; never the tokens)', schema: { params: NAME_PARAMS }, audit: ['name'],
      run: async (i) => ({ tokens: await ks.listTokens(name(i)) }),
    },
    {
      method: 'DELETE', url: '/v1/keyserve/keyrings/:name/tokens/:accessor', action: 'rekey:RevokeMariaDbToken', resource, gate: 'operation',
      summary: 'Revoke a token: its next read is refused (the plugin keeps keys it cached until they expire)',
      schema: { params: { type: 'object', required: ['name', 'accessor'], properties: { name: NAME, accessor: { type: 'string', pattern: '^[0-9a-f]{24}$' } } } },
      audit: ['name', 'accessor'],
      run: (i, call) => ks.revokeToken(name(i), String(i['accessor']), call),
    },
  ];
}
