// What each README/docs snippet takes from "your app" (the names after
// `uses:` in its marker), made for real at run time: real phiseal keys, a
// fake camera (Chromium's fake device), DOM elements, a signalling channel
// that sends values through JSON. tests/snippets/run.mjs copies this file
// into the generated strict TypeScript app as src/contexts.ts.
import { AuditLog, SigningKey, generateAuthorKey, generateKeyPair, hpkeSeal, init, type AuthorKey, type PrivateKey, type PublicKey } from 'phiseal';
import { generateBaseKey, wrapBaseKey, type WrappedBaseKey } from 'phiseal/media';

/** A form model declared the way an app declares it: an interface, no index signature. */
export interface IntakeForm {
  patient: { name: string; ssn: string; email: string; dob: string };
  diagnoses: { code: string; note: string }[];
  consent: boolean;
}

const intake = (): IntakeForm => ({
  patient: { name: 'Ana Souza', ssn: '123-45-6789', email: 'ana@example.org', dob: '1980-04-02' },
  diagnoses: [{ code: 'J45.909', note: 'asthma' }],
  consent: true,
});

const user = { id: 'dr-7', name: 'Dr. Maya Lee', role: 'clinician' };

async function keys(): Promise<{ clinician: { privateKey: PrivateKey; publicKey: PublicKey }; billing: { privateKey: PrivateKey; publicKey: PublicKey } }> {
  await init();
  return { clinician: await generateKeyPair(), billing: await generateKeyPair() };
}

/** The app's author key: it signs what this app seals (readers trust its publicKey). */
async function author(): Promise<AuthorKey> {
  await init();
  return generateAuthorKey();
}

async function camera(): Promise<{ cameraStream: MediaStream; cameraTrack: MediaStreamTrack }> {
  const cameraStream = await navigator.mediaDevices.getUserMedia({ video: { width: 320, height: 240 } });
  return { cameraStream, cameraTrack: cameraStream.getVideoTracks()[0] };
}

/** A playing <video> in the page. */
async function video(): Promise<HTMLVideoElement> {
  const v = document.createElement('video');
  v.muted = true;
  v.srcObject = (await camera()).cameraStream;
  document.body.append(v);
  await v.play();
  return v;
}

async function signer(): Promise<SigningKey> {
  await init();
  return SigningKey.generate();
}

export const contexts = {
  'fields-quickstart': async () => {
    const { clinician, billing } = await keys();
    return {
      form: intake(), patientId: 'p-1', authorKey: await author(),
      clinicianPublicKey: clinician.publicKey, billingPublicKey: billing.publicKey, privateKey: clinician.privateKey,
    };
  },
  'fields-form': async () => {
    const { clinician, billing } = await keys();
    return {
      formRecord: intake(), patientId: 'p-1', authorKey: await author(),
      clinicianPublicKey: clinician.publicKey, billingPublicKey: billing.publicKey, privateKey: clinician.privateKey,
    };
  },
  'media-quickstart': async () => {
    const { clinician: me, billing: peer } = await keys();
    // The other participant wraps its key to mine with its identity key; the channel carries JSON text, as a signalling server would.
    const fromPeer = JSON.stringify(await wrapBaseKey(generateBaseKey(), [me.publicKey], { senderKey: peer.privateKey, call: 'visit-1', senderId: 2 }));
    const sent: string[] = [];
    const signal = {
      send: (value: unknown): void => {
        sent.push(JSON.stringify(value));
      },
      receive: async (): Promise<WrappedBaseKey[]> => JSON.parse(fromPeer),
    };
    const shown: string[] = [];
    const show = (text: string): void => {
      shown.push(text);
    };
    return { callId: 'visit-1', me, mySenderId: 1, peerPublicKey: peer.publicKey, peerSenderId: 2, signal, show, ...(await camera()) };
  },
  'stream-quickstart': async () => {
    const { clinician } = await keys();
    const recording = new Blob([new Uint8Array(200_000).map((_, i) => (i * 31) & 0xff)], { type: 'video/webm' });
    return { recording, authorKey: await author(), clinicianPublicKey: clinician.publicKey, privateKey: clinician.privateKey };
  },
  'guard-audit': async () => ({ user, signingKey: await signer() }),
  'watermark-quickstart': async () => {
    const signingKey = await signer();
    return { remoteVideo: await video(), cameraTrack: (await camera()).cameraTrack, user, auditLog: new AuditLog({ signingKey }), sessionId: 4242 };
  },
  'guard-wiring': async () => {
    const phiContainer = document.createElement('section');
    phiContainer.textContent = 'Allergies: penicillin';
    document.body.append(phiContainer);
    return {
      consented: new Set<string>(['MediaRecorder']),
      videoElement: await video(),
      phiContainer,
      signingKey: await signer(),
      actor: { id: user.id, role: user.role },
    };
  },
  'hpke-core-interop': async () => {
    await init();
    const { privateKey, publicKey } = await generateKeyPair({ extractable: true });
    const info = new TextEncoder().encode('phiseal demo v1');
    const aad = new TextEncoder().encode('record-42');
    const sealed = await hpkeSeal(publicKey, new TextEncoder().encode('BP 128/82'), { info, aad });
    const privateJwk: JsonWebKey = { ...(await privateKey.exportJwk()) } as JsonWebKey;
    return { privateJwk, enc: sealed.enc.buffer, info: info.buffer, ciphertext: sealed.ciphertext.buffer, aad: aad.buffer };
  },
};
