// Codec-aware clear prefixes for SFrame: the bytes an SFU or the RTP
// packetizer must read stay in clear (and are authenticated as SFrame
// metadata); the rest is encrypted.

/**
 * H.264 (Annex B, as WebRTC encoded frames carry it): everything up to and
 * including the first byte after the NAL header of the first slice (NAL unit
 * type 1 or 5) stays in clear, so the SPS/PPS/SEI NAL units and the slice NAL
 * header are readable (the approach LiveKit and Jitsi take). The receiver
 * finds the same boundary because those bytes are the same clear bytes.
 * Returns 0 (encrypt everything) when no slice is found.
 * @param {Uint8Array} data
 */
export function h264ClearPrefix(data) {
  for (let i = 0; i + 3 < data.length; i++) {
    if (data[i] !== 0 || data[i + 1] !== 0) continue;
    let header;
    if (data[i + 2] === 1) header = i + 3;
    else if (data[i + 2] === 0 && data[i + 3] === 1) header = i + 4;
    else continue;
    if (header >= data.length) return 0;
    const type = data[header] & 0x1f;
    if (type === 1 || type === 5) return Math.min(header + 2, data.length);
    i = header;
  }
  return 0;
}

/** Clear prefix length of one frame under a policy: {key, delta} or {codec: 'h264'}. */
export function clearPrefixLength(policy, kind, frameType, data) {
  if (policy.codec === 'h264') return h264ClearPrefix(data);
  return kind === 'video' && frameType === 'key' ? policy.key : policy.delta;
}
