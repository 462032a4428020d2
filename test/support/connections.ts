import { EngineSocket } from "../../src/engine.io/socket.js";
import { Connection, type ConnectionHooks } from "../../src/shard/connection.js";
import { AttachmentBudget } from "../../src/socket.io/decode.js";
import { SocketIoEndpoint } from "../../src/socket.io/endpoint.js";

export const ENGINE_OPTIONS = { pingIntervalMs: 25_000, pingTimeoutMs: 20_000, maxPayloadBytes: 1_000_000 };

/**
 * A connection over a stand-in WebSocket that records the frames it is given, without workerd. `namespaces`
 * are the Socket.IO namespaces it has connected (with their pids, when given).
 */
export function stubConnection(protocol: 3 | 4, options: { namespaces?: Record<string, string>; pid?: string; hooks?: Partial<ConnectionHooks> } = {}) {
  const frames: Array<string | Uint8Array> = [];
  const ws = { send: (frame: string | Uint8Array) => frames.push(frame), close() {}, serializeAttachment() {} } as unknown as WebSocket;
  const state = {
    appId: 1,
    shard: 0,
    stack: "socket.io" as const,
    engine: EngineSocket.initialState(`sid${Math.random()}`, protocol, 0),
    socketIo: {
      ...SocketIoEndpoint.initialState(protocol === 3 ? 4 : 5),
      namespaces: options.namespaces ?? { "/": "s" },
      pids: options.pid ? { "/": options.pid } : ({} as Record<string, string>),
    },
    session: null,
    mark: null,
    deadline: null,
    ip: "127.0.0.1",
    openedAt: 0,
  };
  const hooks: ConnectionHooks = { ended() {}, offsetFor: () => "41", attachments: new AttachmentBudget(0), ...options.hooks };
  return { frames, connection: new Connection(state, { kind: "websocket", ws }, ENGINE_OPTIONS, hooks) };
}
