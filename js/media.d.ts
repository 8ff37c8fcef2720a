// Type declarations for phiseal/media (js/media.js): SFrame (RFC 9605) E2EE for WebRTC.
import type { Certificate, PrivateKey, PublicKey, Trust } from './index.js';

export declare const SframeSuite: {
  readonly AES_128_CTR_HMAC_SHA256_80: 1;
  readonly AES_128_CTR_HMAC_SHA256_64: 2;
  readonly AES_128_CTR_HMAC_SHA256_32: 3;
  readonly AES_128_GCM_SHA256_128: 4;
  readonly AES_256_GCM_SHA512_128: 5;
};
export type SframeSuite = (typeof SframeSuite)[keyof typeof SframeSuite];

export interface PrefixPolicy {
  key: number;
  delta: number;
  codec?: 'h264';
}
export declare const ClearPrefix: { readonly VP8: PrefixPolicy; readonly H264: PrefixPolicy; readonly OPUS: PrefixPolicy; readonly NONE: PrefixPolicy };
/** Clear bytes of an H.264 Annex B frame: up to the first slice NAL header (+1 byte). */
export declare function h264ClearPrefix(data: Uint8Array): number;
export declare const SFRAME_KEY_INFO: 'phiseal-sframe-key-v2';

/** A random base key of the suite's length. */
export declare function generateBaseKey(suite?: SframeSuite): Uint8Array<ArrayBuffer>;
export declare function e2eeSupport(): { scriptTransform: boolean; encodedStreams: boolean; supported: boolean };

/** What the media worker counts (posted as `counters` events, at most every 250 ms when they change). */
export interface MediaCounters {
  suite: SframeSuite;
  /** Where AES-GCM runs for suites 4 and 5. */
  aead: 'webcrypto' | 'wasm';
  sendEpoch: number | null;
  sendKid: number | null;
  encrypted: number;
  decrypted: number;
  failed: { unknownKey: number; replay: number; auth: number; malformed: number; total: number };
  dropped: { noSendKey: number; encryptError: number; emptyReceived: number };
  video: { encrypted: number; decrypted: number; failed: number };
  audio: { encrypted: number; decrypted: number; failed: number };
}

/** One participant's SFrame keys, held in a dedicated worker; dispatches `counters` and `frame` events. Needs `await init()` first. */
export declare class MediaKeyring extends EventTarget {
  constructor(options?: { suite?: SframeSuite; workerUrl?: string | URL; aead?: 'auto' | 'wasm' });
  counters: MediaCounters | null;
  readonly suite: SframeSuite;
  readonly worker: Worker;
  /** Resolves to the send epoch. */
  setSendKey(senderId: number, epoch: number, baseKey: Uint8Array): Promise<number>;
  /** Resolves to the new send epoch. */
  ratchetSend(): Promise<number>;
  setKey(senderId: number, epoch: number, baseKey: Uint8Array): Promise<void>;
  /** Resolves to the sender's new epoch. */
  ratchet(senderId: number): Promise<number>;
  /** Resolves to whether the sender was known. */
  removeKey(senderId: number): Promise<boolean>;
  getCounters(): Promise<MediaCounters>;
  tapFrames(options?: { count?: number; plaintext?: boolean; kind?: 'video' | 'audio' }): Promise<void>;
  close(): void;
}

export declare function attachE2EE(
  senderOrReceiver: RTCRtpSender | RTCRtpReceiver,
  options: {
    keyring?: MediaKeyring;
    suite?: SframeSuite;
    senderId?: number;
    epoch?: number;
    baseKey?: Uint8Array;
    kind?: 'video' | 'audio';
    clearPrefix?: 'vp8' | 'h264' | 'opus' | 'none' | PrefixPolicy;
    api?: 'auto' | 'script-transform' | 'encoded-streams';
  },
): { keyring: MediaKeyring; api: string; role: 'encrypt' | 'decrypt'; kind: string; clearPrefix: PrefixPolicy; ready: Promise<void> };

/** A base key wrapped to one participant (version 2, HPKE auth mode): plain JSON (send it as it is). docs/FORMAT.md §7.2. */
export interface WrappedBaseKey {
  v: 2;
  /** The call id, authenticated. */
  call: string;
  /** The kid of the sender's identity key that made the wrap. */
  sender: string;
  /** The kid of the public key it is wrapped to. */
  recipient: string;
  suite: number;
  senderId: number;
  epoch: number;
  /** HPKE encapsulated key, base64url. */
  enc: string;
  /** HPKE ciphertext of the base key, base64url. */
  ciphertext: string;
}
/** One entry per recipient, in order; made with the sender's identity key `senderKey` (HPKE auth mode). */
export declare function wrapBaseKey(
  baseKey: Uint8Array,
  recipients: PublicKey[],
  meta: { senderKey: PrivateKey; call: string; senderId: number; epoch?: number; suite?: SframeSuite },
): Promise<WrappedBaseKey[]>;
/**
 * One wrapped entry, or the whole array (the entry for this key is picked by kid; NOT_RECIPIENT if none).
 * Opens only a wrap made by `sender` for `call`: UNTRUSTED_AUTHOR (another sender), CONTEXT_MISMATCH (another call),
 * UNSUPPORTED (a version 1, unauthenticated wrap), DECRYPT_FAILED (not made with the sender's key, or altered).
 */
