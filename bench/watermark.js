// Watermark benchmark (run in the page at a 1920x1080 viewport): what the
// overlay costs per frame over a 1080p target (idle frames run no phiseal
// code; the periodic check and the once-a-second clock redraw are timed and
// spread over 60 frames), the main thread's lost capacity measured with a
// work probe, the burned-in track's cost per 1080p camera frame (both
// paths), and
// the forensic decoder's time on a 1280x720 screenshot.
import { Watermark, decodeForensicMark, watermarkTrack } from '../js/watermark.js';
import { drawForensic, drawText, markLines, markOptions } from '../js/watermark-render.js';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function avgMs(n, fn) {
  for (let i = 0; i < 5; i++) fn();
  const t0 = performance.now();
  for (let i = 0; i < n; i++) fn();
  return (performance.now() - t0) / n;
}

/** Work units the main thread completes in `ms`, yielding every 4 ms (timers, rAF and the overlay run in between). */
async function probe(ms) {
  const end = performance.now() + ms;
  let units = 0;
  let x = 0;
  while (performance.now() < end) {
    const slice = performance.now() + 4;
    while (performance.now() < slice) {
      for (let i = 0; i < 1000; i++) x = (x * 1664525 + 1013904223) >>> 0;
      units++;
    }
    await new Promise((r) => setTimeout(r, 0));
  }
  return units + (x & 0);
}

/** The burned-in track's own cost per frame over 3 s of the 1080p fake camera (what a telehealth call sends). */
async function trackCost(method) {
  const stream = await navigator.mediaDevices.getUserMedia({ video: { width: 1920, height: 1080, frameRate: 30 } });
  const out = watermarkTrack(stream.getVideoTracks()[0], { text: ['viewer u-7781', 'Dr. Ana Lee'], forensic: { id: 42 }, method });
  const v = document.createElement('video');
  v.muted = true;
  v.srcObject = new MediaStream([out]);
  await v.play();
  await sleep(3000);
  const s = out.watermarkStats();
  out.stop();
  for (const t of stream.getTracks()) t.stop();
  return s;
}

export async function runWatermarkCases() {
  const rows = [];
  const W = window.innerWidth;
  const H = window.innerHeight;
  const target = document.createElement('div');
  target.style.cssText = `position:fixed;left:0;top:0;width:${W}px;height:${H}px;background:#234`;
  document.body.append(target);
  const opts = { text: ['viewer u-7781', 'Dr. Ana Lee', 'Northside Clinic'], forensic: { id: 42 }, failurePolicy: 'keep' };

  // Pieces, timed directly (same code the overlay runs).
  const o = markOptions(opts);
  const canvas = new OffscreenCanvas(W, H);
  const c2 = canvas.getContext('2d');
  const redraw = avgMs(40, () => {
    c2.setTransform(1, 0, 0, 1, 0, 0);
    c2.clearRect(0, 0, W, H);
    drawText(c2, W, H, o, markLines(o, new Date()), [0.3, 0.6]);
    c2.getImageData(0, 0, 1, 1); // rasterize now
  });
  const forensic = avgMs(20, () => {
    c2.clearRect(0, 0, W, H);
    drawForensic(c2, W, H, o.forensic);
    c2.getImageData(0, 0, 1, 1);
  });
  const mark = Watermark.attach(target, opts);
  await sleep(200);
  const check = avgMs(200, () => mark.checkNow());
  const perFrame = (check * (1000 / 40) + redraw) / 60;
  rows.push({ metric: `overlay ${W}x${H}: clock redraw, once a second (ms)`, phiseal: redraw, peer: '-', peerValue: NaN, lowerIsBetter: true });
  rows.push({ metric: `overlay ${W}x${H}: forensic layer, on resize only (ms)`, phiseal: forensic, peer: '-', peerValue: NaN, lowerIsBetter: true });
  rows.push({ metric: `overlay ${W}x${H}: one periodic check, every 40 ms (ms)`, phiseal: check, peer: '-', peerValue: NaN, lowerIsBetter: true });
  rows.push({ metric: `overlay ${W}x${H}: per frame at 60 fps, amortized (ms)`, phiseal: perFrame, peer: '-', peerValue: NaN, lowerIsBetter: true });

  // Lost main-thread capacity, probe with and without the overlay (alternated).
  mark.detach();
  const runs = { without: 0, with: 0 };
  for (let i = 0; i < 2; i++) {
    runs.without += await probe(1500);
    const m = Watermark.attach(target, opts);
    await sleep(100);
    runs.with += await probe(1500);
    m.detach();
  }
  const lost = Math.max(0, 1 - runs.with / runs.without);
  rows.push({ metric: `overlay ${W}x${H}: main thread lost, work probe (ms per 16.7 ms frame)`, phiseal: lost * (1000 / 60), peer: '-', peerValue: NaN, lowerIsBetter: true });
  target.remove();

  // Burned-in tracks at 1080p.
  for (const method of ['processor', 'canvas']) {
    try {
      const s = await trackCost(method);
      rows.push({ metric: `burn-in ${s.width}x${s.height} (${method}${s.format ? `, ${s.format}` : ""}): ms per frame, avg (${s.frames} frames)`, phiseal: s.avgMs, peer: '-', peerValue: NaN, lowerIsBetter: true });
      rows.push({ metric: `burn-in ${s.width}x${s.height} (${method}): ms per frame, median`, phiseal: s.p50Ms, peer: '-', peerValue: NaN, lowerIsBetter: true });
    } catch (e) {
      rows.push({ metric: `burn-in (${method}): ${e.message}`, phiseal: NaN, peer: '-', peerValue: NaN });
    }
  }

  // Forensic decoder on a 1280x720 picture with the mark.
  const pic = new OffscreenCanvas(1280, 720);
  const pc = pic.getContext('2d', { willReadFrequently: true });
  const grad = pc.createLinearGradient(0, 0, 1280, 720);
  grad.addColorStop(0, '#dde');
  grad.addColorStop(1, '#445');
  pc.fillStyle = grad;
  pc.fillRect(0, 0, 1280, 720);
  drawForensic(pc, 1280, 720, o.forensic);
  const img = pc.getImageData(0, 0, 1280, 720);
  const t0 = performance.now();
  const found = decodeForensicMark(img);
  rows.push({ metric: `forensic decode 1280x720 (ms)${found?.id === 42 ? '' : ' FAILED'}`, phiseal: performance.now() - t0, peer: '-', peerValue: NaN, lowerIsBetter: true });
  return rows;
}
