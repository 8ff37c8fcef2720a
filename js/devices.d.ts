// Type declarations for phiseal/devices (js/devices.js): linking a new device (docs/FORMAT.md §10).
import type { Json, PrivateKey, PublicKey } from './index.js';

/** A device-link message (docs/FORMAT.md §10): relay it as JSON. */
export interface DeviceLinkMessage {
  v: 1;
  type: 'phiseal-device-commit' | 'phiseal-device-hello' | 'phiseal-device-reveal' | 'phiseal-device-transfer';
  [member: string]: Json;
}
/**
 * One side of linking a new device to an existing one through an untrusted relay (FORMAT §10): the new device
 * commits to its key first, both show a 6-digit code over both keys and nonces, the people compare.
 */
export declare class DeviceLink {
  private constructor();
  /** The new device: `{}` (makes its key pair); the existing device: `{privateKey}`. */
  static create(options?: { privateKey?: PrivateKey }): Promise<DeviceLink>;
  /** This device's key (for the new device: its key from now on). */
  readonly privateKey: PrivateKey;
  /** The 6-digit code to compare (null until both keys are known). */
  readonly code: string | null;
  /** SHA-384 of the transcript, hex (null until then). */
  readonly fingerprint: string | null;
  /** The other device's key, after confirm() (MISUSE before). */
  readonly peer: PublicKey;
  /** New device, step 1. */
  commit(): Promise<DeviceLinkMessage>;
  /** Existing device, step 2. */
  hello(commit: DeviceLinkMessage): Promise<DeviceLinkMessage>;
  /** New device, step 3. */
  reveal(hello: DeviceLinkMessage): Promise<DeviceLinkMessage>;
  /** Existing device, step 4: CONTEXT_MISMATCH when the revealed key is not the committed one. */
  accept(reveal: DeviceLinkMessage): Promise<void>;
  /** The people compared the codes and they match. */
  confirm(): void;
  /** Existing device, after confirm(): HPKE (auth mode) to the new device, bound to this link. */
  sealTo(bytes: Uint8Array): Promise<DeviceLinkMessage>;
  /** New device, after confirm(): opens what the existing device sealed to it. */
  open(transfer: DeviceLinkMessage): Promise<Uint8Array>;
}
