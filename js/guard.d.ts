// Type declarations for phiseal/guard (js/guard.js): the capture guard.
// Importing the module installs the hooks (block mode); install() sets the
// policy once. See docs/SECURITY.md §"Capture guard" for what it covers.

/** What a protected thing can be. */
export type Protectable = Element | MediaStream | MediaStreamTrack | OffscreenCanvas;

/** An attempt to record, extract or screen-capture, as reported to `onAttempt` and by `events()`. */
export interface CaptureAttempt {
  /** The API, e.g. 'MediaRecorder', 'HTMLCanvasElement.toDataURL', 'MediaDevices.getDisplayMedia', 'clipboard.copy', 'preinstall-tamper'. */
  readonly api: string;
  /** The protected element, track, stream or tainted canvas (for 'preinstall-tamper': the replaced API's name). */
  readonly target: Protectable | HTMLCanvasElement | string | null;
  /** True when the call failed (block mode without consent). */
  readonly blocked: boolean;
  /** Date.now() of the attempt. */
  readonly time: number;
  /** The caller's stack (V8 format), unless `stacks: false`. */
  readonly stack?: string;
  /** True when the app's `allow` callback permitted it. */
  readonly consented?: boolean;
  /** API-specific context, e.g. `{peer}` for RTCPeerConnection.addTrack, `{constraints}` for getUserMedia. */
  readonly detail?: unknown;
}

/** What the `allow` callback is asked about (it must answer synchronously). */
export interface CaptureRequest {
  readonly api: string;
  readonly target: Protectable | HTMLCanvasElement | string | null;
  readonly detail?: unknown;
  readonly time: number;
}

export interface CaptureGuardOptions {
  /** 'block' (default): attempts fail like a denied permission. 'audit': attempts proceed and are reported. */
  mode?: 'block' | 'audit';
  /** Receives every attempt (including those queued before it was set), in a microtask. */
  onAttempt?: (attempt: CaptureAttempt) => void;
  /** Returns true to permit one specific, consented attempt (e.g. a recording the patient agreed to). */
  allow?: (request: CaptureRequest) => boolean;
  /** Record the caller's stack in events (default true). */
  stacks?: boolean;
  /** Make every hook non-writable and non-configurable (default false: native-identical descriptors). */
  lock?: boolean;
  privacy?: {
    /** Blur protected elements while the page is hidden or the window has no focus (default false). */
    blurWhenHidden?: boolean;
    /** Hide protected elements when printing (default true). */
    hideWhenPrinting?: boolean;
    /** Copying, cutting or dragging a selection that touches protected content (default 'allow'). */
    copy?: 'block' | 'audit' | 'allow';
  };
}

/** The installed guard. */
export interface Guard {
  /** Marks an element (video, audio, canvas, img, or a PHI container and all it contains), a stream or a track as protected; returns it. */
  protect<T extends Protectable>(target: T): T;
  /**
   * What `document.querySelector` returns is accepted as is; `null` (nothing
   * matched) throws INVALID_ARGUMENT at run time, naming the fix.
   */
  protect<T extends Protectable>(target: T | null | undefined): T;
  /** True when `target` is protected, inside a protected container, shows a protected stream, or is a tainted canvas. */
  isProtected(target: unknown): boolean;
  /** Adds a listener (it first receives every queued event); returns a function that removes it. */
  onAttempt(listener: (attempt: CaptureAttempt) => void): () => void;
  /** The last 1000 attempts, oldest first. */
  events(): CaptureAttempt[];
  readonly mode: 'block' | 'audit';
  /** Whether the hooks are in place (false outside a browser window). */
  readonly active: boolean;
}

export declare const CaptureGuard: {
  /**
   * Sets the policy, once, and returns the guard. Called again without
   * options, returns the installed guard (e.g. to wire its attempts to an
   * audit log once `init()` has run).
   * @throws PhisealError MISUSE when called again with options, INVALID_ARGUMENT on a bad option.
   */
  install(options?: CaptureGuardOptions): Guard;
  /** Whether importing the module put the hooks in place. */
  readonly active: boolean;
};
