// Type declarations for phiseal/media (js/media.js): SFrame (RFC 9605) E2EE for WebRTC.
import type { PrivateKey, PublicKey } from './index.js';

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
export declare const SFRAME_KEY_INFO: 'phiseal-sframe-key-v1';

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

/** A base key wrapped to one participant: plain JSON (send it as it is). */
export interface WrappedBaseKey {
  v: 1;
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
/** One entry per recipient, in order. */
export declare function wrapBaseKey(baseKey: Uint8Array, recipients: PublicKey[], meta: { senderId: number; epoch?: number; suite?: SframeSuite }): Promise<WrappedBaseKey[]>;
/** One wrapped entry, or the whole array (the entry for this key is picked by kid; NOT_RECIPIENT if none). */
export declare function unwrapBaseKey(
  privateKey: PrivateKey,
  wrapped: WrappedBaseKey | WrappedBaseKey[],
): Promise<{ senderId: number; epoch: number; suite: SframeSuite; baseKey: Uint8Array<ArrayBuffer> }>;

export declare function deviceCertificate(options?: { store?: string; lifetimeDays?: number; rotateBeforeDays?: number; now?: number }): Promise<{ certificate: RTCCertificate; namedCurve: 'P-384' | 'P-256' }>;
export declare function secureConnectionConfig(options?: { iceServers?: RTCIceServer[]; relayOnly?: boolean; store?: string }): Promise<RTCConfiguration>;
export declare function createSecurePeerConnection(options: { keyring: MediaKeyring; iceServers?: RTCIceServer[]; relayOnly?: boolean; store?: string; api?: 'script-transform' | 'encoded-streams' }): Promise<RTCPeerConnection>;
