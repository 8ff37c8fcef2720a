// phiseal watermark worker: burns the mark into the frames of one track
// (js/watermark-track.js sends it the MediaStreamTrackProcessor's readable
// and the generator's writable), off the main thread. Not imported by
// applications directly.
import { MarkLayer, markTransform, statsKeeper } from './watermark-track.js';

let layer = null;
let readable = null;

self.onmessage = (e) => {
  const m = e.data;
  if (m.op === 'start') {
    // The main thread evaluates the text (it may be a function of time) and
    // sends the lines; the time-slot shift is computed here from the clock.
    layer = new MarkLayer({ ...m.opts, text: m.lines });
    readable = m.readable;
    let lastPost = 0;
    let lastSecond = performance.now();
    const keeper = statsKeeper(undefined, layer, 'processor-worker');
    const frame = keeper.frame;
    keeper.frame = (ms, w, h, format) => {
      frame(ms, w, h, format);
      const now = performance.now();
      if (now - lastPost >= 200) {
        lastPost = now;
        const second = now - lastSecond >= 1000;
        if (second) lastSecond = now;
        self.postMessage({ op: 'stats', stats: keeper.stats(), second });
      }
    };
    readable
      .pipeThrough(markTransform(layer, keeper))
      .pipeTo(m.writable)
      .then(
        () => self.postMessage({ op: 'ended', error: null }),
        (e) => self.postMessage({ op: 'ended', error: String(e?.message ?? e) }), // stopped, or the input ended
      )
      .finally(() => self.close());
  } else if (m.op === 'lines' && layer) {
    layer.opts = { ...layer.opts, text: m.lines };
  } else if (m.op === 'stop') {
    readable?.cancel().catch(() => {});
    self.close();
  }
};

self.postMessage({ op: 'ready' });
