// Capture guard overhead (issue #6): the same page loaded in an iframe with
// and without the guard as its first script. Page load (median of 9 loads
// each, alternating), the guard's own import + install, 2D drawImage and
// getImageData on an unprotected canvas, DOM insertion (the guard rescans
// frames after each), a new same-origin frame (patched before use), and
// frames presented by a playing, protected video. Medians of alternating
// runs; timings only (never asserted).

const median = (xs) => xs.slice().sort((a, b) => a - b)[Math.floor(xs.length / 2)];

function load(url) {
  return new Promise((resolve) => {
    const f = document.createElement('iframe');
    f.style.cssText = 'width:320px;height:200px;border:0';
    const t0 = performance.now();
    f.onload = () => resolve({ f, ms: performance.now() - t0 });
    f.src = url;
    document.body.appendChild(f);
  });
}

async function ready(f) {
  for (let i = 0; i < 200 && !f.contentWindow.frameReady; i++) await new Promise((r) => setTimeout(r, 10));
}

export async function runGuardCases({ loads = 9 } = {}) {
  const base = new URL('./', import.meta.url);
  const withUrl = new URL('guard-frame.html', base).href;
  const withoutUrl = new URL('guard-frame-plain.html', base).href;
  const times = { with: [], without: [] };
  for (let i = 0; i < loads; i++) {
    for (const [key, url] of i % 2 ? [['with', withUrl], ['without', withoutUrl]] : [['without', withoutUrl], ['with', withUrl]]) {
      const { f, ms } = await load(url);
      await ready(f);
      times[key].push(ms);
      f.remove();
    }
  }
  // The guard's own cost: fetch + evaluate + install of js/guard.js in a fresh frame.
  const installs = [];
  for (let i = 0; i < 5; i++) {
    const { f } = await load('about:blank');
    const w = f.contentWindow;
    const t0 = performance.now();
    const mod = await w.eval(`import(${JSON.stringify(new URL('../js/guard.js', base).href + '?i=' + i)})`);
    mod.CaptureGuard.install();
    installs.push(performance.now() - t0);
    f.remove();
  }
  // Three rounds, alternating which page goes first; medians (the machine is shared).
  const runs = { with: [], without: [] };
  for (let round = 0; round < 3; round++) {
    for (const [key, url] of round % 2 ? [['with', withUrl], ['without', withoutUrl]] : [['without', withoutUrl], ['with', withUrl]]) {
      const { f } = await load(url);
      await ready(f);
      runs[key].push(await f.contentWindow.frameBench());
      f.remove();
    }
  }
  const pick = (key) => Object.fromEntries(Object.keys(runs[key][0]).map((m) => [m, median(runs[key].map((r) => r[m]))]));
  const w = pick('with');
  const o = pick('without');
  return [
    { metric: 'guard: page load, median of 9 (ms)', phiseal: median(times.with), peer: 'no guard', peerValue: median(times.without), lowerIsBetter: true },
    { metric: 'guard: import + install of js/guard.js (ms)', phiseal: median(installs), peer: '-', peerValue: NaN, lowerIsBetter: true },
    { metric: 'guard: 2D drawImage, unprotected 64x64 (ops/s)', phiseal: w.drawImage, peer: 'no guard', peerValue: o.drawImage },
    { metric: 'guard: 2D getImageData 1x1, unprotected (ops/s)', phiseal: w.getImageData, peer: 'no guard', peerValue: o.getImageData },
    { metric: 'guard: appendChild (frame rescan) (ops/s)', phiseal: w.appendChild, peer: 'no guard', peerValue: o.appendChild },
    { metric: 'guard: new same-origin iframe, ready to use (ms)', phiseal: w.frameMs, peer: 'no guard', peerValue: o.frameMs, lowerIsBetter: true },
    { metric: `guard: video playback, 30 fps (dropped ${w.dropped}/${o.dropped})`, phiseal: w.fps, peer: 'no guard', peerValue: o.fps },
  ];
}
