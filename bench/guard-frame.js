// The page measured by bench/guard.js, loaded with and without the guard.
// With it, a playing video is protected (so every check takes its full path).
const guarded = document.querySelector('script[src$="js/guard.js"]') !== null;
let guard = null;
if (guarded) {
  const { CaptureGuard } = await import('../js/guard.js');
  guard = CaptureGuard.install({ mode: 'block', onAttempt() {} });
}

function opsPerSecond(fn, ms = 400) {
  for (let i = 0; i < 200; i++) fn();
  let n = 0;
  const t0 = performance.now();
  let t = t0;
  while (t - t0 < ms) {
    for (let i = 0; i < 100; i++) fn();
    n += 100;
    t = performance.now();
  }
  return (n * 1000) / (t - t0);
}

/** An animated 640x360 source at 30 frames/s, played by a (protected) video element. */
async function playingVideo() {
  const src = document.createElement('canvas');
  src.width = 640;
  src.height = 360;
  const ctx = src.getContext('2d');
  let n = 0;
  const timer = setInterval(() => {
    ctx.fillStyle = `hsl(${(n += 7) % 360} 70% 50%)`;
    ctx.fillRect(0, 0, 640, 360);
  }, 1000 / 30);
  const v = document.createElement('video');
  v.muted = true;
  document.body.appendChild(v);
  if (guard) guard.protect(v);
  v.srcObject = src.captureStream(30);
  await v.play();
  return { v, stop: () => clearInterval(timer) };
}

window.frameBench = async () => {
  const { v, stop } = await playingVideo();
  const img = document.createElement('canvas');
  img.width = img.height = 64;
  img.getContext('2d').fillRect(0, 0, 32, 32);
  const c = document.createElement('canvas');
  c.width = c.height = 64;
  const ctx = c.getContext('2d');
  const out = {};
  out.drawImage = opsPerSecond(() => ctx.drawImage(img, 0, 0));
  out.getImageData = opsPerSecond(() => ctx.getImageData(0, 0, 1, 1));
  const box = document.createElement('div');
  document.body.appendChild(box);
  out.appendChild = opsPerSecond(() => box.appendChild(document.createElement('span')));
  box.remove();
  let t = performance.now();
  const f = document.createElement('iframe');
  document.body.appendChild(f);
  void f.contentWindow.document;
  out.frameMs = performance.now() - t;
  f.remove();
  // Playback: presented frames in 2 s (the source runs at 30 frames/s).
  const q0 = v.getVideoPlaybackQuality();
  let frames = 0;
  const count = () => {
    frames++;
    v.requestVideoFrameCallback(count);
  };
  v.requestVideoFrameCallback(count);
  t = performance.now();
  await new Promise((r) => setTimeout(r, 2000));
  out.fps = (frames * 1000) / (performance.now() - t);
  out.dropped = v.getVideoPlaybackQuality().droppedVideoFrames - q0.droppedVideoFrames;
  stop();
  v.srcObject = null;
  return out;
};
window.frameReady = true;
