// The proxy's SecretSource port (src/proxy/ports.ts) over Secrets Manager: AWSCURRENT and
// AWSPREVIOUS read internally (no caller authorization; waits during a switching window like
// GetSecretValue), and rotation notices from this node's secrets.rotate jobs.
import type { SecretsService } from './service.ts';
import { parseDbSecret, readStageInternal } from './internal-read.ts';
import { AWSCURRENT, AWSPREVIOUS } from './model.ts';
import type { SecretCredentials, SecretSource } from '../proxy/ports.ts';

export class SecretsSource implements SecretSource {
  private readonly listeners = new Set<(arn: string) => void>();

  constructor(private readonly secrets: SecretsService) {}

  private async read(id: string, stage: typeof AWSCURRENT | typeof AWSPREVIOUS): Promise<SecretCredentials | undefined> {
    const v = await readStageInternal(this.secrets.ctx, id, stage);
    if (!v) return undefined;
    return { versionId: v.versionId, ...parseDbSecret(v.value), ...(v.demotedAt ? { demotedAt: v.demotedAt } : {}) };
  }

  async current(id: string): Promise<SecretCredentials> {
    const c = await this.read(id, AWSCURRENT);
    if (!c) throw new Error(`secret ${id} has no AWSCURRENT version`);
    return c;
  }

  previous(id: string): Promise<SecretCredentials | undefined> {
    return this.read(id, AWSPREVIOUS);
  }

  onRotated(listener: (arn: string) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** A rotation finished on this node (AWSCURRENT moved). */
  rotated(arn: string): void {
    for (const l of this.listeners) l(arn);
  }
}
