// The transport seam: the replica hands frames to it and never touches a socket.

export interface Transport {
  /** Sends one frame to the member at `address`. Best effort: loss is the protocol's problem. */
  send(address: string, frame: Uint8Array): void;
}
