// Capture guard and watermark for the example apps' PHI views.
//
// The pages load js/guard.js as their first script (the guard's hooks must
// be in place before any other script runs); here it gets its policy and the
// view to protect. js/watermark.js draws the viewer's identity and the time
// over the view. Both are imported dynamically so that a build without them
// still runs the examples; `protect()` reports what it switched on and the
// pages show it.

/**
 * Switches on the capture guard for `element` and draws a watermark with
 * `text` over it. Resolves to {guard, watermark, notes, attempts, mark}.
 * @param {HTMLElement} element  the PHI view (a panel, or a <video>)
 * @param {{text: string|string[], onAttempt?: (e: object) => void}} opts
 */
export async function protect(element, { text, onAttempt } = {}) {
  const result = { guard: false, watermark: false, notes: [], attempts: 0 };
  try {
    const { CaptureGuard } = await import('../js/guard.js');
    const guard = CaptureGuard.install({
      mode: 'block',
      privacy: { blurWhenHidden: true, copy: 'audit' },
      onAttempt: (e) => {
        result.attempts++;
        onAttempt?.(e);
      },
    });
    guard.protect(element);
    result.guard = guard.active !== false;
    if (!result.guard) result.notes.push('capture guard hooks not active in this page');
  } catch (e) {
    result.notes.push(`capture guard not available (${e.message})`);
  }
  try {
    const { Watermark } = await import('../js/watermark.js');
    const mark = Watermark.attach(element, { text });
    Object.defineProperty(result, 'mark', { value: mark, enumerable: false });
    result.watermark = true;
  } catch (e) {
    result.notes.push(`watermark not available (${e.message})`);
  }
  return result;
}

/** One line for the page: what protects this view. */
export function describe(p) {
  const parts = [p.guard ? 'capture guard on' : 'capture guard OFF', p.watermark ? 'watermarked with your identity and the time' : 'no watermark'];
  return parts.join(' · ') + (p.notes.length ? ` (${p.notes.join('; ')})` : '');
}
