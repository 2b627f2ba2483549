// `--url` parsing (src/cli/node-url.ts): http(s) maps to the ws(s) endpoint at /ws; anything else
// is refused with what is expected.

import { describe, expect, it } from 'vitest';
import { parseNodeUrl } from '../../src/cli/node-url.js';

describe('parseNodeUrl', () => {
  it('maps http(s)://host:port and ws(s)://host:port/ws to the same pair', () => {
    for (const u of ['http://10.0.0.5:8101', 'http://10.0.0.5:8101/', 'http://10.0.0.5:8101/ws', 'ws://10.0.0.5:8101/ws', 'ws://10.0.0.5:8101'])
      expect(parseNodeUrl(u)).toEqual({ ws: 'ws://10.0.0.5:8101/ws', http: 'http://10.0.0.5:8101', label: '10.0.0.5:8101' });
    expect(parseNodeUrl('https://tally.example:443/')).toEqual({ ws: 'wss://tally.example/ws', http: 'https://tally.example', label: 'tally.example' });
    expect(parseNodeUrl('wss://[::1]:8101/ws')).toEqual({ ws: 'wss://[::1]:8101/ws', http: 'https://[::1]:8101', label: '[::1]:8101' });
  });

  it('refuses what is not a node URL, naming why and what is expected', () => {
    const cases: [string, string][] = [
      ['127.0.0.1:8101', 'no scheme'],
      ['localhost', 'not a URL'],
      ['redis://127.0.0.1:6381', 'scheme redis is not http, https, ws or wss'],
      ['http://127.0.0.1:8101/status', 'path /status: the WebSocket API is at /ws'],
      ['http://u:p@127.0.0.1:8101', 'give --password'],
      ['http://127.0.0.1:8101/?x=1', 'a query or fragment is not used'],
    ];
    for (const [u, why] of cases) {
      expect(() => parseNodeUrl(u)).toThrow(why);
      expect(() => parseNodeUrl(u)).toThrow("expected http(s)://host:port or ws(s)://host:port/ws, where port is the node's httpPort");
    }
  });
});
