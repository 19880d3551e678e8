// The web console (docs/CONSOLE.md) in a real headless Chromium (Debian's /usr/bin/chromium, driven by
// playwright-core over CDP) against a real rekey server: sign-in, a key's rotation timeline after two
// rotations, Rotate now from the UI and its RotateKeyOnDemand event in the audit search, and a principal
// without permission seeing the refusal. Screenshots of each page go to .artifacts/console/ (gitignored).
// Where no Chromium is installed the test is skipped locally and fails under CI=true (.ci/run installs it).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { CreateAliasCommand, CreateKeyCommand, DescribeKeyCommand, EnableKeyRotationCommand, EncryptCommand, ListKeyRotationsCommand, RotateKeyOnDemandCommand } from '@aws-sdk/client-kms';
import { CreateSecretCommand, RotateSecretCommand } from '@aws-sdk/client-secrets-manager';
import type { RotationStrategy } from '../src/secrets/strategy.ts';
import { until } from './helpers/db-rotation-api.ts';
import { startTestServer, TEST_CREDS, type TestServer } from './helpers/server.ts';
import { makeUser, allow, type Creds } from './helpers/sts.ts';
import { rdsClient } from './helpers/rds.ts';
import { CreateDBInstanceCommand } from '@aws-sdk/client-rds';
import { InMemoryDbServiceForTests } from '../src/rds/testing.ts';
import { base32Decode, hotp, timeStep } from '../src/iam/totp.ts';

const CHROMIUM = process.env['REKEY_CHROMIUM'] ?? '/usr/bin/chromium';
const SHOTS = join(import.meta.dirname, '..', '.artifacts', 'console');
const haveBrowser = existsSync(CHROMIUM);
if (!haveBrowser && process.env['CI'] === 'true') throw new Error(`no Chromium at ${CHROMIUM}: .ci/run installs Debian's chromium`);

let s: TestServer;
let browser: Browser;
let keyId: string;
let keyArn: string;
let viewer: Creds;

// A rotation strategy with no database behind it (the console sees only the Secrets Manager API and the
// jobs; the database side is tested in test/secrets-db-*.test.ts). RotationLambdaARN names it.
const NOOP: RotationStrategy = {
  name: 'test-noop', needsMaster: false, invalidatesCurrent: false,
  createPending: (current, _previous, password) => ({ ...current, password }),
  async setSecret() {}, async testSecret() {},
};
const NOOP_ARN = 'arn:aws:lambda:us-east-1:111122223333:function:rekey-test-noop';
const FIRST_PASSWORD = 'p0-never-on-the-page';

before(async () => {
  if (!haveBrowser) return;
  mkdirSync(SHOTS, { recursive: true });
  // the Databases page reads the RDS Query API; the in-memory DbService double stands behind it here
  // (real instances need gocryptfs and PostgreSQL: test/db*.test.ts); the console sees only the API
  s = await startTestServer({ db: new InMemoryDbServiceForTests({ accountId: '111122223333', instant: true }), secretStrategies: [NOOP] });
  const kms = s.kmsClient();
  const created = await kms.send(new CreateKeyCommand({ Description: 'orders database' }));
  keyId = created.KeyMetadata!.KeyId!;
  keyArn = created.KeyMetadata!.Arn!;
  await kms.send(new CreateAliasCommand({ AliasName: 'alias/orders', TargetKeyId: keyId }));
  await kms.send(new EnableKeyRotationCommand({ KeyId: keyId, RotationPeriodInDays: 90 })); // the overview's upcoming work
  // two rotations before the browser looks: the timeline shows three material versions
  await kms.send(new RotateKeyOnDemandCommand({ KeyId: keyId }));
  await kms.send(new RotateKeyOnDemandCommand({ KeyId: keyId }));
  // a usage budget of 10 encryptions (the keys list shows the current material's use against it)
  await s.kms.lifecycle.admin().setUsageBudget(keyArn, { maxEncryptions: 10 });
  // one use (the usage chart and the budget count it) and one dependent (the dependency guard's warning names it)
  await kms.send(new EncryptCommand({ KeyId: keyId, Plaintext: new TextEncoder().encode('hello') }));
  const sm = s.secretsClient();
  await sm.send(new CreateSecretCommand({ Name: 'orders/db', KmsKeyId: keyId, SecretString: JSON.stringify({ engine: 'postgres', host: 'db', username: 'app', password: FIRST_PASSWORD }) }));
  // one rotation before the browser looks (every 60 days from now on: the overview's upcoming work)
  await sm.send(new RotateSecretCommand({ SecretId: 'orders/db', RotationLambdaARN: NOOP_ARN, RotationRules: { AutomaticallyAfterDays: 60 } }));
  await until('the first secret rotation', async () => (await s.jobs.list({ kind: 'secrets.rotate', state: 'succeeded' })).jobs.length === 1, 30_000);
  await rdsClient(s).send(new CreateDBInstanceCommand({
    DBInstanceIdentifier: 'orders', Engine: 'postgres', DBInstanceClass: 'db.t3.micro', AllocatedStorage: 20, MasterUsername: 'app',
    ManageMasterUserPassword: true, StorageEncrypted: true, KmsKeyId: keyArn,
  }));
  // a principal that may read keys but not rotate them, nor read the audit trail
  viewer = (await makeUser(s.iam, 'viewer', allow('kms:ListKeys', 'kms:ListAliases', 'kms:DescribeKey', 'kms:GetKeyRotationStatus', 'kms:ListKeyRotations'))).creds;
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage',
    // a non-loopback name for this machine: plain HTTP under it is not a secure context (the third test)
    '--host-resolver-rules=MAP rekey.test 127.0.0.1'] });
});

