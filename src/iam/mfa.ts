// Virtual MFA devices (AWS CreateVirtualMFADevice / EnableMFADevice / DeactivateMFADevice /
// DeleteVirtualMFADevice / ListMFADevices), RFC 6238 TOTP codes. A device's last accepted time
// step is stored with compare-and-swap, so a code is accepted at most once even across nodes.
import { gatedBarrier, type BarrierView, type WriteGate } from '../storage/gate.ts';
import { randomBytes } from '../crypto/index.ts';
import { AlreadyExistsException, NotFoundException, ValidationException } from '../errors.ts';
import { DeleteConflictException, InvalidAuthenticationCodeException } from './errors.ts';
import { mfaDeviceArn } from './identity.ts';
import { PATHS, checkName, nowIso, putNew, type MfaDeviceRecord } from './model.ts';
import { base32Decode, base32Encode, hotp, matchTotp, timeStep } from './totp.ts';

export interface MfaDeviceInfo {
  serialNumber: string;
  userName?: string;
  enabled: boolean;
  createdAt: string;
  enabledAt?: string;
}

export interface NewVirtualDevice {
  serialNumber: string;
  /** RFC 4648 base32 secret: shown once, to load into an authenticator app. */
  base32StringSeed: string;
  /** otpauth:// URI (what the QR code encodes). */
  otpauthUri: string;
}

const info = (d: MfaDeviceRecord): MfaDeviceInfo => ({
  serialNumber: d.serialNumber, enabled: d.enabled, createdAt: d.createdAt,
  ...(d.userName ? { userName: d.userName } : {}), ...(d.enabledAt ? { enabledAt: d.enabledAt } : {}),
});

/** The device name from a serial number (arn:aws:iam::<account>:mfa/<name>). */
function deviceName(serial: string, accountId: string): string | undefined {
  const m = /^arn:[\w-]+:iam::(\d{12}):mfa\/([\w+=,.@-]+)$/.exec(serial);
  return m && m[1] === accountId ? m[2] : undefined;
}

export class MfaStore {
  constructor(
    private readonly barrier: BarrierView,
    private readonly accountId: string,
    private readonly clock: () => Date = () => new Date(),
    private readonly partition = 'aws',
  ) {}

  /** The store as one mutating admin call sees it: writes through the call's gated view (src/storage/gate.ts). */
  forCall(gate: WriteGate): MfaStore {
    return new MfaStore(gatedBarrier(this.barrier, gate), this.accountId, this.clock, this.partition);
  }

  async createVirtualDevice(name: string, issuer = 'rekey'): Promise<NewVirtualDevice> {
    checkName(name, 'virtualMFADeviceName', 226);
    const secretBytes = randomBytes(20); // RFC 4226: "The length of the shared secret MUST be at least 128 bits ... RECOMMEND 160 bits"
    const secret = base32Encode(secretBytes);
    secretBytes.fill(0);
    const serialNumber = mfaDeviceArn(this.accountId, name, this.partition);
    const rec: MfaDeviceRecord = { serialNumber, name, secret, enabled: false, createdAt: nowIso(this.clock), lastStep: 0 };
    await putNew(this.barrier, PATHS.mfa(name), rec, () => new AlreadyExistsException('MFADevice entity at the same path and name already exists.'));
    const label = encodeURIComponent(`${issuer}:${name}@${this.accountId}`);
    return { serialNumber, base32StringSeed: secret, otpauthUri: `otpauth://totp/${label}?secret=${secret}&issuer=${encodeURIComponent(issuer)}&algorithm=SHA1&digits=6&period=30` };
  }

  private async load(serial: string): Promise<{ value: MfaDeviceRecord; version: number }> {
    const name = deviceName(serial, this.accountId);
    const e = name ? await this.barrier.getJSON<MfaDeviceRecord>(PATHS.mfa(name)) : null;
    if (!e) throw new NotFoundException(`MFA device with serial number ${serial} cannot be found.`);
    return e;
  }

