// Type declarations for phiseal/watermark (js/watermark.js): dynamic,
// tamper-resistant watermarks, burned-in tracks and the forensic mark.

/** What the mark shows: fixed lines, or a function of the time returning them (called once a second). */
export type WatermarkText = string | readonly string[] | ((now: Date) => string | readonly string[]);

/** The invisible forensic mark: a 32-bit id (or a string hashed to one) and its geometry. */
export interface ForensicOptions {
  id: number | string;
  /** Cell size in pixels of the picture (default 8; a tile is 16 cells). */
  cellSize?: number;
  /** Alpha of the white/black cells (default 0.02, about ±2.5 levels of 255 on mid-grey). */
  strength?: number;
}

/** How the mark is drawn (shared by Watermark.attach and watermarkTrack). */
export interface MarkOptions {
  text: WatermarkText;
  /** 0.01–1, default 0.3. */
  opacity?: number;
  /** CSS px (overlay) or px of a 720-line frame (tracks); default 16. */
  fontSize?: number;
  /** Degrees, -90–90, default -30. */
  angle?: number;
  /** Tiles per area relative to the default spacing, 0.1–10, default 1. */
  density?: number;
  /** Seconds between pattern shifts, 0 for none; default 5. */
  moveEverySeconds?: number;
  /** CSS color of the text (outlined in dark); default white. */
  color?: string;
  /** Adds the time (UTC, to the second) as the last line; default true unless `text` is a function. */
  showTime?: boolean;
  /** The invisible forensic mark (number or string id, or full options). */
  forensic?: ForensicOptions | number | string | null;
}

export type WatermarkAction =
  | 'remove'
  | 'parent-removed'
  | 'hidden-ancestor'
  | 'style'
  | 'popover-closed'
  | 'cover'
  | 'computed-style'
  | 'target-replaced'
  | 'hide-target'
  | 'target-removed'
  | 'show-target'
  | 'fullscreen'
  /** The page's timers stopped running the checks (a worker heartbeat runs them instead). */
  | 'timers-stopped'
  /** The target is laid out but drawn with no area (e.g. transform: scale(0) on an ancestor). */
  | 'target-collapsed';

/** One report for the audit log. `time` is epoch milliseconds. */
export interface WatermarkEvent {
  type: 'tamper' | 'info';
  action: WatermarkAction;
  /** Whether the mark is shown again (for 'hide-target': false, the target is hidden). */
  restored: boolean;
  time: number;
  detail?: {
    properties?: string[];
    element?: string;
    topLayer?: boolean;
    /** For a top-layer cover: what opened above the page. */
    kind?: 'fullscreen' | 'modal' | 'popover';
    points?: number;
    reason?: string;
    count?: number;
    late?: boolean;
    fullscreen?: boolean;
    overdueMs?: number;
    width?: number;
    height?: number;
  };
}

export interface WatermarkOptions extends MarkOptions {
  /** Every event (tamper and info). */
  onEvent?: (event: WatermarkEvent) => void;
  /** Tamper events only. */
  onTamper?: (event: WatermarkEvent) => void;
  /** After repeated tampering: hide the target (default) or keep it shown. */
  failurePolicy?: 'hide' | 'keep';
  /** Tamper events (a failed restore counts twice) within failureWindowMs that hide the target; default 5. */
  maxRestoreFailures?: number;
  /** Default 2000. */
  failureWindowMs?: number;
  /** Quiet time after which a hidden target is shown again; default 5000. */
  recoverAfterMs?: number;
  /** Period of the checks that mutations do not trigger; 10–1000, default 40. */
  checkIntervalMs?: number;
  /** Where the host element lives in the DOM (default document.body); it renders in the top layer anyway. */
  container?: Element;
  /** Finds a re-rendered target (default: the selector given to attach, the old id, or tag + classes). */
  selector?: string;
  findTarget?: () => Element | null;
}

export interface WatermarkLayout {
  tile: [number, number];
  centers: Array<[number, number]>;
  lines: string[];
  offset: [number, number];
  viewport: [number, number];
}

/** A watermark attached to one target. */
export declare class Watermark {
  private constructor();
  /**
   * Draws the mark over `target` (an element or a selector) and keeps it there.
   * @throws PhisealError INVALID_ARGUMENT, UNSUPPORTED outside a browser
   */
  static attach(target: Element | string, options: WatermarkOptions): Watermark;
  readonly target: Element;
  readonly host: HTMLElement;
  readonly mode: 'top-layer' | 'fixed';
  readonly blocked: boolean;
  readonly lines: string[];
  readonly layout: WatermarkLayout | null;
  /** Changes any option and redraws. */
  update(options?: Partial<WatermarkOptions>): void;
  /** Runs every check now (they also run on mutations and periodically). */
  checkNow(): void;
  /** Removes the mark and stops watching. */
  detach(): void;
}

export interface WatermarkTrackStats {
  /** The path in use: the frame processor in a worker, on the main thread, or the canvas fallback. */
  method: 'processor-worker' | 'processor' | 'canvas';
  frames: number;
  totalMs: number;
  avgMs: number;
  p50Ms: number;
  maxMs: number;
  format?: string;
  width: number;
  height: number;
  redraws: number;
  lines?: string[];
}

export interface WatermarkTrackOptions extends MarkOptions {
  method?: 'auto' | 'processor' | 'canvas';
  onStats?: (stats: WatermarkTrackStats) => void;
}

/** A new track whose frames carry the mark (same size and frame rate). @throws PhisealError UNSUPPORTED */
export declare function watermarkTrack(track: MediaStreamTrack, options: WatermarkTrackOptions): MediaStreamTrack & { watermarkStats(): WatermarkTrackStats };
/** Which burn-in path this browser offers. */
export declare function watermarkTrackSupport(): 'processor' | 'canvas' | null;

export interface ImageLike {
  width: number;
  height: number;
  data: Uint8ClampedArray | Uint8Array;
}
export interface ForensicResult {
  id: number;
  /** 0–1: normalized correlation with the sync pattern (about 0.5 is chance). */
  confidence: number;
  scale: number;
  period: [number, number];
  bitErrors?: number;
}
export interface DecodeOptions {
  tileSize?: number;
  minScale?: number;
  maxScale?: number;
  expectedId?: number;
}
/** The forensic id in a screenshot, or null. */
export declare function decodeForensicMark(image: ImageLike, options?: DecodeOptions): ForensicResult | null;
/** Bit errors (of 48) against `expectedId`, even when decoding fails. */
export declare function forensicBitErrors(image: ImageLike, expectedId: number, options?: DecodeOptions): number;
/** The 32-bit number a forensic id (number or string) is embedded as, or null if invalid. */
export declare function forensicId(id: number | string): number | null;
export declare function forensicCells(id: number): Int8Array;
export declare function forensicTile(id: number, options?: { cellSize?: number; strength?: number }): OffscreenCanvas | HTMLCanvasElement;
export declare const FORENSIC_CELL: 8;
export declare const FORENSIC_STRENGTH: number;
/** "YYYY-MM-DD HH:MM:SS UTC". */
export declare function formatTime(date: Date): string;