after(async () => {
  await browser?.close();
  await s?.cleanup();
});

const AXE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

/** axe-core's WCAG 2.x A/AA checks on the page as it is; returns the serious and critical violations. */
async function accessibilityProblems(page: Page): Promise<string[]> {
  // evaluated over the DevTools protocol, so the page's CSP (script-src 'self') stays as it is
  await page.evaluate(`${AXE};undefined`);
  const found = await page.evaluate(async () => {
    const axe = (globalThis as unknown as { axe: { run(ctx: unknown, o: unknown): Promise<{ violations: { id: string; impact: string; help: string; nodes: { target: string[] }[] }[] }> } }).axe;
    const r = await axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } });
    return r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, where: v.nodes.slice(0, 3).map((n) => n.target.join(' ')) }));
  });
  return found.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => `${v.id} (${v.impact}): ${v.help} at ${v.where.join(', ')}`);
}

const shot = (page: Page, name: string) => page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });

test('the console in Chromium: sign-in, rotation timeline, Rotate now, its audit event, a refusal', { skip: !haveBrowser && 'no Chromium here (CI installs it)', timeout: 60_000 }, async () => {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  context.setDefaultTimeout(20_000);
  const page = await context.newPage();
  try {
    await walkThrough(page);
  } catch (e) {
    // what the page showed when it failed: a screenshot and its text
    await shot(page, 'failed').catch(() => {});
    console.log(`# page at failure (${page.url()}):\n${(await page.locator('body').innerText().catch(() => '')).replace(/^/gm, '#   ')}`);
    throw e;
  } finally {
    await context.close();
  }
});

