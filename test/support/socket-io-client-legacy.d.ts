declare module "socket.io-client-v2" {
  /** The part of socket.io-client 2.x's (and 1.4's) API the tests use. */
  interface LegacySocket {
    connected: boolean;
    io: { engine: { transport: { name: string }; on(event: string, listener: (...args: unknown[]) => void): void } };
    on(event: string, listener: (...args: any[]) => void): LegacySocket;
    once(event: string, listener: (...args: any[]) => void): LegacySocket;
    emit(event: string, ...args: unknown[]): LegacySocket;
    disconnect(): LegacySocket;
  }
  function io(url: string, options?: Record<string, unknown>): LegacySocket;
  export = io;
}

/** socket.io-client 1.4, what Socketpot apps of 2015 loaded: the same API as 2.x for what the tests use. */
declare module "socket.io-client-v1" {
  import io = require("socket.io-client-v2");
  export = io;
}
