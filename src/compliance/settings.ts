// Compliance settings (config `compliance` block, docs/COMPLIANCE.md). Every field has a default.

export interface ComplianceSettings {
  /**
   * The longest rotation period a customer key may have, in days. Default 365: PCI DSS asks the key
   * owner to define a cryptoperiod (v4.0.1 3.7.4, v3.2.1 3.6.4) and points to SP 800-57 Part 1 §5.3;
   * one year is a common choice and AWS KMS's default rotation period.
   */
  cryptoperiodDays: number;
  /** A certificate expiring within this many days is a finding. Default 30. */
  certificateExpiryDays: number;
  /** The audit chain must have been verified within this many hours. Default 24 (PCI DSS 10.4.1: daily). */
  auditVerifyMaxAgeHours: number;
  /** A scheduled secret rotation this late is overdue. Default 24 hours. */
  secretRotationGraceHours: number;
  /** The scheduled evaluation runs every this many minutes. Default 60. */
  evaluateEveryMinutes: number;
}

export const DEFAULT_SETTINGS: Readonly<ComplianceSettings> = Object.freeze({
  cryptoperiodDays: 365,
  certificateExpiryDays: 30,
  auditVerifyMaxAgeHours: 24,
  secretRotationGraceHours: 24,
  evaluateEveryMinutes: 60,
});

export function settingsOf(input: Partial<ComplianceSettings> | undefined): ComplianceSettings {
  return { ...DEFAULT_SETTINGS, ...(input ?? {}) };
}

/** The JSON schema of the config block (src/config/config.ts). */
export const COMPLIANCE_CONFIG_SCHEMA = {
  type: 'object', additionalProperties: false,
  properties: {
    cryptoperiodDays: { type: 'integer', minimum: 1, maximum: 3650 },
    certificateExpiryDays: { type: 'integer', minimum: 0, maximum: 3650 },
    auditVerifyMaxAgeHours: { type: 'integer', minimum: 1, maximum: 8760 },
    secretRotationGraceHours: { type: 'integer', minimum: 0, maximum: 8760 },
    evaluateEveryMinutes: { type: 'integer', minimum: 1, maximum: 10080 },
  },
} as const;
