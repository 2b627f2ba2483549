// The public API of tally's typed client: `import { TallyClient } from 'tally/client'`.

export {
  TallyClient,
  TallyError,
  TALLY_CLIENT_DEFAULTS,
  type CounterValue,
  type TallyClientOptions,
  type WatchEvent,
  type WatchListener,
} from './tally-client.js';
