// The compliance rules and the standard clauses each one supports (docs/COMPLIANCE.md has the same
// table for readers; src/compliance/standards.test.ts checks that the two agree).
//
// A clause is cited only where its text was checked (docs/COMPLIANCE.md, "Sources"): PCI DSS v4.0.1
// (and v3.2.1 where the brief's reference, 3.6.4, comes from), the HIPAA Security Rule (45 CFR
// 164.312), NIST SP 800-57 Part 1 Rev. 5 §5.3 (Cryptoperiods). A rule with no clause in a standard
// does not appear in that standard's report.

export const STANDARDS = ['pci-dss', 'hipaa', 'sp800-57'] as const;
export type Standard = (typeof STANDARDS)[number];

export const RULE_IDS = [
  'kms-rotation-disabled',
  'kms-rotation-period-exceeds-cryptoperiod',
  'kms-usage-budget-exceeded',
  'kms-pending-deletion-with-dependents',
  'kms-policy-separation-of-duties',
  'kms-admin-without-mfa',
  'secret-never-rotated',
  'secret-rotation-overdue',
  'db-storage-not-encrypted',
  'db-no-managed-master-secret',
  'api-without-tls',
  'audit-not-verified',
  'certificate-near-expiry',
] as const;
export type RuleId = (typeof RULE_IDS)[number];

export interface RuleInfo {
  title: string;
  severity: 'high' | 'medium' | 'low';
  clauses: Readonly<Partial<Record<Standard, readonly string[]>>>;
}

const CRYPTOPERIOD = {
  'pci-dss': ['PCI DSS v4.0.1 3.7.4 (v3.2.1 3.6.4): key changes at the end of the defined cryptoperiod'],
  hipaa: ['45 CFR 164.312(a)(2)(iv): encryption and decryption'],
  'sp800-57': ['SP 800-57 Part 1 Rev. 5 §5.3: cryptoperiods'],
} as const;

export const RULES: Readonly<Record<RuleId, RuleInfo>> = {
  'kms-rotation-disabled': { title: 'Customer key with automatic rotation disabled', severity: 'high', clauses: CRYPTOPERIOD },
  'kms-rotation-period-exceeds-cryptoperiod': { title: 'Customer key rotation period longer than the configured cryptoperiod', severity: 'high', clauses: CRYPTOPERIOD },
  'kms-usage-budget-exceeded': {
    title: 'Current key material used beyond its usage budget', severity: 'high',
    clauses: {
      'pci-dss': ['PCI DSS v4.0.1 3.7.4 (v3.2.1 3.6.4: "after a certain amount of cipher-text has been produced by a given key")'],
      hipaa: ['45 CFR 164.312(a)(2)(iv): encryption and decryption'],
      'sp800-57': ['SP 800-57 Part 1 Rev. 5 §5.3: cryptoperiods (maximum amount of data protected by a key)'],
    },
  },
  'kms-pending-deletion-with-dependents': {
    title: 'Key pending deletion still protects rekey resources', severity: 'high',
    clauses: { hipaa: ['45 CFR 164.312(c)(1): integrity (protect ePHI from improper destruction)'] },
  },
  'kms-policy-separation-of-duties': {
    title: 'One principal may both administer and use a key', severity: 'medium',
    clauses: {
      'pci-dss': ['PCI DSS v3.2.1 3.5.2: access to keys restricted to the fewest custodians necessary'],
      hipaa: ['45 CFR 164.312(a)(1): access control'],
    },
  },
  'kms-admin-without-mfa': {
    title: 'Key administration allowed without MFA', severity: 'medium',
    clauses: { 'pci-dss': ['PCI DSS v4.0.1 8.4.2: MFA for all access into the CDE'], hipaa: ['45 CFR 164.312(d): person or entity authentication'] },
  },
  'secret-never-rotated': {
    title: 'Secret never rotated', severity: 'medium',
    clauses: { 'pci-dss': ['PCI DSS v4.0.1 8.6.3: application and system account passwords changed periodically'], hipaa: ['45 CFR 164.312(d): person or entity authentication'] },
  },
  'secret-rotation-overdue': {
    title: 'Secret not rotated within its schedule', severity: 'medium',
    clauses: { 'pci-dss': ['PCI DSS v4.0.1 8.6.3: application and system account passwords changed periodically'], hipaa: ['45 CFR 164.312(d): person or entity authentication'] },
  },
  'db-storage-not-encrypted': {
    title: 'Database instance storage not encrypted', severity: 'high',
    clauses: { 'pci-dss': ['PCI DSS v4.0.1 3.5.1: PAN rendered unreadable anywhere it is stored (strong cryptography)'], hipaa: ['45 CFR 164.312(a)(2)(iv): encryption and decryption'] },
  },
  'db-no-managed-master-secret': {
    title: 'Database master password not managed in a rotated secret', severity: 'medium',
    clauses: { 'pci-dss': ['PCI DSS v4.0.1 8.6.3: application and system account passwords changed periodically'], hipaa: ['45 CFR 164.312(d): person or entity authentication'] },
  },
  'api-without-tls': {
    title: 'API served without TLS', severity: 'high',
    clauses: { 'pci-dss': ['PCI DSS v4.0.1 4.2.1: strong cryptography during transmission'], hipaa: ['45 CFR 164.312(e)(1) and (e)(2)(ii): transmission security, encryption'] },
  },
  'audit-not-verified': {
    title: 'Audit chain not verified within the configured period', severity: 'medium',
    clauses: { 'pci-dss': ['PCI DSS v4.0.1 10.3: audit logs protected from destruction and unauthorized modification', 'PCI DSS v4.0.1 10.4.1: audit logs reviewed at least once daily'], hipaa: ['45 CFR 164.312(b): audit controls'] },
  },
  'certificate-near-expiry': {
    title: 'Certificate expires soon', severity: 'medium',
    clauses: { 'pci-dss': ['PCI DSS v4.0.1 4.2.1: certificates confirmed valid and not expired'], hipaa: ['45 CFR 164.312(e)(1): transmission security'] },
  },
};

export function isStandard(s: string): s is Standard {
  return (STANDARDS as readonly string[]).includes(s);
}

/** The rules a standard's report covers. */
export function rulesOf(standard: Standard): RuleId[] {
  return RULE_IDS.filter((id) => (RULES[id].clauses[standard]?.length ?? 0) > 0);
}
