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
export declare function generateBaseKey(suite?: SframeSuite): Uint8Array;
export declare function e2eeSupport(): { scriptTransform: boolean; encodedStreams: boolean; supported: boolean };

/** One participant's SFrame keys, held in a dedicated worker; dispatches `counters` and `frame` events. */
export declare class MediaKeyring extends EventTarget {
  constructor(options?: { suite?: SframeSuite; workerUrl?: string | URL; aead?: 'auto' | 'wasm' });
  counters: object | null;
  readonly suite: SframeSuite;
  readonly worker: Worker;
  setSendKey(senderId: number, epoch: number, baseKey: Uint8Array): Promise<unknown>;
  ratchetSend(): Promise<unknown>;
  setKey(senderId: number, epoch: number, baseKey: Uint8Array): Promise<unknown>;
  ratchet(senderId: number): Promise<unknown>;
  removeKey(senderId: number): Promise<unknown>;
  getCounters(): Promise<object>;
  tapFrames(options?: { count?: number; plaintext?: boolean; kind?: 'video' | 'audio' }): Promise<unknown>;
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

export interface WrappedBaseKey {
  v: 1;
  recipient: string;
  suite: number;
  senderId: number;
  epoch: number;
  enc: Uint8Array;
  ciphertext: Uint8Array;
}
export declare function wrapBaseKey(baseKey: Uint8Array, recipients: PublicKey[], meta: { senderId: number; epoch?: number; suite?: SframeSuite }): Promise<WrappedBaseKey[]>;
export declare function unwrapBaseKey(privateKey: PrivateKey, wrapped: WrappedBaseKey): Promise<Uint8Array>;

export declare function deviceCertificate(options?: { store?: string; lifetimeDays?: number; rotateBeforeDays?: number; now?: number }): Promise<{ certificate: RTCCertificate; namedCurve: 'P-384' | 'P-256' }>;
export declare function secureConnectionConfig(options?: { iceServers?: RTCIceServer[]; relayOnly?: boolean; store?: string }): Promise<RTCConfiguration>;
export declare function createSecurePeerConnection(options: { keyring: MediaKeyring; iceServers?: RTCIceServer[]; relayOnly?: boolean; store?: string; api?: 'script-transform' | 'encoded-streams' }): Promise<RTCPeerConnection>;
