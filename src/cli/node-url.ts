// `--url` of the client commands: a node's HTTP endpoint, given as http(s)://host:port or as the
// WebSocket API's own ws(s)://host:port/ws. Both name the same port (the node's httpPort); this
// turns either into the pair the commands use, or an error that says what is expected.

/** The two URLs of one node's HTTP port: the WebSocket client API and the HTTP base (/status). */
export interface NodeEndpoint {
  /** ws(s)://host:port/ws */
  ws: string;
  /** http(s)://host:port (no trailing slash) */
  http: string;
  /** host:port as given, for messages. */
  label: string;
}

export const URL_EXPECTED = "http(s)://host:port or ws(s)://host:port/ws, where port is the node's httpPort (not its respPort or gossipPort)";

/** Parses a `--url`; throws an Error naming what was wrong and what is expected. */
export function parseNodeUrl(text: string): NodeEndpoint {
  const bad = (why: string): never => {
    throw new Error(`--url '${text}': ${why}; expected ${URL_EXPECTED}`);
  };
  let u: URL;
  try {
    u = new URL(text);
  } catch {
    return bad(/^[^/:]+:\d+$/.test(text) ? 'no scheme' : 'not a URL');
  }
  const secure = u.protocol === 'https:' || u.protocol === 'wss:';
  if (!['http:', 'https:', 'ws:', 'wss:'].includes(u.protocol)) return bad(`scheme ${u.protocol.replace(/:$/, '')} is not http, https, ws or wss`);
  if (u.hostname === '') return bad('no host');
  if (u.username !== '' || u.password !== '') return bad('a user or password in the URL is not used; give --password');
  if (u.search !== '' || u.hash !== '') return bad('a query or fragment is not used');
  const path = u.pathname;
  if (path !== '/' && path !== '' && path !== '/ws') return bad(`path ${path}: the WebSocket API is at /ws and the HTTP base is /`);
  const hostPort = u.host; // hostname[:port], IPv6 in brackets; the default port is omitted
  return {
    ws: `${secure ? 'wss' : 'ws'}://${hostPort}/ws`,
    http: `${secure ? 'https' : 'http'}://${hostPort}`,
    label: hostPort,
  };
}