export declare function unwrapBaseKey(
  privateKey: PrivateKey,
  wrapped: WrappedBaseKey | WrappedBaseKey[],
  expected: { sender: PublicKey; call: string },
): Promise<{ senderId: number; epoch: number; suite: SframeSuite; baseKey: Uint8Array<ArrayBuffer> }>;

/** Digits of a safety code (8 groups of 5). */
export declare const SAFETY_CODE_DIGITS: 40;
/** The call's safety code over the call id and every participant's identity key and sender id (order-independent). docs/FORMAT.md §7.3. */
export declare function callSafetyCode(
  call: string,
  participants: { publicKey: PublicKey; senderId: number }[],
): Promise<{ /** 8 groups of 5 digits. */ code: string; /** SHA-384, 96 hex digits, for machines to compare. */ fingerprint: string }>;

/** What SecureCall needs of a keyring (MediaKeyring has it). */
export interface CallKeyring {
  readonly suite?: SframeSuite;
  setSendKey(senderId: number, epoch: number, baseKey: Uint8Array): Promise<number>;
  setKey(senderId: number, epoch: number, baseKey: Uint8Array): Promise<void>;
  removeKey(senderId: number): Promise<boolean>;
}
export interface IdentityChange {
  senderId: number;
  /** The pinned kid (or "sender N" when the offered key is pinned under another sender id). */
  pinned: string;
  /** The kid offered in its place. */
  offered: string;
}
export interface KeyRefused {
  senderId: number | null;
  code: string;
  message: string;
}
/**
 * One participant's keys in one call, driven by pinned identities: keys only from a wrap the pinned identity made for
 * this call, identity changes surfaced (`identitychange`) and never applied, a new epoch wrapped only to those who
 * remain when one leaves. Events: `identitychange` (CustomEvent<IdentityChange>), `refused` (CustomEvent<KeyRefused>).
 */
export declare class SecureCall extends EventTarget {
  constructor(options: {
    call: string;
    identity: { privateKey: PrivateKey; publicKey: PublicKey };
    senderId: number;
    keyring: MediaKeyring | CallKeyring;
    suite?: SframeSuite;
    /** How many others may be admitted (1 for a two-party visit); one more is an identity change. Default unlimited. */
    maxParticipants?: number;
    /** Wrap to, and install keys from, a participant only after verify(). Default false. */
    requireVerified?: boolean;
    /** Admit participants by certificate (purpose "media") only. */
    trust?: Trust;
  });
  readonly call: string;
  readonly senderId: number;
  /** The current send epoch (-1 before start). */
  readonly epoch: number;
  readonly participants: { senderId: number; kid: string; verified: boolean; identity?: { subject: string; name: string; role: string } }[];
  /** A fresh base key at epoch 0. */
  start(): Promise<void>;
  /** Pins a participant; resolves to the current send key wrapped to it ([] before verify with requireVerified). UNTRUSTED_AUTHOR for a changed identity, own key or id, or one beyond maxParticipants. */
  admit(participant: { publicKey: PublicKey; senderId: number } | { certificate: Certificate; senderId: number }): Promise<WrappedBaseKey[]>;
  /** Marks a participant verified; with requireVerified installs its held key and resolves to the wraps to send it. */
  verify(senderId: number): Promise<WrappedBaseKey[]>;
  /** Installs a pinned participant's key from its wrap (held until verify with requireVerified); rejects (and dispatches `refused`) otherwise. */
  acceptKey(wrapped: WrappedBaseKey | WrappedBaseKey[]): Promise<{ senderId: number; epoch: number; held: boolean }>;
  /** Drops the participant and rekeys to those who remain; resolves to the wraps. */
  remove(senderId: number): Promise<WrappedBaseKey[]>;
  /** A fresh base key at the next epoch, wrapped to every participant. */
  rekey(): Promise<WrappedBaseKey[]>;
  safetyCode(): Promise<{ code: string; fingerprint: string }>;
  close(): void;
}

export declare function deviceCertificate(options?: { store?: string; lifetimeDays?: number; rotateBeforeDays?: number; now?: number }): Promise<{ certificate: RTCCertificate; namedCurve: 'P-384' | 'P-256' }>;
export declare function secureConnectionConfig(options?: { iceServers?: RTCIceServer[]; relayOnly?: boolean; store?: string }): Promise<RTCConfiguration>;
export declare function createSecurePeerConnection(options: { keyring: MediaKeyring; iceServers?: RTCIceServer[]; relayOnly?: boolean; store?: string; api?: 'script-transform' | 'encoded-streams' }): Promise<RTCPeerConnection>;