  /**
   * AWS EnableMFADevice: "AuthenticationCode1 ... An authentication code emitted by the device.
   * AuthenticationCode2 ... A subsequent authentication code emitted by the device." Two
   * consecutive codes bind the device to the user.
   */
  async enable(userName: string, serialNumber: string, code1: string, code2: string): Promise<MfaDeviceInfo> {
    const e = await this.load(serialNumber);
    if (e.value.enabled) throw new AlreadyExistsException(`MFA device ${serialNumber} is already in use.`);
    const key = base32Decode(e.value.secret);
    const now = timeStep(this.clock().getTime() / 1000);
    let step: number | undefined;
    for (let s = now - 3; s <= now && step === undefined; s++) if (hotp(key, s) === code1 && hotp(key, s + 1) === code2) step = s + 1;
    key.fill(0);
    if (step === undefined) throw new InvalidAuthenticationCodeException('Authentication code for device is not valid.');
    const next: MfaDeviceRecord = { ...e.value, enabled: true, userName, enabledAt: nowIso(this.clock), lastStep: step };
    await this.barrier.putJSON(PATHS.mfa(e.value.name), next, { expectVersion: e.version });
    return info(next);
  }

  async deactivate(userName: string, serialNumber: string): Promise<void> {
    const e = await this.load(serialNumber);
    if (!e.value.enabled || e.value.userName?.toLowerCase() !== userName.toLowerCase()) throw new NotFoundException(`MFA Device with serial number ${serialNumber} not found for user ${userName}.`);
    const { userName: _u, enabledAt: _e, ...rest } = e.value;
    await this.barrier.putJSON(PATHS.mfa(e.value.name), { ...rest, enabled: false }, { expectVersion: e.version });
  }

  /** AWS DeleteVirtualMFADevice: "You must deactivate a user's virtual MFA device before you can delete it." */
  async delete(serialNumber: string): Promise<void> {
    const e = await this.load(serialNumber);
    if (e.value.enabled) throw new DeleteConflictException('MFA Device is still in use.');
    await this.barrier.delete(PATHS.mfa(e.value.name), { expectVersion: e.version });
  }

  async list(userName?: string): Promise<MfaDeviceInfo[]> {
    const out: MfaDeviceInfo[] = [];
    for (const k of await this.barrier.list(PATHS.mfas)) {
      const e = await this.barrier.getJSON<MfaDeviceRecord>(k);
      if (e && (userName === undefined || e.value.userName?.toLowerCase() === userName.toLowerCase())) out.push(info(e.value));
    }
    return out;
  }

  /**
   * Checks a code from the user's enabled device and consumes its time step. False for an unknown
   * or foreign device, a wrong code, or a code (or older step) already used.
   */
  async verify(userName: string, serialNumber: string, code: string): Promise<boolean> {
    if (!/^\d{6}$/.test(code)) throw new ValidationException(`1 validation error detected: Value at 'tokenCode' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\d]{6}`);
    for (let attempt = 0; attempt < 3; attempt++) {
      let e: { value: MfaDeviceRecord; version: number };
      try {
        e = await this.load(serialNumber);
      } catch {
        return false;
      }
      if (!e.value.enabled || e.value.userName?.toLowerCase() !== userName.toLowerCase()) return false;
      const key = base32Decode(e.value.secret);
      const step = matchTotp(key, code, this.clock().getTime() / 1000, e.value.lastStep);
      key.fill(0);
      if (step === undefined) return false;
      try {
        await this.barrier.putJSON(PATHS.mfa(e.value.name), { ...e.value, lastStep: step }, { expectVersion: e.version });
        return true;
      } catch (err) {
        if ((err as Error).name !== 'CasConflict') throw err;
        // someone used a code of this device at the same moment: re-read, the step check decides
      }
    }
    return false;
  }
}