async function walkThrough(page: Page): Promise<void> {
  const pageErrors: string[] = [];
  page.on('pageerror', (e) => pageErrors.push(String(e)));
  page.on('console', (m) => { if (m.type() === 'error') pageErrors.push(m.text()); });

  // first page, cold: the server bundles the console on this first request (docs/CONSOLE.md, "First page")
  const t0 = performance.now();
  await page.goto(`${s.url}/console`);
  await page.getByRole('heading', { name: 'Sign in to rekey' }).waitFor();
  const coldMs = performance.now() - t0;
  await shot(page, '01-sign-in');
  assert.deepEqual(await accessibilityProblems(page), [], 'sign-in page');

  // a wrong secret: the STS refusal is shown, nothing is stored
  await page.getByLabel('Access key id').fill(TEST_CREDS.accessKeyId);
  await page.getByLabel('Secret access key').fill('not-the-secret');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('alert').filter({ hasText: 'SignatureDoesNotMatch' }).waitFor();
  assert.equal(await page.evaluate(() => sessionStorage.length), 0);

  await page.getByLabel('Secret access key').fill(TEST_CREDS.secretAccessKey);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { level: 1, name: 'Overview' }).waitFor();
  // only the STS session is kept: never the long-term secret
  const stored = await page.evaluate(() => JSON.stringify(sessionStorage));
  assert.ok(!stored.includes(TEST_CREDS.secretAccessKey), 'the long-term secret key is not stored');
  const session = JSON.parse(await page.evaluate(() => sessionStorage.getItem('rekey.console.session') ?? 'null')) as { accessKeyId: string; sessionToken: string; arn: string };
  assert.match(session.accessKeyId, /^ASIA/);
  assert.ok(session.sessionToken.length > 0);
  assert.equal(session.arn, `arn:aws:iam::${s.iam.accountId}:user/rekey-admin`);
  await page.getByRole('heading', { name: /Upcoming work \(next 30 days\)/ }).waitFor();
  await page.getByText('Nothing is scheduled in the next 30 days.').waitFor();
  // alarms (GET /v1/alarms, docs/ALARMS.md): the built-ins with their state, on the same page
  await page.getByRole('table', { name: 'Alarms' }).getByRole('row').filter({ hasText: 'kms-access-denied' }).waitFor();
  assert.match(await page.getByRole('heading', { name: /^Alarms/ }).innerText(), /^Alarms \d+ in ALARM of \d+$/);
  // the automatic rotation, 90 days out, once the window reaches it (GET /v1/jobs/upcoming?days=365)
  await page.getByLabel('Show the next').selectOption('365');
  await page.getByRole('heading', { name: /Upcoming work \(next 365 days\)/ }).waitFor();
  const upcoming = page.getByRole('row').filter({ hasText: 'Key rotation' });
  await upcoming.waitFor();
  assert.equal(await upcoming.getByRole('link', { name: keyId }).count(), 1);
  await page.getByRole('row').filter({ hasText: 'Secret rotation' }).filter({ hasText: 'orders/db' }).waitFor();
  await shot(page, '02-overview');

  // warm first page (assets cached by the server, not by the browser: a new context)
  const warm = await browser.newContext();
  const wp = await warm.newPage();
  const t1 = performance.now();
  await wp.goto(`${s.url}/console`);
  await wp.getByRole('heading', { name: 'Sign in to rekey' }).waitFor();
  const warmMs = performance.now() - t1;
  const nav = await wp.evaluate(() => { const n = performance.getEntriesByType('navigation')[0] as PerformanceNavigationTiming; return { dcl: n.domContentLoadedEventEnd, load: n.loadEventEnd }; });
  const bytes = await wp.evaluate(() => performance.getEntriesByType('resource').reduce((sum, r) => sum + (r as PerformanceResourceTiming).encodedBodySize, 0));
  await warm.close();
  console.log(`# console first page: cold ${coldMs.toFixed(0)} ms (includes the bundle build), warm ${warmMs.toFixed(0)} ms to the sign-in form`
    + ` (navigation: DOMContentLoaded ${nav.dcl.toFixed(0)} ms, load ${nav.load.toFixed(0)} ms; ${bytes} bytes of script and style)`);
  // measured here: about 130-360 ms (docs/CONSOLE.md); the bound is loose because CI runs suites side by side,
  // and it still catches a console that rebuilds its bundle per request or waits on the network
  assert.ok(warmMs < 3000, `first page in under 3 s even on a loaded machine (was ${warmMs.toFixed(0)} ms)`);

  // keys list
  await page.getByRole('link', { name: 'Keys', exact: true }).click();
  const row = page.getByRole('row').filter({ hasText: 'alias/orders' });
  await row.waitFor();
  assert.match(await row.innerText(), /Enabled\s+every 90 days/);
  assert.match(await row.innerText(), /10% 1 encryption, 5 B of 10 encryptions/);
  await shot(page, '03-keys');

  // one key: the timeline after two rotations (created + 2 on demand)
  await page.getByRole('link', { name: 'alias/orders' }).click();
  await page.getByRole('heading', { level: 1, name: 'Key alias/orders' }).waitFor();
  const versions = page.getByRole('list', { name: /Key material versions/ }).getByRole('listitem');
  await assertCount(versions, 3);
  const texts = await versions.allInnerTexts();
  assert.match(texts[0]!, /v1.*Created with the key/s);
  assert.match(texts[1]!, /v2.*On demand/s);
  assert.match(texts[2]!, /v3.*On demand.*current/s);
  await shot(page, '04-key-timeline');
  assert.deepEqual(await accessibilityProblems(page), [], 'key page');

  // Rotate now, from the UI
  await page.getByRole('button', { name: 'Rotate now' }).click();
  await page.getByRole('status').filter({ hasText: 'Rotated' }).waitFor();
  await assertCount(versions, 4);
  assert.match((await versions.allInnerTexts())[3]!, /v4.*On demand.*current/s);
  const rotations = await s.kmsClient().send(new ListKeyRotationsCommand({ KeyId: keyId }));
  assert.equal(rotations.Rotations?.length, 3, 'the server has the third rotation');
  await shot(page, '05-key-rotated');

  // ... and its event in the audit search
  await s.audit.settled(); // the store sink's group commit
  await page.getByRole('link', { name: 'Audit', exact: true }).click();
  await page.getByLabel('Event name').fill('RotateKeyOnDemand');
  await page.getByLabel('Resource ARN').fill(keyArn);
  await page.getByRole('button', { name: 'Search' }).click();
  const events = page.locator('table.events tbody tr');
  await assertCount(events, 3); // two from the SDK, one from the console
  for (const t of await events.allInnerTexts()) assert.match(t, /RotateKeyOnDemand/);
  // the newest is the console's: its session's user agent is the browser's
  const newest = await s.audit.lookup({ eventName: 'RotateKeyOnDemand', maxResults: 1 });
  assert.match(String(newest.events[0]?.event.userAgent), /HeadlessChrome/);
  await shot(page, '06-audit');
  assert.deepEqual(await accessibilityProblems(page), [], 'audit page with results');

  // the key page's link to its events opens the search already run
  await page.goto(`${s.url}/console#/keys/${keyId}`);
  await page.getByRole('link', { name: 'All events for this key' }).click();
  await page.locator('table.events tbody tr').first().waitFor();
  assert.equal(await page.getByLabel('Resource ARN').inputValue(), keyArn);

  // Disable: the dependency guard's warning names the secret; without the override rekey refuses
  await page.goto(`${s.url}/console#/keys/${keyId}`);
  await page.getByRole('heading', { level: 1, name: 'Key alias/orders' }).waitFor();
  const chart = page.getByRole('img', { name: /cryptographic calls per day/ });
  assert.match(String(await chart.getAttribute('aria-label')), /: 1 in all; \d{4}-\d\d-\d\d: 1/, 'the one Encrypt, today');
  await page.getByRole('button', { name: 'Disable…' }).click();
  const panel = page.getByRole('group', { name: 'Disable this key' });
  await panel.getByRole('note').filter({ hasText: '1 rekey resource uses this key' }).waitFor();
  assert.match(await panel.innerText(), /secret orders\/db/);
  await panel.getByRole('button', { name: 'Disable key' }).click();
  const guard = page.getByRole('alert').filter({ hasText: 'Disable: KMSInvalidStateException' });
  await guard.waitFor();
  assert.match(await guard.innerText(), /cannot be disabled: 1 rekey resource uses it/);
  await shot(page, '07-disable-guard');
  assert.equal((await s.kmsClient().send(new DescribeKeyCommand({ KeyId: keyId }))).KeyMetadata?.KeyState, 'Enabled');

  // secrets: the list, then the secret's versions and labels (never its value)
  await page.getByRole('link', { name: 'Secrets', exact: true }).click();
  await page.getByRole('link', { name: 'orders/db' }).click();
  await page.getByRole('heading', { level: 1, name: 'Secret orders/db' }).waitFor();
  await page.locator('.label-AWSCURRENT').waitFor();
  await page.getByText('every 60 days').first().waitFor();
  // Rotate now: the page follows the job live until it has run its steps
  await page.getByRole('button', { name: 'Rotate now' }).click();
  await page.getByRole('status').filter({ hasText: 'Rotation started' }).waitFor();
  await until('the second secret rotation', async () => (await s.jobs.list({ kind: 'secrets.rotate', state: 'succeeded' })).jobs.length === 2, 30_000);
  // the jobs' audit events are written by the job hooks: settle them, then refresh the page
  await s.audit.settled();
  await page.getByRole('button', { name: 'Refresh' }).click();
  const history = page.getByRole('row').filter({ hasText: 'RotationSucceeded' });
  await assertCount(history, 2);
  assert.equal(await page.getByRole('row').filter({ hasText: 'RotationStarted' }).count(), 2);
  await page.locator('.label-AWSPREVIOUS').waitFor();
  await page.getByText('None: every rotation has finished').waitFor();
  assert.doesNotMatch(await page.locator('body').innerText(), /p0-never-on-the-page|password/);
  await shot(page, '08-secret');

  // databases: the instance under the key, as the RDS API describes it
  await page.getByRole('link', { name: 'Databases', exact: true }).click();
  const instance = page.getByRole('row').filter({ hasText: 'orders' });
  await instance.waitFor();
  assert.match(await instance.innerText(), /available/);
  assert.equal(await instance.getByRole('link', { name: keyId }).count(), 1, 'the instance links to its KMS key');
  await shot(page, '09-databases');

  // a principal without permission: the refusal is shown, nothing changes
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.getByRole('heading', { name: 'Sign in to rekey' }).waitFor();
  assert.equal(await page.evaluate(() => sessionStorage.length), 0);
  // by keyboard alone: the access key field has the focus, Tab moves to the secret, Enter submits
  await page.keyboard.type(viewer.accessKeyId);
  await page.keyboard.press('Tab');
  await page.keyboard.type(viewer.secretAccessKey);
  await page.keyboard.press('Enter');
  await page.getByRole('button', { name: 'Sign out' }).waitFor(); // back on the page it signed out from (#/audit)
  await page.getByRole('link', { name: 'Overview', exact: true }).click();
  await page.getByRole('alert').filter({ hasText: 'AccessDenied' }).first().waitFor(); // the overview's jobs: not allowed
  await page.goto(`${s.url}/console#/keys/${keyId}`);
  await page.getByRole('heading', { level: 1, name: 'Key alias/orders' }).waitFor();
  await assertCount(versions, 4); // the viewer may read the timeline
  await page.getByRole('button', { name: 'Rotate now' }).click();
  const refusal = page.getByRole('alert').filter({ hasText: 'Rotate now' });
  await refusal.waitFor();
  const refusalText = await refusal.innerText();
  assert.match(refusalText, /AccessDeniedException/);
  assert.match(refusalText, /kms:RotateKeyOnDemand/);
  await shot(page, '10-refused-rotate');
  assert.equal((await s.kmsClient().send(new ListKeyRotationsCommand({ KeyId: keyId }))).Rotations?.length, 3, 'the refused rotation changed nothing');
  // nor may the viewer read the audit trail
  await page.getByRole('link', { name: 'Audit', exact: true }).click();
  await page.getByRole('button', { name: 'Search' }).click();
  await page.getByRole('alert').filter({ hasText: 'AccessDeniedException' }).waitFor();
  assert.equal(await page.locator('table.events').count(), 0);
  await shot(page, '11-refused-audit');

  assert.deepEqual(pageErrors.filter((e) => !/status of 4\d\d/.test(e)), [], 'no script errors in the page');
}

