// Scripting's fixed limits, named as Redis names them (docs/scripting.md says why each value).

/**
 * Redis 7's busy-reply-threshold (lua-time-limit), in ms: a script still running after this long
 * gives the event loop back between slices, and every other command gets BUSY until it ends or
 * SCRIPT KILL stops it. Redis's default.
 */
export const BUSY_REPLY_THRESHOLD_MS = 5000;

/** Lua instructions between two checks of the clock and of SCRIPT KILL (Redis checks every 100,000; fengari runs ~30M/s). */
export const HOOK_EVERY_INSTRUCTIONS = 10_000;

/** Once busy, how long each slice of the script runs before the event loop gets a turn, in ms. */
export const BUSY_SLICE_MS = 50;

