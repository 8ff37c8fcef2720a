// A script that runs before the guard (?mode=tamper only) and replaces an API
// the guard patches, keeping the original: the guard must report it.
if (new URLSearchParams(location.search).get('mode') === 'tamper') {
  const original = HTMLCanvasElement.prototype.toDataURL;
  window.stolenToDataURL = original;
  HTMLCanvasElement.prototype.toDataURL = function toDataURL(...args) {
    return original.apply(this, args);
  };
}
