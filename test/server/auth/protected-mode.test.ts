// Protected mode's decision: loopback as Redis's connIsLocal sees it (127.*, ::1), plus the
// IPv4-mapped form; refusal only with protected mode on and no credentials; the test hook narrows.

import { describe, expect, it } from 'vitest';
import { exposureWarning, isLoopbackAddress, isLoopbackHost, protectedModeRefuses } from '../../../src/server/auth/protected-mode.js';

describe('protected mode', () => {
  it('knows loopback addresses', () => {
    for (const ip of ['127.0.0.1', '127.0.0.2', '127.255.1.9', '::1', '::ffff:127.0.0.1', '::FFFF:127.1.2.3']) expect(isLoopbackAddress(ip), ip).toBe(true);
    for (const ip of ['10.0.0.1', '192.0.2.2', '128.0.0.1', '::', '::2', '::ffff:10.0.0.1', 'fe80::1', '', '1270.0.0.1', '127.0.0.1.example']) expect(isLoopbackAddress(ip), ip).toBe(false);
    expect(isLoopbackHost('localhost')).toBe(true);
    expect(isLoopbackHost('127.0.0.1')).toBe(true);
    expect(isLoopbackHost('0.0.0.0')).toBe(false);
    expect(isLoopbackHost('node1.example')).toBe(false);
  });

  it('refuses non-loopback clients only when it is on and the node has no credentials', () => {
    const on = protectedModeRefuses({ enabled: true, open: true });
    expect(on('10.0.0.1')).toBe(true);
    expect(on('::ffff:192.0.2.7')).toBe(true);
    expect(on('127.0.0.1')).toBe(false);
    expect(on('::1')).toBe(false);
    expect(protectedModeRefuses({ enabled: false, open: true })('10.0.0.1')).toBe(false);
    expect(protectedModeRefuses({ enabled: true, open: false })('10.0.0.1')).toBe(false);
  });

  it('the test hook can narrow what is local, never widen it', () => {
    const narrowed = protectedModeRefuses({ enabled: true, open: true, localAddresses: ['127.0.0.1', '10.0.0.1'] });
    expect(narrowed('127.0.0.1')).toBe(false);
    expect(narrowed('::ffff:127.0.0.1')).toBe(false);
    expect(narrowed('127.0.0.2')).toBe(true);
    expect(narrowed('10.0.0.1')).toBe(true); // listed, but not loopback
  });

  it('warns at start about a non-loopback listen address without credentials, with protected mode on or off', () => {
    expect(exposureWarning('0.0.0.0', true, true)).toMatch(/^protected mode: 0\.0\.0\.0 is not a loopback address .* every other client reads -DENIED/);
    expect(exposureWarning('10.0.0.5', true, false)).toMatch(/^protected mode is off, 10\.0\.0\.5 .* anyone who can reach this node can read, write and flush every key$/);
    expect(exposureWarning('127.0.0.1', true, true)).toBeNull();
    expect(exposureWarning('localhost', true, false)).toBeNull();
    expect(exposureWarning('0.0.0.0', false, true)).toBeNull();
  });
});
