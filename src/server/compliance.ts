// Wires the compliance component (docs/COMPLIANCE.md): its ports over the database instances, the
// API's certificates and TLS, and the service the admin routes and the scheduled job use.
import type { Barrier } from '../storage/barrier.ts';
import type { Config } from '../config/config.ts';
import type { CertService } from '../certs/service.ts';
import type { DbService } from '../db/api.ts';
import type { CertFact, FactPorts, InstanceFact } from '../compliance/facts.ts';
import { ComplianceService } from '../compliance/service.ts';

export function compliancePorts(o: { cfg: Readonly<Config>; db: DbService; certs: CertService | undefined; tls: boolean }): FactPorts {
  const certArn = (name: string) => `arn:aws:rekey:${o.cfg.region}:${o.cfg.accountId}:certificate/${name}`;
  return {
    api: { tls: o.tls, mode: o.cfg.tls.mode },
    async instances(): Promise<InstanceFact[]> {
      const out: InstanceFact[] = [];
      let after: string | undefined;
      do {
        const page = await o.db.list({ limit: 100, ...(after !== undefined ? { after } : {}) });
        for (const i of page.instances) {
          out.push({
            id: i.id, arn: i.arn, storageEncrypted: i.storageEncrypted,
            ...(i.kmsKeyId ? { kmsKeyId: i.kmsKeyId } : {}), ...(i.masterUserSecret ? { masterUserSecretArn: i.masterUserSecret.secretArn } : {}),
          });
        }
        after = page.next;
      } while (after !== undefined);
      return out;
    },
    async certificates(): Promise<CertFact[]> {
      if (!o.certs) return [];
      const s = await o.certs.status(0);
      return [
        { arn: certArn('server'), role: 'server', serial: s.server.serial, notAfter: s.server.notAfter },
        ...(s.ca ? [{ arn: certArn('ca'), role: 'ca' as const, serial: s.ca.serial, notAfter: s.ca.notAfter }] : []),
      ];
    },
  };
}

export function openCompliance(o: { cfg: Readonly<Config>; barrier: Barrier; ports: FactPorts; clock?: () => Date }): ComplianceService {
  return new ComplianceService({
    barrier: o.barrier, region: o.cfg.region, accountId: o.cfg.accountId, ports: o.ports,
    ...(o.cfg.compliance ? { settings: o.cfg.compliance } : {}), ...(o.clock ? { clock: o.clock } : {}),
  });
}
