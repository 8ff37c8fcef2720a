// Loads the capture guard (unless ?mode=none) before any other test code:
// guard-page.js and guard-attacks.js import this module, so they run only
// after the guard's hooks are in place. Modes: none (no guard: every attempt
// must work), block, audit, allow (consent callback), late (no listener at
// install), tamper (guard-tamper.js replaced an API first), privacy.
const params = new URLSearchParams(location.search);
export const mode = params.get('mode') ?? 'block';
export const env = { mode, guard: null, events: [] };

if (mode !== 'none') {
  const { CaptureGuard } = await import('../../js/guard.js');
  const options = {
    mode: mode === 'audit' ? 'audit' : 'block',
    privacy: { copy: mode === 'audit' ? 'audit' : 'block', blurWhenHidden: mode === 'privacy', hideWhenPrinting: true },
  };
  if (mode !== 'late') options.onAttempt = (e) => env.events.push(e);
  if (mode === 'allow') options.allow = (a) => window.consent === true && a.api === 'MediaRecorder';
  env.guard = CaptureGuard.install(options);
}