// test/mfa.test.ts's key policy: destructive actions need an MFA session
const MFA_POLICY = (account: string) => JSON.stringify({
  Version: '2012-10-17',
  Statement: [
    { Sid: 'Enable IAM User Permissions', Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${account}:root` }, Action: 'kms:*', Resource: '*' },
    {
      Sid: 'Require MFA for destructive actions', Effect: 'Deny', Principal: '*', Action: ['kms:ScheduleKeyDeletion', 'kms:DisableKey'], Resource: '*',
      Condition: { BoolIfExists: { 'aws:MultiFactorAuthPresent': 'false' } },
    },
  ],
});

test('MFA where the key policy requires it: Disable is refused in a session without MFA, and works after signing in with a code', { skip: !haveBrowser && 'no Chromium here (CI installs it)', timeout: 60_000 }, async () => {
  const key = (await s.kmsClient().send(new CreateKeyCommand({ Description: 'payments', Policy: MFA_POLICY(s.iam.accountId), BypassPolicyLockoutSafetyCheck: true }))).KeyMetadata!;
  const ops = await makeUser(s.iam, 'ops', allow('kms:*'));
  const device = await s.iam.mfa.createVirtualDevice('ops-phone');
  const seed = base32Decode(device.base32StringSeed);
  const step = timeStep(Date.now() / 1000);
  await s.iam.mfa.enable('ops', device.serialNumber, hotp(seed, step - 3), hotp(seed, step - 2));

  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  context.setDefaultTimeout(20_000);
  const page = await context.newPage();
  try {
    const signIn = async (mfa?: { serial: string; code: string }) => {
      await page.getByLabel('Access key id').fill(ops.creds.accessKeyId);
      await page.getByLabel('Secret access key').fill(ops.creds.secretAccessKey);
      if (mfa) {
        await page.getByText('MFA or session credentials').click();
        await page.getByLabel('MFA device ARN').fill(mfa.serial);
        await page.getByLabel('MFA code').fill(mfa.code);
      }
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.getByRole('heading', { level: 1, name: `Key ${key.KeyId}` }).waitFor();
    };
    const disable = async () => {
      await page.getByRole('button', { name: 'Disable…' }).click();
      await page.getByRole('group', { name: 'Disable this key' }).getByRole('button', { name: 'Disable key' }).click();
    };
    await page.goto(`${s.url}/console#/keys/${key.KeyId}`);
    await signIn();
    await disable();
    const refusal = page.getByRole('alert').filter({ hasText: 'Disable: AccessDeniedException' });
    await refusal.waitFor();
    assert.match(await refusal.innerText(), /not authorized to perform: kms:DisableKey .* with an explicit deny in a resource-based policy/);
    await shot(page, '12-mfa-required');
    assert.equal((await s.kmsClient().send(new DescribeKeyCommand({ KeyId: key.KeyId }))).KeyMetadata?.KeyState, 'Enabled');

    await page.getByRole('button', { name: 'Sign out' }).click();
    await signIn({ serial: device.serialNumber, code: hotp(seed, timeStep(Date.now() / 1000)) });
    await disable();
    await page.getByRole('status').filter({ hasText: 'Disabled.' }).waitFor();
    await page.locator('.state-Disabled').first().waitFor();
    await shot(page, '13-mfa-disabled');
    assert.equal((await s.kmsClient().send(new DescribeKeyCommand({ KeyId: key.KeyId }))).KeyMetadata?.KeyState, 'Disabled');
  } catch (e) {
    await shot(page, 'failed-mfa').catch(() => {});
    throw e;
  } finally {
    await context.close();
  }
});

test('over HTTPS (the generated certificate) the console signs in; over plain HTTP on a non-loopback name it says why it cannot', { skip: !haveBrowser && 'no Chromium here (CI installs it)', timeout: 60_000 }, async () => {
  const tls = await startTestServer({ env: { REKEY_TLS: 'generated' } });
  // the browser does not know rekey's CA (test/tls.test.ts verifies the chain with it); only this context skips the check
  const context = await browser.newContext({ ignoreHTTPSErrors: true });
  context.setDefaultTimeout(20_000);
  const page = await context.newPage();
  try {
    assert.match(tls.url, /^https:/);
    await page.goto(`${tls.url}/console#/keys`);
    await page.getByLabel('Access key id').fill(TEST_CREDS.accessKeyId);
    await page.getByLabel('Secret access key').fill(TEST_CREDS.secretAccessKey);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { level: 1, name: 'Keys' }).waitFor();
    await page.getByText('No keys are visible to you.').waitFor();
    await shot(page, '14-https');

    // plain HTTP under a name other than 127.0.0.1 / localhost: no WebCrypto, so no signing
    const port = new URL(s.url).port;
    await page.goto(`http://rekey.test:${port}/console`);
    assert.equal(await page.evaluate(() => globalThis.isSecureContext), false);
    await page.getByLabel('Access key id').fill(TEST_CREDS.accessKeyId);
    await page.getByLabel('Secret access key').fill(TEST_CREDS.secretAccessKey);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').filter({ hasText: 'InsecureContext' }).filter({ hasText: 'open the console over HTTPS' }).waitFor();
    await shot(page, '15-insecure-context');
  } catch (e) {
    await shot(page, 'failed-https').catch(() => {});
    throw e;
  } finally {
    await context.close();
    await tls.cleanup();
  }
});

/** Waits for the n-th element (Playwright's auto-waiting, no sleeps), then checks there are exactly n. */
async function assertCount(locator: ReturnType<Page['locator']>, n: number): Promise<void> {
  await locator.nth(n - 1).waitFor({ timeout: 10_000 });
  assert.equal(await locator.count(), n);
}
